"""Subcutaneous immunoglobulin at home in place of IVIG in the chair, and the societal perspective's costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iimsim.pathway.agents import AgentRules, schedule
from iimsim.pathway.scig import SCIG, ScigRules, at_home_from, first_at_home
from iimsim.reports.costs import compute_costs
from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import deep_merge
from iimsim.simulation.runner import collect_tables
from iimsim.simulation.tables import YEAR_DAYS
from tests.conftest import simulate
from tests.test_infusion_unit import BUSY

PATIENTS, SEED, YEARS = 400, 11, 3.0
EVERYONE = {"scig": {"share_of_eligible": 1.0}}


@pytest.fixture(scope="module")
def in_the_chair() -> dict[str, pd.DataFrame]:
    return simulate("baseline", patients=PATIENTS, seed=SEED, years=YEARS)


@pytest.fixture(scope="module")
def at_home() -> dict[str, pd.DataFrame]:
    return simulate("baseline", patients=PATIENTS, seed=SEED, years=YEARS, overrides=EVERYONE)


def _immunoglobulin(tables) -> tuple[pd.DataFrame, pd.DataFrame]:
    doses = tables["doses"]
    return doses[(doses.drug == "ivig") & (doses.route == "iv")], doses[doses.drug == SCIG]


def test_the_dose_at_home_is_each_infusions_grams_in_four_weekly_doses():
    """Danieli et al. 2011: the usual monthly IVIG dose in equal weekly doses; a ratio scales it."""
    ivig = AgentRules.from_scenario("ivig", load_scenario("baseline").agents["ivig"])
    course = schedule(ivig, 70.0)  # 2 g/kg: 140 g over 2 days, every 28 days, 6 infusions
    for ratio in (1.0, 0.85):
        rules = ScigRules(share_of_eligible=1.0, after_ivig_infusions=3, scig_g_per_ivig_g=ratio,
                          dose_interval_days=7.0)
        home = at_home_from(course, 3, rules, ivig.infusion_interval_days)
        grams = [(step.dose * (end - offset), step.route, offset)
                 for step, offset, end in zip(home.row_steps, home.row_offsets, home.row_ends)]
        assert grams[:3] == [(140.0, "iv", 0.0), (140.0, "iv", 28.0), (140.0, "iv", 56.0)]
        assert [g for g, _, _ in grams[3:]] == pytest.approx([140.0 * ratio / 4] * 12)
        assert {route for _, route, _ in grams[3:]} == {"subcutaneous"}
        assert [offset for _, _, offset in grams[3:]] == [84.0 + 7 * k for k in range(12)]
        assert home.iv_rows == (0, 1, 2)  # only the induction takes a chair


def test_who_switches_the_induction_first_then_infusions_left_and_the_share():
    rules = ScigRules(share_of_eligible=0.5, after_ivig_infusions=3, scig_g_per_ivig_g=1.0, dose_interval_days=7.0)
    assert first_at_home(rules, 0.2, infusions_given=1, infusions=6) == 3  # the induction in the chair first
    assert first_at_home(rules, 0.2, infusions_given=4, infusions=6) == 4
    assert first_at_home(rules, 0.2, infusions_given=6, infusions=6) is None  # nothing left to give
    assert first_at_home(rules, 0.7, infusions_given=4, infusions=6) is None  # not among the half who switch
    nobody = ScigRules(share_of_eligible=0.0, after_ivig_infusions=3, scig_g_per_ivig_g=1.0, dose_interval_days=7.0)
    assert first_at_home(nobody, 0.0, infusions_given=4, infusions=6) is None


def test_a_switched_patient_gets_a_quarter_of_their_infusion_weekly_at_home(at_home):
    ivig, scig = _immunoglobulin(at_home)
    assert scig.patient_id.nunique() >= 10
    per_infusion = (ivig.dose * (ivig.end_day - ivig.start_day)).groupby(ivig.patient_id).max()
    home_dose = (scig.dose * (scig.end_day - scig.start_day))
    expected = per_infusion.reindex(scig.patient_id).to_numpy() / 4
    full = (scig.end_day - scig.start_day) > 1 - 1e-9  # (a dose cut by the end of follow-up is shorter)
    assert home_dose[full].to_numpy() == pytest.approx(expected[full.to_numpy()])
    assert (scig.route == "subcutaneous").all()
    gaps = scig.groupby("patient_id").start_day.diff().dropna()
    assert (gaps >= 7 - 1e-9).all() and (np.isclose(gaps, 7.0)).mean() > 0.9  # weekly (a new course resumes later)


def test_only_patients_in_remission_after_their_induction_go_home(at_home):
    """Eligible: on IVIG when remission is reached, after three infusions in the chair; a flare ends it."""
    ivig, scig = _immunoglobulin(at_home)
    assert (scig.state == "maintenance").all()
    events = at_home["events"]
    switched = events[events.detail.str.contains("IVIG continued at home as SCIG", regex=False)]
    assert (switched.event == "respond").all() and (switched.to_state == "maintenance").all()
    for patient, doses in scig.groupby("patient_id"):
        starts = doses.start_day.to_numpy()
        firsts = starts[np.r_[True, np.diff(starts) > 7 + 1e-6]]  # each course's first dose at home
        chair = ivig[ivig.patient_id == patient].start_day.to_numpy()
        told = switched[switched.patient_id == patient].day.to_numpy()
        for first in firsts:
            assert (told <= first + 1e-9).any()  # decided in remission, before the first dose at home
            before = [first - 28 * k for k in range(1, 4)]  # the induction's three infusions, 28 days apart
            assert all(np.isclose(chair, day).any() for day in before), (patient, first)


def test_doses_at_home_take_no_chair_so_chair_days_fall(in_the_chair, at_home):
    _, scig = _immunoglobulin(at_home)
    chair_days = {name: (t["doses"].end_day - t["doses"].start_day)[t["doses"].route == "iv"].sum()
                  for name, t in (("chair", in_the_chair), ("home", at_home))}
    assert chair_days["home"] < chair_days["chair"] - 50
    scenario = load_scenario("baseline", EVERYONE)
    costs, _ = compute_costs(at_home, scenario.costs, YEARS * YEAR_DAYS, by_year=False)
    costs = costs.set_index("patient_id")
    doses = at_home["doses"]
    iv = doses[doses.route == "iv"]
    all_iv = (iv.end_day - iv.start_day).groupby(iv.patient_id).sum()
    switched = scig.patient_id.unique()
    assert costs.loc[switched, "infusion_chair_cost"].to_numpy() == pytest.approx(
        all_iv.reindex(switched).to_numpy() * scenario.costs.infusion_chair_day)
    home_cost = scenario.costs.scig_price_per_g * (scig.dose * (scig.end_day - scig.start_day)).groupby(
        scig.patient_id).sum() + scenario.costs.scig_supplies_per_dose * scig.groupby("patient_id").size()
    assert costs.loc[switched, "scig_cost"].to_numpy() == pytest.approx(home_cost.reindex(switched).to_numpy())
    training = scenario.costs.scig_training_visits * scenario.costs.home_nurse_visit
    assert (costs.loc[switched, "scig_training_cost"] == training).all()  # once a patient, however many courses
    assert (costs.drop(switched)[["scig_cost", "scig_training_cost"]] == 0).all().all()


def test_at_the_infusion_unit_a_dose_at_home_is_never_a_visit():
    overrides = deep_merge(BUSY, EVERYONE)
    chair = simulate("infusion_unit", seed=3, years=2.0, overrides=BUSY)
    home = simulate("infusion_unit", seed=3, years=2.0, overrides=overrides)
    _, scig = _immunoglobulin(home)
    assert len(scig) > 20
    for tables in (chair, home):
        doses, visits, patients = tables["doses"], tables["infusion_visits"], tables["patients"]
        diagnosis = patients.set_index("patient_id").diagnosis_day
        ivig = doses[(doses.drug == "ivig") & (doses.route == "iv")]
        ivig = ivig[ivig.start_day.to_numpy() + diagnosis.reindex(ivig.patient_id).to_numpy() >= -1e-9]
        started = visits[(visits.drug == "ivig") & visits.start_day.notna()]
        # every IVIG row in the horizon was a visit to the unit, and no visit was given at home
        pd.testing.assert_series_equal(ivig.groupby("patient_id").size(), started.groupby("patient_id").size(),
                                       check_names=False)
        assert SCIG not in set(visits.drug)
    used = {name: t["infusion_unit_days"].chair_hours_used.sum() for name, t in (("chair", chair), ("home", home))}
    assert used["home"] < used["chair"]


def test_share_zero_is_the_scenario_without_scig():
    scenario = load_scenario("baseline", {"simulation": {"patients": 150, "seed": 4, "horizon_years": 3.0}})
    assert scenario.scig is not None and scenario.scig.share_of_eligible == 0.0
    with_zero = collect_tables(scenario)
    without = collect_tables(scenario.model_copy(update={"scig": None}))
    assert set(with_zero) == set(without)
    for name in with_zero:
        assert with_zero[name].equals(without[name]), name
    assert not (with_zero["doses"].to_pandas().drug == SCIG).any()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.0, 0.5, 1.0]))
def test_the_societal_cost_is_the_payers_and_more(seed, share):
    changes = {"simulation": {"patients": 40, "seed": seed, "horizon_years": 3.0}, "scig": {"share_of_eligible": share}}
    scenario = load_scenario("baseline", changes)
    tables = {name: t.to_pandas() for name, t in collect_tables(scenario).items()}
    for costs in (scenario.costs, scenario.costs.model_copy(update={"societal": None})):
        per_patient, by_year = compute_costs(tables, costs, 3.0 * YEAR_DAYS)
        for suffix in ("", "_discounted"):
            total, societal = per_patient[f"total_cost{suffix}"], per_patient[f"societal_total_cost{suffix}"]
            assert (societal >= total - 1e-9).all()
            added = per_patient[f"productivity_cost{suffix}"] + per_patient[f"informal_care_cost{suffix}"]
            assert societal.to_numpy() == pytest.approx((total + added).to_numpy())
        assert by_year.cost.sum() == pytest.approx(per_patient.total_cost.sum())  # the budget is the payer's
        if costs.societal is None:
            assert (per_patient.societal_total_cost == per_patient.total_cost).all()


def test_productivity_counts_working_age_patients_only_and_a_parent_stays_with_a_child():
    scenario = load_scenario("baseline", {"simulation": {"patients": 300, "seed": 9, "horizon_years": 2.0}})
    tables = {name: t.to_pandas() for name, t in collect_tables(scenario).items()}
    per_patient, _ = compute_costs(tables, scenario.costs, 2.0 * YEAR_DAYS, by_year=False)
    patients = tables["patients"].set_index("patient_id")
    costs = per_patient.set_index("patient_id")
    low, high = scenario.costs.societal.working_age_years
    older = patients.index[patients.age_years >= high]
    children = patients.index[patients.age_years + 2.0 < low]
    assert len(older) and len(children)
    assert (costs.loc[older, "productivity_cost"] == 0).all() and (costs.loc[children, "productivity_cost"] == 0).all()
    working = patients.index[(patients.age_years >= low) & (patients.age_years + 2.0 < high)]
    assert (costs.loc[working, "productivity_cost"] > 0).all()  # every patient comes to clinic
    # a child's carer hours at a clinic visit are a parent's, more than an adult's carer's
    s = scenario.costs.societal
    visits = tables["assessments"].groupby("patient_id").size()
    child, adult = children[0], working[0]
    assert s.child_carer_hours_per_clinic_visit > s.carer_hours_per_clinic_visit
    assert costs.loc[child, "informal_care_cost"] >= visits[child] * s.child_carer_hours_per_clinic_visit * s.wage_per_hour


def test_a_regions_scig_at_home_is_counted_within_the_horizon_as_ivig_is():
    """Prevalent patients (diagnosed before day 0) had doses at home before the horizon opened: the summary's
    SCIG grams and doses count only those given from calendar day 0, as its IVIG grams do."""
    from iimsim.reports.summary import ResourceTally

    changes = deep_merge(EVERYONE, {"region": {"population": 300_000},
                                    "simulation": {"seed": 5, "horizon_years": 2.0}})
    tables = collect_tables(load_scenario("region_1m", changes))
    tally = ResourceTally()
    tally.add(tables)
    doses, patients = tables["doses"].to_pandas(), tables["patients"].to_pandas()
    home = doses[doses.drug == SCIG].merge(patients[["replication", "patient_id", "diagnosis_day"]])
    within = home[home.start_day + home.diagnosis_day >= 0]
    assert len(within) < len(home)  # the region's history holds doses at home before day 0
    assert tally.at_home["doses"] == len(within) > 0
    assert tally.at_home["g"] == pytest.approx((within.dose * (within.end_day - within.start_day)).sum())
