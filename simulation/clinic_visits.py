"""Clinic visits: the disease drawn at diagnosis, measured at each visit, and the next visit set.

A visit measures the disease (simulation/assessment.py), records an assessment row and
asks the clinician's rules (pathway/clinic.py) what follows; the engine carries it out.
Visits fall at each state's interval, drifting as appointments do, and come early when
the disease worsens between them: a spontaneous flare, or a rebound as the
glucocorticoid is tapered or treatment withdrawn.
"""

from __future__ import annotations

import math

from iimsim.pathway.clinic import DECISION_OF_REASON, HOLD, LINE_STATES, Seen, glucocorticoid_answer, reason
from iimsim.pathway.glucocorticoids import taper_pace
from iimsim.simulation.assessment import (Baseline, first_rise, measured_activity, next_visit_in_days, recover,
                                          tis)
from iimsim.simulation.cohort import TruncatedNormal
from iimsim.simulation.disease import DiseaseCourse, unsaturated
from iimsim.simulation.model import CompiledScenario, exponential_days
from iimsim.simulation.patient import Patient
from iimsim.simulation.streams import DISEASE_SLOTS, normal_quantile
from iimsim.simulation.treatment_effects import agent_target

INF = math.inf
SLOT = {name: i for i, name in enumerate(DISEASE_SLOTS)}
GC_ANSWERED = frozenset(("flare", "fail", "relapse"))  # decisions the glucocorticoid answers by the activity


class Clinic:
    """Draws each patient's disease, runs their visits and sets the next; `recorder` takes the rows."""

    def __init__(self, model: CompiledScenario, courses) -> None:
        self.model = model
        self.rules = model.disease
        self.visits = model.visits
        self.courses = courses
        self.recorder = None
        self._untreated = {True: TruncatedNormal.of(self.rules.untreated_severe),
                           False: TruncatedNormal.of(self.rules.untreated_non_severe)}

    # -- diagnosis ------------------------------------------------------------------------------

    def diagnose(self, p: Patient) -> None:
        """The patient's disease: activity, autoantibody, responsiveness, course, first flare."""
        r, u = self.rules, p.stream.disease
        p.untreated_activity = self._untreated[p.severe].quantile(u[SLOT["untreated_activity"]])
        p.autoantibody = _choose(r.autoantibodies[p.subtype], u[SLOT["autoantibody"]])
        if p.autoantibody == "anti_mda5" and u[SLOT["rp_ild"]] < r.p_rp_ild_given_anti_mda5:
            # Rapidly progressive ILD: respiratory failure, severe at diagnosis (BMJ Best Practice).
            p.rp_ild = p.ild = p.severe = True
            p.features = (p.features[0], True, *p.features[2:])
        response = r.subtype_response[p.subtype]
        if u[SLOT["refractory"]] < r.p_refractory[p.subtype]:
            response *= r.refractory_response_ratio
        p.gc_response = response * math.exp(r.gc_response_sd * normal_quantile(u[SLOT["gc_response"]]))
        p.agent_response = response * math.exp(r.agent_response_sd * normal_quantile(u[SLOT["agent_response"]]))
        p.withdrawal_u = u[SLOT["withdrawal"]]
        # One clinician's caution: giving a line longer before judging it goes with tapering more slowly.
        caution_z = normal_quantile(u[SLOT["patience"]])
        p.patience = math.exp(self.visits.failure_window_sd * caution_z)
        p.taper_pace = p.gc_pace = taper_pace(self.model.gc, caution_z)
        v = self.visits
        p.measure_sensitivity = (v.sensitivity[0], *(
            _measure_sensitivity(sensitivity, v.measure_response_sd, uninvolved[p.subtype], uk)
            for sensitivity, uninvolved, uk in zip(v.sensitivity[1:], v.p_uninvolved[1:], p.stream.measure_response)))
        ceiling = r.suppression_ceiling * math.exp(r.suppression_ceiling_sd
                                                   * normal_quantile(u[SLOT["suppression_ceiling"]]))
        d = p.disease = DiseaseCourse(p.untreated_activity, r.damage_per_active_year, r.decline_per_year[p.subtype],
                                      r.fluctuation_sd, r.fluctuation_days, ceiling)
        if u[SLOT["monocyclic"]] < r.p_monocyclic[p.subtype]:
            d.effect("burnout", r.burnout_tau_days, 0.0).plan(0.0, [(0.0, r.burnout_effect)])
        p.flare_day = exponential_days(p.stream.flare_gap(0), r.flare_rate_per_day[p.subtype])

    def steroid_threshold(self, p: Patient, option: tuple[str, ...]) -> None:
        """At diagnosis, with the first line's agents: the dose below which the disease rebounds on these agents
        at full effect (none if they suffice alone, or if no dose of glucocorticoid would)."""
        # (the treatments' combined suppression needed, before the ceiling: inf if even that cannot reach it)
        needed = unsaturated(math.log(p.untreated_activity / self.visits.clinic.remission_activity),
                             p.disease.ceiling)
        needed -= sum(agent_target(self.rules, p, drug) for drug in option)
        most = p.gc_response * self.rules.gc_max_effect
        p.steroid_dependent = 0.0 < needed < most
        if p.steroid_dependent:
            p.steroid_threshold = self.rules.gc_half_effect_mg_per_day * needed / (most - needed)

    # -- visits ---------------------------------------------------------------------------------

    def _measure(self, p: Patient, now: float) -> tuple[float, float, list[float]]:
        z = p.stream.visit()
        activity = p.disease.activity_now(now, z[7])
        p.disease.accrue_damage(now, activity)
        p.recovered = recover(p.recovered, p.recovered_day, p.recovered_input, now, activity,
                              self.visits.recovery_days)
        p.recovered_day, p.recovered_input = now, activity
        return activity, measured_activity(activity, self.visits.activity_noise, z[1]), z

    def _expectation(self, p: Patient, now: float) -> float:
        """The expectation effect's level (0-1): 1 as a line of treatment starts, waning since; none before
        the first line."""
        if p.baseline_line is None:
            return 0.0
        return math.exp(-(now - p.line_start_day) / self.visits.expectation_waning_days)

    def _record(self, p: Patient, now: float, kind: str, activity: float, measured: float, z: list[float],
                decision: str, state: str, dose: float, expectation: float, why: str = "baseline") -> None:
        """The assessment's row: what was measured, against which baselines, with which errors; the
        recorder scores every row at once (simulation/assessment.py: score_rows)."""
        self.recorder.assessment(p, now, state, kind, activity, measured, p.disease.damage, dose, decision, z,
                                 expectation, why)
        p.last_activity, p.last_measured, p.last_visit_day = activity, measured, now

    def new_episode(self, p: Patient, now: float, new_line: bool) -> None:
        """A line, remission, withdrawal or supportive care begins: improvement and flares are judged
        from here (a line's start is a trial's baseline). Measured now unless a visit just did."""
        # (a line's baseline carries no expectation: see simulation/assessment.py)
        expectation = 0.0 if new_line else self._expectation(p, now)
        if p.last_visit_day != now:
            activity, measured, z = self._measure(p, now)
            if p.baseline_diagnosis is None:
                p.baseline_diagnosis = Baseline(activity, measured, 0.0, p.recovered)
            if new_line:
                p.baseline_line = Baseline(activity, measured, p.disease.damage, p.recovered)
            self._record(p, now, "baseline", activity, measured, z, "baseline", p.state, self.courses.gc_dose(p, now),
                         expectation)
            p.visit_drift_z = z[0]
        elif new_line:
            p.baseline_line = Baseline(p.last_activity, p.last_measured, p.disease.damage, p.recovered)
        if new_line:
            p.line_start_day, p.flares_on_line = now, 0
        p.previous_measured = p.lowest_measured = p.last_measured
        self.schedule(p, now)

    def visit(self, p: Patient, now: float, kind: str) -> str:
        """Assess the patient and decide; returns a machine trigger or what the taper does."""
        activity, measured, z = self._measure(p, now)
        state = p.state
        level = self.courses.level_before(p, now)
        dose = level[0]
        line = self.model.lines.get(state)
        # The line's windows on this clinician's clock: a patient one gives longer counts days more slowly.
        days_on_line = (now - p.line_start_day) / p.patience
        expectation = self._expectation(p, now)
        # The line's TIS matters only once its early window has passed (the recorder scores every row).
        tis_line = (tis(self.visits, p.measure_sensitivity, activity, measured, p.disease.damage, p.baseline_line, z,
                        expectation, p.recovered)
                    if line is not None and days_on_line >= line.windows.minimal_improvement_by_days else 100.0)
        m = self.model
        in_remission = state == "maintenance"
        withdrawing = p.gc_withdrawn_day is not None
        if m.glucocorticoid_withdrawal_after_days == INF:  # the glucocorticoid stays: withdrawal after remission
            withdrawal_due = (in_remission and p.withdrawal_u < m.p_withdrawal
                              and now - p.episode_day >= m.withdrawal_after_days)
        else:  # after a stable time off glucocorticoid, the remaining treatment separately
            withdrawal_due = (in_remission and withdrawing and dose == 0.0 and p.withdrawal_u < m.p_withdrawal
                              and now - p.gc_withdrawn_day >= m.withdrawal_after_days)
        # (a course of infusions under way is completed first: no one stops cyclophosphamide half-way)
        withdrawal_due = withdrawal_due and not self.courses.infusions_ahead(p, now)
        gc_stop_due = (in_remission and not withdrawing and not p.gc_dependent
                       and 0.0 < dose <= m.gc.maintenance_mg_per_day
                       and now - p.episode_day >= m.glucocorticoid_withdrawal_after_days)
        reviews = p.reviews
        review = 0 if not reviews or now < p.line_start_day + reviews[0] - 0.5 else (2 if len(reviews) == 1 else 1)
        # (in Seen's field order: at every visit, eleven keywords would cost as much again as the object)
        seen = Seen(measured, p.previous_measured, p.lowest_measured, tis_line, dose, days_on_line, p.flares_on_line,
                    withdrawal_due, p.baseline_line.measured if p.baseline_line else measured, review,
                    p.ivig_if_resistant, gc_stop_due, withdrawing, self.courses.hold_allowed(level, now))
        minimal, moderate, _ = self.visits.criteria.thresholds(p.juvenile)
        rules = self.visits.clinic
        why = reason(rules, state, seen, line.windows if line else None, minimal, moderate)
        decision = DECISION_OF_REASON[why]
        if review:
            # a response at the first review lets the taper begin (no second review); otherwise the next is due
            p.reviews = () if decision != HOLD else reviews[1:]
        if decision in GC_ANSWERED:
            p.gc_answer = glucocorticoid_answer(rules, measured)
        self._record(p, now, kind, activity, measured, z, decision, state, dose, expectation, why)
        p.previous_measured = measured
        if measured < p.lowest_measured:
            p.lowest_measured = measured
        p.visit_drift_z = z[0]
        return decision

    def schedule(self, p: Patient, now: float) -> None:
        """The next visit: the state's interval, drifting; sooner if the disease worsens before it."""
        v = self.visits
        interval = v.interval_days.get(p.state)
        if interval is None:  # dead
            p.visit_day = INF
            return
        if p.reviews and p.line_start_day + p.reviews[0] > now:
            # an induction review is booked for its day (2 or 4 weeks into the line)
            p.visit_day, p.visit_kind = p.line_start_day + p.reviews[0], "scheduled"
            return
        planned = now + next_visit_in_days(interval, v.drift_sd, p.visit_drift_z)
        # On a line the next visit is weeks away anyway (a spontaneous flare still brings the patient in);
        # between the longer intervals of remission and supportive care, a rebound does.
        worse = (None if p.state in LINE_STATES
                 else first_rise(p.disease.activity, now, planned, p.last_measured + v.symptomatic_rise))
        if worse is not None and worse + v.early_visit_days < planned:
            p.visit_day, p.visit_kind = worse + v.early_visit_days, "early"
        else:
            p.visit_day, p.visit_kind = planned, "scheduled"

    def spontaneous_flare(self, p: Patient, now: float) -> None:
        """The disease flares by itself: activity jumps, and a noticeable jump brings the patient in."""
        r = self.rules
        p.disease.effect("flare", r.flare_tau_days, now).kick(now, -r.flare_size)
        p.spontaneous_flares += 1
        p.flare_day = now + exponential_days(p.stream.flare_gap(p.spontaneous_flares), r.flare_rate_per_day[p.subtype])
        early = now + self.visits.early_visit_days
        if (early < p.visit_day and p.visit_day < INF
                and p.disease.activity(now) >= p.last_measured + self.visits.symptomatic_rise):
            p.visit_day, p.visit_kind = early, "early"


def _measure_sensitivity(sensitivity: float, sd: float, p_uninvolved: float, u: float) -> float:
    """How closely one measure follows this patient's disease: 0 if it is not involved (the first `p_uninvolved`
    of the uniform), else the measure's sensitivity times a lognormal factor drawn from the rest of the uniform
    (the same draw as without the share when it is 0)."""
    if u < p_uninvolved:
        return 0.0
    return sensitivity * math.exp(sd * normal_quantile((u - p_uninvolved) / (1.0 - p_uninvolved)))


def _choose(shares: tuple[tuple[str, float], ...], u: float) -> str:
    total = 0.0
    for name, share in shares:
        total += share
        if u < total:
            return name
    return "seronegative"
