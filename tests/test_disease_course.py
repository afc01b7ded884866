"""The disease course's mechanism: effects as first-order lags, activity, damage, the TIS and the clinic's rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iimsim.pathway.clinic import (ADD_IVIG, HIGH_DOSE, HOLD, PULSE, STEP_BACK, TAPER, ClinicRules, LineWindows, Seen,
                                   decide, glucocorticoid_answer)
from iimsim.pathway.response_criteria import improvement_category, total_improvement_score
from iimsim.scenarios import load_scenario
from iimsim.simulation.assessment import first_rise
from iimsim.simulation.disease import DiseaseCourse, Effect
from iimsim.simulation.model import CompiledScenario

MODEL = CompiledScenario.compile(load_scenario("baseline"))
# The expectation effect switched on (the baseline may leave it off): 20 points on the patient-reported measures.
EXPECTATION = {"assessment": {"expectation_percent": 20.0, "measures": {"patient_global": {"expectation_weight": 1.0},
                                                                        "haq": {"expectation_weight": 1.0}}}}
EXPECTING = CompiledScenario.compile(load_scenario("baseline", EXPECTATION))


def euler_level(tau: float, plan: list[tuple[float, float]], day: float, step: float = 0.01) -> float:
    """The same lag integrated numerically: d level/dt = (target - level) / tau."""
    level, target, t, i = 0.0, 0.0, 0.0, 0
    while t < day - 1e-12:
        while i < len(plan) and plan[i][0] <= t + 1e-12:
            target = plan[i][1]
            i += 1
        h = min(step, day - t)
        level += h * (target - level) / tau
        t += h
    return level


@settings(max_examples=30, deadline=None)
@given(tau=st.floats(2.0, 60.0),
       targets=st.lists(st.tuples(st.floats(0.0, 100.0), st.floats(0.0, 3.0)), min_size=1, max_size=5),
       day=st.floats(0.0, 150.0))
def test_an_effect_is_the_exact_solution_of_its_lag(tau, targets, day):
    plan = sorted(targets)
    e = Effect(tau)
    e.plan(0.0, plan)
    assert e.level_at(day) == pytest.approx(euler_level(tau, plan, day), abs=0.02)


def test_an_agent_reaches_95_percent_of_its_effect_by_its_full_effect_day():
    """Praxis: agents take 3-6 months; methotrexate's 135 days is three time constants."""
    agent = MODEL.disease.agents["methotrexate"]
    e = Effect(agent.tau_days)
    e.plan(0.0, [(0.0, 1.0)])
    assert e.level_at(135.0) == pytest.approx(1 - math.exp(-3), abs=1e-9)
    assert e.level_at(135.0 / 3) == pytest.approx(1 - math.exp(-1), abs=1e-9)


def test_advancing_the_checkpoint_does_not_change_later_levels():
    e = Effect(10.0)
    e.plan(0.0, [(0.0, 2.0), (30.0, 0.5), (60.0, 0.0)])
    expected = [e.level_at(d) for d in (5.0, 35.0, 70.0)]
    e.advance(20.0)
    assert [e.level_at(d) for d in (35.0, 70.0)] == pytest.approx(expected[1:])


def test_treatment_lowers_activity_and_stopping_it_lets_the_disease_return():
    d = DiseaseCourse(0.6, damage_per_active_year=0.0, decline_per_year=0.0)
    d.effect("gc", 2.0, 0.0).plan(0.0, [(0.0, 1.5), (100.0, 0.0)])
    assert d.activity(0.0) == pytest.approx(0.6)
    assert d.activity(60.0) == pytest.approx(0.6 * math.exp(-1.5), rel=1e-6)
    assert d.activity(200.0) == pytest.approx(0.6, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(ceiling=st.floats(0.3, 5.0), levels=st.lists(st.floats(0.0, 6.0), min_size=1, max_size=4),
       day=st.floats(0.0, 400.0))
def test_combined_suppression_never_exceeds_the_ceiling(ceiling, levels, day):
    """However many treatments act and however strong, activity stays above untreated x exp(-ceiling); the
    look-ahead and the observed day agree; one more drug adds less to a patient already suppressed."""
    from iimsim.simulation.disease import saturated, unsaturated

    d = DiseaseCourse(0.6, 0.0, 0.0, ceiling=ceiling)
    for i, level in enumerate(levels):
        d.effect(f"agent{i}", 5.0 + 10 * i, 0.0).plan(0.0, [(0.0, level)])
    ahead = d.activity(day)
    assert ahead >= 0.6 * math.exp(-ceiling) * (1 - 1e-9)
    assert d.activity_now(day) == pytest.approx(ahead, rel=1e-9)
    assert saturated(sum(levels), ceiling) < ceiling
    # the gain from a further 0.5 falls as the suppression already given grows
    assert saturated(1.5, ceiling) - saturated(1.0, ceiling) < saturated(0.5, ceiling) - saturated(0.0, ceiling)
    assert unsaturated(saturated(sum(levels), ceiling), ceiling) == pytest.approx(sum(levels), rel=1e-6, abs=1e-9)


def test_the_ceiling_caps_treatment_not_the_disease_own_course():
    """A flare raises activity above the ceiling's floor and burning out lowers it below: neither is treatment."""
    d = DiseaseCourse(0.6, 0.0, 0.0, ceiling=1.0)
    d.effect("glucocorticoid", 1.0, 0.0).plan(0.0, [(0.0, 50.0)])
    floor = 0.6 * math.exp(-50.0 / 51.0)
    assert d.activity(30.0) == pytest.approx(floor, rel=1e-6)
    d.effect("burnout", 1.0, 0.0).plan(0.0, [(0.0, 1.0)])
    assert d.activity(30.0) == pytest.approx(floor * math.exp(-1.0), rel=1e-6)
    d.effect("flare", 20.0, 30.0).kick(30.0, -2.0)
    assert d.activity(30.0) == pytest.approx(floor * math.exp(1.0), rel=1e-6)


def test_without_a_ceiling_suppression_adds():
    d = DiseaseCourse(0.6, 0.0, 0.0)
    d.effect("a", 1.0, 0.0).plan(0.0, [(0.0, 1.0)])
    d.effect("b", 1.0, 0.0).plan(0.0, [(0.0, 2.0)])
    assert d.activity(100.0) == pytest.approx(0.6 * math.exp(-3.0), rel=1e-9)


def test_a_flare_kick_raises_activity_and_it_subsides():
    d = DiseaseCourse(0.3, 0.0, 0.0)
    flare = d.effect("flare", 20.0, 0.0)
    before = d.activity(50.0)
    flare.kick(50.0, -1.0)
    assert d.activity(50.0) == pytest.approx(before * math.e)
    assert d.activity(200.0) == pytest.approx(before, rel=1e-3)


def test_damage_accrues_with_time_active_and_ibm_declines_regardless():
    active = DiseaseCourse(0.5, damage_per_active_year=0.2, decline_per_year=0.0)
    assert active.accrue_damage(365.25, 0.5) == pytest.approx(0.2 * 0.5)
    ibm = DiseaseCourse(0.5, damage_per_active_year=0.0, decline_per_year=0.035)
    assert ibm.accrue_damage(2 * 365.25, 0.01) == pytest.approx(0.07)


def test_tis_bands_follow_the_2016_criteria():
    criteria = MODEL.visits.criteria
    assert total_improvement_score(criteria, [50.0] * 6) == 100.0  # every measure in its top band
    assert total_improvement_score(criteria, [0.0] * 6) == 0.0
    assert total_improvement_score(criteria, [-30.0] * 6) == 0.0  # worsening scores nothing
    # Manual muscle testing has its own bands: 2-10% improvement scores 10 points.
    assert total_improvement_score(criteria, [0.0, 0.0, 5.0, 0.0, 0.0, 0.0]) == 10.0
    assert total_improvement_score(criteria, [5.0, 5.0, 2.0, 5.0, 5.0, 5.0]) == 0.0  # band edges included below


@given(tis=st.floats(0.0, 100.0))
def test_improvement_categories_follow_the_thresholds(tis):
    adult, juvenile = MODEL.visits.criteria.thresholds(False), MODEL.visits.criteria.thresholds(True)
    assert adult == (20.0, 40.0, 60.0) and juvenile == (30.0, 45.0, 70.0)
    for thresholds in (adult, juvenile):
        category = improvement_category(tis, thresholds)
        expected = ("none" if tis < thresholds[0] else "minimal" if tis < thresholds[1]
                    else "moderate" if tis < thresholds[2] else "major")
        assert category == expected


def test_a_rise_between_visits_is_found_to_the_day():
    d = DiseaseCourse(0.5, 0.0, 0.0)
    d.effect("gc", 3.0, 0.0).plan(0.0, [(0.0, 2.0), (40.0, 0.0)])
    day = first_rise(d.activity, 0.0, 90.0, 0.3)
    assert 40.0 < day < 90.0
    assert d.activity(day) >= 0.3 > d.activity(day - 1.0)
    assert first_rise(d.activity, 0.0, 30.0, 0.3) is None


RULES = ClinicRules(remission_activity=0.1, remission_max_prednisone_mg_per_day=10.0, low_activity=0.15,
                    improving_fraction=0.1, flare_rise=0.15, taper_max_activity=0.35, response_fall_fraction=0.25,
                    high_dose_mg_per_day=30.0, flare_high_dose_activity=0.35, flare_pulse_activity=0.6)
WINDOWS = LineWindows(minimal_improvement_by_days=84.0, failure_assessment_days=180.0, max_days_on_line=365.0)


def seen(**changes) -> Seen:
    values = dict(activity=0.3, previous_activity=0.4, lowest_activity=0.3, tis_from_line_start=35.0,
                  prednisone_mg_per_day=20.0, days_on_line=56.0, flares_on_line=0, withdrawal_due=False,
                  line_start_activity=0.6, review=0, ivig_if_resistant=False, glucocorticoid_stop_due=False,
                  withdrawing_glucocorticoid=False, hold_allowed=True)
    values.update(changes)
    return Seen(**values)


def on_line(**changes) -> str:
    return decide(RULES, "first_line", seen(**changes), WINDOWS, 20.0, 40.0)


def test_clinic_remission_needs_low_activity_on_a_low_dose():
    assert on_line(activity=0.08, lowest_activity=0.08, prednisone_mg_per_day=10.0) == "respond"
    assert on_line(activity=0.08, lowest_activity=0.08, prednisone_mg_per_day=30.0) == TAPER


def test_clinic_steps_the_taper_only_while_improving():
    assert on_line(activity=0.3, previous_activity=0.4) == TAPER
    assert on_line(activity=0.3, previous_activity=0.31) == HOLD


def test_clinic_flare_during_taper_then_fail_on_a_second():
    assert on_line(activity=0.5, lowest_activity=0.3) == "flare"
    assert on_line(activity=0.5, lowest_activity=0.3, flares_on_line=1) == "fail"


def test_a_flare_on_a_high_dose_fails_the_line_rather_than_holding_the_dose():
    assert on_line(activity=0.5, lowest_activity=0.3, prednisone_mg_per_day=30.0) == "flare"
    assert on_line(activity=0.5, lowest_activity=0.3, prednisone_mg_per_day=40.0) == "fail"


def test_the_taper_is_held_while_the_disease_is_still_highly_active_even_if_improving():
    assert on_line(activity=0.45, previous_activity=0.6, lowest_activity=0.45) == HOLD
    assert on_line(activity=0.12, previous_activity=0.12) == TAPER  # controlled: on down the ladder


def test_the_first_step_comes_at_2_weeks_with_a_response_and_by_4_weeks_without():
    """The first review: a response (activity down a quarter since the line began) lets the taper begin; none,
    the dose is held (to 4 weeks at most, pathway/glucocorticoids.py). At the last review a patient still not
    responding is offered IVIG for steroid-resistant disease, where offered; the taper goes on anyway."""
    def review(number, activity, **changes):
        return on_line(review=number, activity=activity, lowest_activity=activity, previous_activity=0.6,
                       days_on_line=14.0 * number, **changes)

    assert review(1, 0.42) == TAPER
    assert review(1, 0.55) == HOLD
    assert review(2, 0.55, ivig_if_resistant=True) == ADD_IVIG
    assert review(2, 0.40, ivig_if_resistant=True) == TAPER
    assert review(2, 0.55, ivig_if_resistant=False) == HOLD


def test_a_flare_is_answered_by_how_active_the_disease_is():
    assert glucocorticoid_answer(RULES, 0.3) == STEP_BACK
    assert glucocorticoid_answer(RULES, 0.4) == HIGH_DOSE
    assert glucocorticoid_answer(RULES, 0.65) == PULSE


def test_clinic_fails_a_line_without_minimal_improvement_by_its_window():
    assert on_line(tis_from_line_start=15.0, days_on_line=70.0) == TAPER
    assert on_line(tis_from_line_start=15.0, days_on_line=90.0) == "fail"
    assert on_line(tis_from_line_start=45.0, days_on_line=190.0) == TAPER  # still improving, moderately
    assert on_line(tis_from_line_start=45.0, days_on_line=190.0, previous_activity=0.3) == "fail"  # stalled
    assert on_line(tis_from_line_start=45.0, days_on_line=370.0) == "fail"


def test_clinic_on_maintenance_and_off_treatment():
    maintenance = seen(activity=0.05, lowest_activity=0.05, previous_activity=0.05, withdrawal_due=True)
    assert decide(RULES, "maintenance", maintenance, None, 20.0, 40.0) == "withdraw"
    flare = seen(activity=0.3, lowest_activity=0.05)
    assert decide(RULES, "maintenance", flare, None, 20.0, 40.0) == "flare"
    assert decide(RULES, "drug_free_remission", flare, None, 20.0, 40.0) == "relapse"
    quiet = seen(activity=0.06, lowest_activity=0.05)
    assert decide(RULES, "drug_free_remission", quiet, None, 20.0, 40.0) == "observe"


@settings(max_examples=40, deadline=None)
@given(activity=st.floats(0.001, 1.0), measured=st.floats(0.0, 1.0), base=st.floats(0.01, 1.0),
       damage=st.floats(0.0, 0.5), z=st.lists(st.floats(-3, 3), min_size=8, max_size=8),
       spread=st.lists(st.floats(0.0, 2.0), min_size=5, max_size=5), expectation=st.floats(0.0, 1.0),
       recovered=st.floats(0.001, 1.0), base_recovered=st.floats(0.01, 1.0))
def test_the_recorded_tis_is_the_one_the_clinician_decided_on(activity, measured, base, damage, z, spread,
                                                                expectation, recovered, base_recovered):
    """Rows are scored vectorised when the table is built; decisions score one visit: the same number (measures
    not involved, sensitivity 0, and the slowly recovering activity included)."""
    import numpy as np

    from iimsim.simulation.assessment import Baseline, score_rows, tis

    visits = EXPECTING.visits
    sensitivity = (visits.sensitivity[0], *(s * f for s, f in zip(visits.sensitivity[1:], spread)))
    baseline = Baseline(base, base, 0.0, base_recovered)
    one = tis(visits, sensitivity, activity, measured, damage, baseline, z, expectation, recovered)
    rows, _, _ = score_rows(visits, np.array([sensitivity[1:]]), np.array([activity]), np.array([measured]),
                            np.array([damage]), (np.array([baseline.activity]), np.array([baseline.measured]),
                                                 np.array([0.0])), np.array([z[2:2 + len(sensitivity) - 1]]),
                            np.array([expectation]), (np.array([recovered]), np.array([baseline.recovered])))
    assert rows[0] == one


def test_expectation_improves_the_patient_reported_measures_only():
    """With the disease unchanged, the expectation as a line starts moves the patient global and HAQ, by the
    scenario's points; the physician's global, strength, enzymes and extramuscular activity do not move."""
    from iimsim.simulation.assessment import Baseline, improvements_percent

    visits = EXPECTING.visits
    names = list(load_scenario("baseline").assessment.measures)
    baseline = Baseline(0.4, 0.4, 0.0)
    z = [0.0] * 8
    still = improvements_percent(visits, visits.sensitivity, 0.4, 0.4, 0.0, baseline, z, 0.0)
    hopeful = improvements_percent(visits, visits.sensitivity, 0.4, 0.4, 0.0, baseline, z, 1.0)
    assert still == pytest.approx([0.0] * len(names))
    moved = {name for name, x in zip(names, hopeful) if x != 0.0}
    assert moved == {"patient_global", "haq"}
    assert hopeful[names.index("haq")] == pytest.approx(20.0)


def test_a_measure_not_involved_cannot_improve_or_worsen():
    """A measure normal at baseline (sensitivity 0: creatine kinase normal, no rash) shows no change whatever the
    disease does and whatever its measurement error, so it scores no points; the others follow the disease."""
    from iimsim.simulation.assessment import Baseline, improvements_percent

    visits = MODEL.visits
    names = list(load_scenario("baseline").assessment.measures)
    enzymes = names.index("muscle_enzymes")
    sensitivity = tuple(0.0 if k == enzymes else s for k, s in enumerate(visits.sensitivity))
    for z in ([2.5] * 8, [-2.5] * 8):
        moved = improvements_percent(visits, sensitivity, 0.2, 0.2, 0.0, Baseline(0.4, 0.4, 0.0), z)
        assert moved[enzymes] == 0.0
        assert moved[names.index("physician_global")] == pytest.approx(50.0)


@settings(max_examples=60, deadline=None)
@given(before=st.floats(0.001, 1.0), start=st.floats(0.001, 1.0), now=st.floats(0.001, 1.0),
       days=st.floats(0.0, 400.0), tau=st.floats(1.0, 300.0))
def test_recovery_follows_a_fall_slowly_and_a_rise_at_once(before, start, now, days, tau):
    """What strength and function reflect is never better than the disease today, follows a rise at once, and
    after a fall lies between where it was and the disease now, nearer the disease the longer it has been."""
    from iimsim.simulation.assessment import recover

    r = recover(before, 0.0, start, days, now, tau)
    assert r >= now - 1e-12
    if now >= max(before, start):
        assert r == pytest.approx(now)
    if before >= start >= now:
        assert r <= before + 1e-12
        assert recover(before, 0.0, start, days + 100.0, now, tau) <= r + 1e-12
    assert recover(before, 0.0, start, days, now, 0.0) == now
    assert recover(None, 0.0, start, days, now, tau) == now


def test_strength_lags_the_disease_while_the_globals_do_not():
    """Activity halved since the line's start but the muscle not yet recovered: the physician's global shows the
    fall, manual muscle testing and HAQ (recovery_weight 1) show none of it; once recovered, they show it all."""
    from iimsim.simulation.assessment import Baseline, improvements_percent

    visits = CompiledScenario.compile(load_scenario("baseline", {"assessment": {
        "recovery_days": 120.0, "measures": {"manual_muscle_testing": {"recovery_weight": 1.0},
                                             "haq": {"recovery_weight": 1.0}}}})).visits
    names = list(load_scenario("baseline").assessment.measures)
    z = [0.0] * 8
    start = Baseline(0.4, 0.4, 0.0, 0.4)
    sensitivity = tuple(visits.sensitivity)
    not_yet = improvements_percent(visits, sensitivity, 0.2, 0.2, 0.0, start, z, recovered=0.4)
    recovered = improvements_percent(visits, sensitivity, 0.2, 0.2, 0.0, start, z, recovered=0.2)
    for name in ("manual_muscle_testing", "haq"):
        assert not_yet[names.index(name)] == pytest.approx(0.0)
        assert recovered[names.index(name)] == pytest.approx(100 * 0.5 * visits.sensitivity[names.index(name)])
    assert not_yet[names.index("physician_global")] == pytest.approx(50.0)
