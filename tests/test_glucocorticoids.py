"""Glucocorticoid doses: seed 001's taper, seed 003's caps and the pulse conversion."""

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
    (100.0, False, 1.0, 80.0),   # adult cap 80 mg/day (seed 003)
    (73.0, False, 0.5, 37.5),    # rounded to the 2.5 mg tablet
    (20.0, True, 2.0, 40.0),     # JDM 2 mg/kg/day (seed 001)
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
    assert set(pulses.patient_id) == set(severe.patient_id)
    adults = pulses[pulses.patient_id.isin(patients.loc[patients.subtype != "JDM", "patient_id"])]
    assert (adults.prednisone_eq_mg_per_day == 1250.0).all()
    assert (pulses.prednisone_eq_mg_per_day == 1.25 * pulses.dose).all()
    full = pulses[(pulses.end_day - pulses.start_day) == 3.0]
    assert len(full) > 0.9 * len(severe)  # all but those dying during the pulse
    assert not math.isnan(patients.pred_cum_mg.sum())
