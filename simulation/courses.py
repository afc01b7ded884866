"""A patient's glucocorticoid and agent courses: starting, raising and ending them.

A course's schedule is laid out when it starts; its dose rows are written when it
ends (replaced, stopped, or at the end of follow-up). Starting a glucocorticoid
course also starts bone protection and, while the dose is high, PJP prophylaxis;
an infusion course's IV rows are given at the infusion unit when there is one.
Every course also re-plans its effect on the patient's disease (simulation/treatment_effects.py).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from iimsim.pathway.agents import dosing_weight_kg
from iimsim.pathway.agents import schedule as agent_schedule
from iimsim.pathway.care import CARE_DETAIL, agents_prophylaxis_reason, pjp_prophylaxis_until, steps_before_agent
from iimsim.pathway.clinic import HIGH_DOSE, PULSE
from iimsim.pathway.glucocorticoids import (
    cap_mg_per_day,
    induction_mg_per_kg,
    longest_hold_days,
    oral_dose_mg_per_day,
    oral_schedule,
    prophylaxis_needed,
    pulse_mg_per_day,
    step_interval_days,
    steps_up_mg_per_day,
)
from iimsim.pathway.rules import bone_protection, pulse_indicated, steroid_risk
from iimsim.pathway.scig import SCIG, at_home, at_home_from, first_at_home
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.patient import INF, Course, Patient
from iimsim.simulation.streams import SCIG_SLOT
from iimsim.simulation.treatment_effects import plan_agent, plan_glucocorticoid, stop_agent, stop_glucocorticoid
from iimsim.simulation.infusion_visits import UnitVisits, cancel_visits



class Courses:
    """Starts and ends courses for the engine, writing their rows to `recorder`."""

    def __init__(self, model: CompiledScenario, harms) -> None:
        self.model = model
        self.harms = harms  # the hazards: their weighted doses follow each glucocorticoid course
        self.recorder = None  # set with the engine's recorder
        self.visits = UnitVisits(model.disease, harms, self.write_agent_rows)  # IV rows at the unit, if any

    # -- glucocorticoid courses -------------------------------------------------------------

    def induction_mg(self, p: Patient) -> float:
        gc = self.model.gc
        mg_per_kg = induction_mg_per_kg(gc, p.juvenile, steroid_risk(p.diabetes, p.osteoporosis, p.glaucoma),
                                        p.high_relapse_risk)
        return oral_dose_mg_per_day(gc, mg_per_kg, p.weight_kg, p.juvenile)

    def pulse_mg(self, p: Patient) -> float:
        """The IV pulse's methylprednisolone a day for this patient (a child's by weight, with a cap)."""
        return pulse_mg_per_day(self.model.pulse, p.weight_kg, p.juvenile)

    def gc_dose(self, p: Patient, day: float) -> float:
        if p.gc is None or day >= p.gc.waiting_from:
            return 0.0
        step = p.gc.schedule.step_at(day - p.gc.start_day)
        return 0.0 if step is None else step.prednisone_eq_mg_per_day

    def level_before(self, p: Patient, day: float) -> tuple[float, float, bool]:
        """`gc_level` of the dose given up to `day`: on a day a step falls, the one before the step (what a visit
        that day decides about)."""
        course = p.gc
        return self.gc_level(p, day if course is None or course.start_day >= day else day - 1e-6)

    def gc_level(self, p: Patient, day: float) -> tuple[float, float, bool]:
        """The glucocorticoid dose on `day` (prednisone-equivalent mg/day), the day that dose began, and whether
        it is a line's induction dose."""
        course = p.gc
        if course is None or day >= course.waiting_from:
            return 0.0, day, False
        schedule = course.schedule
        i = bisect_right(schedule.offsets, day - course.start_day) - 1
        if i < 0:
            return 0.0, day, False
        dose = schedule.prednisone_eq[i]
        while i > 0 and schedule.prednisone_eq[i - 1] == dose:  # (the switch to alternate days keeps the dose)
            i -= 1
        if i == 0 and course.level_since is not None:
            since = course.level_since
        else:
            since = course.start_day + schedule.offsets[i]
        return dose, since, i == course.induction_step

    def answer_gc(self, p: Patient, now: float, answer: str, mg_per_kg: float, hold_days: float) -> None:
        """A flare, failure or relapse answered by how active the disease is (pathway/clinic.py): back a step or
        two of the taper, back to a high dose (`mg_per_kg`), or an IV pulse and the induction dose."""
        gc = self.model.gc
        if answer == PULSE and pulse_indicated(p.subtype):
            self.start_gc(p, now, self.induction_mg(p), hold_days, pulse=self.pulse_mg(p))
        elif answer in (PULSE, HIGH_DOSE):  # (IBM's pathway has no pulse: a high dose instead)
            self.raise_gc(p, now, mg_per_kg, hold_days)
        else:
            # (the dose given up to today: a flare seen on the day a step falls is not met with the step)
            current = self.level_before(p, now)[0]
            back = steps_up_mg_per_day(gc, current, gc.flare_steps_back, self.induction_mg(p))
            self._at_least(p, now, back, hold_days)

    def raise_gc(self, p: Patient, now: float, mg_per_kg: float, hold_days: float) -> None:
        """A flare or escalation raises the dose (never lowers it) and restarts the taper."""
        gc = self.model.gc
        raised = oral_dose_mg_per_day(gc, mg_per_kg, p.weight_kg, p.juvenile)
        self._at_least(p, now, min(raised, cap_mg_per_day(gc, p.juvenile)), hold_days)

    def _at_least(self, p: Patient, now: float, mg: float, hold_days: float) -> None:
        """`mg` held `hold_days`, then the taper; never lower than the dose given up to today, which is kept as long
        instead (a high dose is not held afresh: its taper goes on)."""
        current = self.level_before(p, now)[0]
        if mg > current:
            self.start_gc(p, now, mg, hold_days, pulse=False)
        elif current > self.model.gc.high_dose_mg_per_day:
            self.resume_taper(p, now, before=True)
        elif current > 0:
            self.start_gc(p, now, current, hold_days, pulse=False)

    def hold_allowed(self, level: tuple[float, float, bool], now: float) -> bool:
        """Whether the dose of `level` (`level_before`) may be held today (pathway/glucocorticoids.py: not a high
        dose past its induction weeks)."""
        dose, since, induction = level
        return dose > 0 and since + longest_hold_days(self.model.gc, dose, induction) > now

    def hold_gc(self, p: Patient, now: float) -> None:
        """Improvement has stalled: keep today's dose until the next assessment, as long as a stall may hold it
        (pathway/glucocorticoids.py: a high dose is not held past its first 2-4 weeks)."""
        if p.gc_held or p.gc is None:
            return
        # (a visit on the day a step falls decides about the dose before it: the step is what is held)
        dose, since, induction = self.level_before(p, now)
        if since >= now:  # (a course started today, as after a flare: nothing to hold yet)
            return
        if dose <= 0:
            return
        longest = longest_hold_days(self.model.gc, dose, induction)
        if longest == INF:
            self.start_gc(p, now, dose, self.model.gc.low_dose_step_days, pulse=False, floor=dose, since=since)
            p.gc_held = True
        elif since + longest > now:
            # held to its longest, after which the taper goes on by itself
            self.start_gc(p, now, dose, since + longest - now, pulse=False, since=since, induction=True)

    def resume_taper(self, p: Patient, now: float, floor: float | None = None, before: bool = False) -> None:
        """Improving again (or tapering to a floor): the taper goes on down the Praxis ladder from today's
        dose (`before`: the dose given up to today, a step falling today not taken), its next step when this dose has
        been given its full interval (now, if it has)."""
        dose, since, induction = self.level_before(p, now) if before else self.gc_level(p, now)
        if dose > 0:
            gc = self.model.gc
            left = max(0.0, since + step_interval_days(gc, dose, p.gc_pace, induction) - now)
            # (whole days keep the cached schedules few; a high dose's left exactly, not to run past its limit)
            hold = left if dose > gc.high_dose_mg_per_day else math.ceil(left)
            self.start_gc(p, now, dose, hold, pulse=False, floor=floor, since=since, induction=induction)

    def hold_dose(self, p: Patient, now: float, hold_days: float) -> None:
        """Today's dose kept `hold_days`, then the taper (a trial's stable background therapy)."""
        dose, since, induction = self.gc_level(p, now)
        if dose > 0:
            self.start_gc(p, now, dose, hold_days, pulse=False, since=since, induction=induction)

    def start_gc(self, p: Patient, now: float, start_mg: float, hold_days: float, pulse: bool | float,
                 floor: float | None = None, since: float | None = None, induction: bool = False) -> None:
        """A glucocorticoid course from `now`: an optional pulse, `start_mg` held `hold_days`, then the taper to
        `floor`. `since` is the day `start_mg` began when the course carries on today's dose; `induction` marks
        it a line's induction dose."""
        gc = self.model.gc
        self.close_gc(p, now, replan=False)
        floor = gc.maintenance_mg_per_day if floor is None else floor
        schedule = oral_schedule(gc, start_mg, hold_days, floor, pulse, p.gc_pace)
        p.gc = Course("glucocorticoid", now, schedule, p.state, False, p.episode_day,
                      level_since=now if since is None else since,
                      induction_step=(1 if pulse else 0) if induction else -1)
        p.gc_held = False
        plan_glucocorticoid(self.model.disease, p, p.gc)
        if pulse:
            self.visits.book_chairs(p, p.gc)
        if not p.bone_protected:
            p.bone_protected = True
            self.recorder.event(p, now, "bone_protection_start", bone_protection(p.osteoporosis))
            self.care_step(p, now, "dexa_scan")
        self.gc_prophylaxis(p, now, prophylaxis_needed(gc, schedule))
        self.harms.follow(p, p.gc, now)

    # -- PJP prophylaxis: for the glucocorticoid's high dose, and for immunosuppressants together ----------

    def pjp_cover_end(self, p: Patient) -> float:
        """The day prophylaxis is needed to: the later of the glucocorticoid's and the agents' need."""
        return max(p.pjp_stop_day, p.pjp_agent_until)

    def _pjp_start(self, p: Patient, now: float, why: str) -> None:
        if p.pjp_on and self.pjp_cover_end(p) < now:
            self.pjp_stop(p)  # (the last need ended before today: that course of prophylaxis ended then)
        if not p.pjp_on:
            p.pjp_on = True
            self.recorder.event(p, now, "pjp_prophylaxis_start", why)

    def gc_prophylaxis(self, p: Patient, now: float, high_days: float) -> None:
        """A new glucocorticoid course needs prophylaxis for its first `high_days` (the polymyositis guideline
        summary: prednisone >= 20 mg/day for >= 4 weeks; 0: it does not); it stops when neither it nor the agents
        need it."""
        if high_days > 0:
            gc = self.model.gc
            self._pjp_start(p, now, f"prednisone-equivalent >= {gc.pjp_threshold_mg_per_day:g} mg/day for "
                                    f">= {gc.pjp_min_days:g} days")
            p.pjp_stop_day = now + high_days
        elif p.pjp_on and p.pjp_agent_until <= now:
            self.pjp_stop(p)

    def agent_prophylaxis(self, p: Patient, now: float) -> None:
        """The agents on now need prophylaxis until a day (pathway/care.py), or no longer."""
        acting = [(c.drug, self._acts_until(c)) for c in p.agents]
        until = pjp_prophylaxis_until(acting)
        if until > now:
            self._pjp_start(p, now, agents_prophylaxis_reason(acting))
            p.pjp_agent_until = until
            return
        p.pjp_agent_until = min(p.pjp_agent_until, now)
        if p.pjp_on and p.pjp_stop_day <= now:
            self.pjp_stop(p)

    def _acts_until(self, course: Course) -> float:
        """An oral agent acts while it is given; an infusion course until its effect wanes after the last one."""
        if not course.infusion:
            return INF
        rules, agent = self.model.agents[course.drug], self.model.scenario.agents[course.drug]
        return (course.start_day + course.schedule.row_offsets[-1] + rules.days_per_infusion
                + agent.effect_lasts_days)

    def care_step(self, p: Patient, day: float, step: str) -> None:
        """One of the Praxis mandatory steps (pathway/care.py), done once per patient."""
        if step not in p.care_done:
            p.care_done.add(step)
            self.recorder.event(p, day, step, CARE_DETAIL[step])

    def pjp_stop(self, p: Patient) -> None:
        p.pjp_on = False
        self.recorder.event(p, self.pjp_cover_end(p), "pjp_prophylaxis_stop", "no longer needed")

    def close_gc(self, p: Patient, now: float, stopped: bool = False, replan: bool = True) -> None:
        """End the glucocorticoid course at `now`: replaced by another (`replan` False: the course replacing it
        sets the weighted doses), `stopped`, or follow-up ends."""
        if p.gc is None:
            return
        course, p.gc = p.gc, None
        stop_glucocorticoid(p)
        now = cancel_visits(course, now)
        if p.pjp_on and p.pjp_stop_day > now:
            p.pjp_stop_day = now
        self.recorder.dose_rows(p, course, now)
        low_day = course.start_day + course.schedule.first_low_offset
        if p.first_le5_day is None and (low_day < now or stopped):
            p.first_le5_day = min(low_day, now)
        if replan:
            self.harms.follow(p, None, now)

    # -- other agents ------------------------------------------------------------------------

    def start_agent(self, p: Patient, drug: str, day: float, prophylaxis: bool = True) -> None:
        """Start `drug`'s course on `day`; `prophylaxis`: settle PJP prophylaxis for the agents now on (a line
        starting several settles it once they all are)."""
        rules = self.model.agents[drug]
        weight = dosing_weight_kg(rules, p.weight_kg, p.height_cm, p.sex)
        course = Course(drug, day, agent_schedule(rules, weight, p.juvenile), p.state,
                        rules.kind == "infusions", p.episode_day)
        p.agents.append(course)
        care = self.model.scenario.care
        for step in steps_before_agent(drug, p.sex == "female", p.age_years, care.childbearing_age_years):
            self.care_step(p, p.today, step)
        plan_agent(self.model.disease, p, course)
        if course.infusion:
            self.visits.book_chairs(p, course)
        if drug != "ivig" and (p.first_sparing_day is None or day < p.first_sparing_day):
            p.first_sparing_day = day
        if prophylaxis:
            self.agent_prophylaxis(p, p.today)

    def stop_agents(self, p: Patient, now: float, keep=frozenset(), prophylaxis: bool = True) -> None:
        kept = []
        for course in p.agents:
            if course.drug in keep:
                kept.append(course)
            else:
                self.close_agent(p, course, now)
        p.agents = kept
        if prophylaxis and now < p.end_day:  # (at the end of follow-up it runs to its end, as the glucocorticoid's)
            self.agent_prophylaxis(p, now)

    def close_agent(self, p: Patient, course: Course, now: float) -> None:
        stop_agent(self.model.disease, p, course)
        end = cancel_visits(course, now)
        self.write_agent_rows(p, course, end)
        if course.drug == "ivig":
            offsets = course.schedule.row_offsets
            given = bisect_left(offsets, end - course.start_day - 1e-9)
            if given:  # a new course no sooner than a dosing interval after the last infusion (or dose at home) given
                home = course.schedule.row_steps[given - 1].drug == SCIG
                interval = (self.model.scig.dose_interval_days if home
                            else self.model.agents["ivig"].infusion_interval_days)
                p.ivig_due = course.start_day + offsets[given - 1] + interval

    def infusions_ahead(self, p: Patient, now: float) -> bool:
        """Whether an infusion course still has infusions to give (or one being given) after `now`."""
        return any(course.infusion and course.start_day + course.schedule.row_ends[-1] > now for course in p.agents)

    def ivig_running(self, p: Patient, now: float) -> Course | None:
        """The patient's IVIG course if it still has infusions to give after `now`."""
        for course in p.agents:
            if course.drug == "ivig" and course.start_day + course.schedule.row_offsets[-1] > now:
                return course
        return None

    def continue_at_home(self, p: Patient, now: float) -> bool:
        """On entering remission: an IVIG course goes on as SCIG at home after its induction infusions, for the
        patients who switch (pathway/scig.py). Returns whether it does."""
        rules, course = self.model.scig, self.ivig_running(p, now)
        if rules is None or course is None or at_home(course.schedule):
            return False
        schedule = course.schedule
        # (an infusion due today is given in the chair: its visit may already be under way)
        given = bisect_right(schedule.row_offsets, now - course.start_day + 1e-9)
        first = first_at_home(rules, p.stream.more_attributes[SCIG_SLOT], given, len(schedule.row_offsets))
        if first is None:
            return False
        course.schedule = at_home_from(schedule, first, rules, self.model.agents["ivig"].infusion_interval_days)
        plan_agent(self.model.disease, p, course)  # (the same effect; it wanes after the last dose at home)
        return True

    def write_agent_rows(self, p: Patient, course: Course, now: float) -> None:
        rows = self.recorder.dose_rows(p, course, now)
        if course.infusion:
            schedule, start = course.schedule, course.start_day
            for i in range(rows):
                step = schedule.row_steps[i]
                begin = start + schedule.row_offsets[i]
                amount = step.dose * (min(start + schedule.row_ends[i], now) - begin)
                self.recorder.event(p, begin, "infusion", f"{step.drug} {amount:g} {step.dose_unit.split('/')[0]}")
