"""Glucocorticoid doses: the Praxis taper, BMJ Best Practice's caps and the pulse conversion."""

import math
from dataclasses import replace

import pytest

from iimsim.pathway.glucocorticoids import (
    GlucocorticoidRules,
    induction_mg_per_kg,
    oral_dose_mg_per_day,
    oral_schedule,
    prophylaxis_needed,
    taper_doses_mg_per_day,
)
from iimsim.scenarios import load_scenario
from tests.conftest import simulate


@pytest.fixture(scope="module")
def rules() -> GlucocorticoidRules:
    return GlucocorticoidRules.from_scenario(load_scenario("baseline").glucocorticoids)


def test_seed_001_taper_for_60_kg_at_1_mg_per_kg(rules):
    start = oral_dose_mg_per_day(rules, 1.0, 60.0, juvenile=False)
    assert start == 60.0
    steps = taper_doses_mg_per_day(rules, start, hold_days=14.0, floor_mg=0.0)
    doses = [dose for _, dose in steps]
    assert doses == [60, 40, 30, 25, 20, 17.5, 15, 12.5, 10, 7.5, 5, 2.5, 0]
    # two weeks each
    assert [day for day, _ in steps] == [14.0 * i for i in range(len(steps))]


def test_taper_starts_after_the_hold_and_stops_at_the_maintenance_dose(rules):
    steps = taper_doses_mg_per_day(rules, 75.0, hold_days=28.0, floor_mg=2.5)
    assert steps[0] == (0.0, 75.0)
    assert steps[1] == (28.0, 60.0)  # first rung below the start dose, after 4 weeks
    assert steps[-1][1] == 2.5 and all(d > 2.5 for _, d in steps[:-1])


def test_start_between_rungs_joins_the_ladder_below(rules):
    doses = [d for _, d in taper_doses_mg_per_day(rules, 45.0, 28.0, 2.5)]
    assert doses[:4] == [45.0, 40.0, 30.0, 25.0]


@pytest.mark.parametrize("weight_kg, juvenile, mg_per_kg, expected", [
    (60.0, False, 1.0, 60.0),
    (100.0, False, 1.0, 80.0),   # adult cap 80 mg/day (BMJ Best Practice)
    (73.0, False, 0.5, 37.5),    # rounded to the 2.5 mg tablet
    (20.0, True, 2.0, 40.0),     # JDM 2 mg/kg/day (Praxis)
    (45.0, True, 2.0, 60.0),     # JDM cap 60 mg/day
])
def test_dose_and_caps(rules, weight_kg, juvenile, mg_per_kg, expected):
    assert oral_dose_mg_per_day(rules, mg_per_kg, weight_kg, juvenile) == expected


def test_mg_per_kg_follows_comorbidity_and_relapse_risk(rules):
    assert induction_mg_per_kg(rules, False, steroid_risk=True, high_relapse_risk=True) == 0.5
    assert induction_mg_per_kg(rules, False, steroid_risk=False, high_relapse_risk=True) == 1.0
    assert induction_mg_per_kg(rules, True, steroid_risk=True, high_relapse_risk=False) == 2.0


def test_pulse_is_methylprednisolone_1g_for_3_days_at_1_25_prednisone_equivalent(rules):
    steps = oral_schedule(rules, 60.0, 28.0, 2.5, pulse=True).steps
    pulse, first_oral = steps[0], steps[1]
    assert (pulse.drug, pulse.route, pulse.dose, pulse.dose_unit) == ("methylprednisolone", "iv", 1000.0, "mg/day")
    assert pulse.prednisone_eq_mg_per_day == 1250.0
    assert first_oral.offset_days == 3.0 and first_oral.dose == 60.0


def test_alternate_day_keeps_the_daily_average(rules):
    alternate = replace(rules, scheme="alternate_day")
    daily = oral_schedule(rules, 60.0, 28.0, 2.5, pulse=False).steps
    alt = oral_schedule(alternate, 60.0, 28.0, 2.5, pulse=False).steps

    def area(steps, until):
        total = 0.0
        for a, b in zip(steps, steps[1:] + (None,)):
            end = until if b is None else min(b.offset_days, until)
            total += a.prednisone_eq_mg_per_day * max(0.0, end - a.offset_days)
        return total

    assert area(daily, 400) == pytest.approx(area(alt, 400))
    late = [s for s in alt if s.offset_days >= 30 and s.dose > 0]
    assert late and all(s.route == "oral_alternate_day" and s.dose == 2 * s.prednisone_eq_mg_per_day for s in late)


def test_pjp_prophylaxis_needs_4_weeks_at_20_mg(rules):
    assert prophylaxis_needed(rules, oral_schedule(rules, 60.0, 28.0, 2.5, False)) == 28 + 14 * 4
    assert prophylaxis_needed(rules, oral_schedule(rules, 20.0, 14.0, 2.5, False)) == 0.0


def test_simulated_pulse_counts_in_cumulative_dose():
    run = simulate(patients=300, seed=3)
    doses, patients = run["doses"], run["patients"]
    pulses = doses[doses.drug == "methylprednisolone"]
    severe = patients[(patients.severity == "severe") & (patients.subtype != "IBM")]  # (IBM has no pulse)
    at_diagnosis = pulses[pulses.start_day == 0.0]
    assert set(at_diagnosis.patient_id) == set(severe.patient_id)
    adults = pulses[pulses.patient_id.isin(patients.loc[patients.subtype != "JDM", "patient_id"])]
    assert (adults.prednisone_eq_mg_per_day == 1250.0).all()
    assert (pulses.prednisone_eq_mg_per_day == 1.25 * pulses.dose).all()
    full = at_diagnosis[(at_diagnosis.end_day - at_diagnosis.start_day) == 3.0]
    assert len(full) > 0.9 * len(severe)  # all but those dying during the pulse
    assert not math.isnan(patients.pred_cum_mg.sum())


def test_a_later_pulse_answers_disease_as_active_as_severe_disease_at_diagnosis():
    """After diagnosis a pulse is given only on the day a visit found a flare, a failing line or a relapse with
    physician global activity at the scenario's pulse level (BMJ Best Practice: pulses for severe disease)."""
    run = simulate(patients=600, seed=3)
    doses, assessments = run["doses"], run["assessments"]
    rules = load_scenario("baseline").assessment
    later = doses[(doses.drug == "methylprednisolone") & (doses.start_day > 0)]
    assert len(later) > 0
    answered = assessments[assessments.decision.isin(["flare", "fail", "relapse"])
                           & (assessments.activity_measured >= rules.flare_pulse_activity)]
    keys = set(zip(answered.patient_id, answered.day))
    assert all((pid, day) in keys for pid, day in zip(later.patient_id, later.start_day))


def _levels(doses):
    """Each patient's glucocorticoid dose levels in time order: rows carrying on the same dose merged."""
    gc = doses[doses.prednisone_eq_mg_per_day.notna()].sort_values(["patient_id", "start_day"])
    rows = []
    for pid, g in gc.groupby("patient_id", sort=False):
        level = None
        for start, end, dose, route in zip(g.start_day, g.end_day, g.prednisone_eq_mg_per_day, g.route):
            if level and level[3] == dose and abs(level[2] - start) < 1e-9:
                level[2] = end
            else:
                if level:
                    rows.append(level)
                level = [pid, start, end, dose, route]
        rows.append(level)
    import pandas as pd

    levels = pd.DataFrame(rows, columns=["patient_id", "start", "end", "dose", "route"])
    levels["next_dose"] = levels.groupby("patient_id").dose.shift(-1)
    return levels


@pytest.mark.parametrize("seed", [3, 11])
def test_no_step_of_the_taper_is_shorter_than_its_schedule(seed):
    """The Praxis ladder is the fastest a taper goes: every step down comes after at least its interval (2
    weeks for the induction dose, a rung, or a low dose), whatever the clinician's pace, the holds and resumptions."""
    run = simulate(patients=400, seed=seed)
    levels = _levels(run["doses"])
    steps = levels[(levels.next_dose < levels.dose) & (levels.route != "iv")]
    assert len(steps) > 1000
    assert (steps.end - steps.start).min() >= 14.0 - 1e-6


def test_a_good_responder_tapers_at_the_ladders_pace_and_a_poor_one_holds():
    """On the Praxis clock (no clinician slack): patients whose visits all let the taper go on step down every
    2 weeks from 60 to 20 mg/day; patients whose improvement stalls at a dose of 30 mg/day or less stay on it past
    the step, until a visit finds them improving."""
    run = simulate(patients=400, seed=5, overrides={"glucocorticoids": {"taper_slack": 0.0,
                                                                          "partial_response_pace": 1.0}})
    levels, assessments = _levels(run["doses"]), run["assessments"]
    early = assessments[(assessments.day > 0) & (assessments.day <= 120)]
    good = set(early.patient_id) - set(early[early.decision != "taper"].patient_id)
    rungs = levels[levels.patient_id.isin(good) & levels.dose.isin([60.0, 40.0, 30.0, 25.0])
                   & (levels.next_dose < levels.dose) & (levels.start > 3.0) & (levels.end < 120)]
    assert len(rungs) > 100
    assert (rungs.end - rungs.start).round(6).eq(14.0).all()
    held = assessments[(assessments.decision == "hold") & (assessments.prednisone_eq_mg_per_day <= 30)
                       & (assessments.prednisone_eq_mg_per_day > 0) & (assessments.state != "maintenance")]
    assert held.patient_id.nunique() > 20
    checked = 0
    for pid, day, dose in zip(held.patient_id, held.day, held.prednisone_eq_mg_per_day):
        level = levels[(levels.patient_id == pid) & (levels.start <= day) & (levels.end > day)
                       & (levels.next_dose < levels.dose)]  # (a step down, not death, the horizon or a flare)
        if len(level):
            assert (level.dose == dose).all() and (level.end - level.start).iloc[0] > 14.0
            checked += 1
    assert checked > 20
