"""Doses as they can be given: rounded to a tablet, capsule or vial, capped where the regimen caps them, IVIG on
ideal body weight and never a second course within a dosing interval."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iimsim.pathway.agents import AgentRules, dosing_weight_kg, ideal_body_weight_kg, schedule
from iimsim.pathway.dosing import dispensable
from iimsim.scenarios.loader import load_scenario

from tests.conftest import simulate


@pytest.fixture(scope="module")
def agents():
    scenario = load_scenario("baseline")
    return {drug: AgentRules.from_scenario(drug, a) for drug, a in scenario.agents.items()}


@pytest.fixture(scope="module")
def refractory_run():
    """Patients who reach the later lines: every agent given, the heavy included."""
    return simulate("baseline", patients=1500, seed=9, overrides={"cohort": {
        "adult_weight_kg": {"mean": 90.0, "sd": 20.0, "min": 40.0, "max": 150.0},
        "p_ild": {s: 0.4 for s in ("DM", "PM", "IMNM_HMGCR", "IMNM_SRP", "ASS", "JDM")}}})


def _per_infusion(doses, drug):
    rows = doses[(doses.drug == drug) & np.isclose(doses.end_day - doses.start_day, 1.0)]  # (whole infusions)
    return rows.assign(amount=rows.dose * (rows.end_day - rows.start_day))


def test_dispensable_rounds_to_the_nearest_unit_and_down_where_a_cap_binds():
    assert dispensable(136.8, 25.0) == 125.0 and dispensable(138.0, 25.0) == 150.0
    assert dispensable(136.8, 25.0, cap=136.8) == 125.0  # 2 mg/kg binds: the tablets below it
    assert dispensable(73.2, 25.0) == 75.0  # a child's ciclosporin
    assert dispensable(1698.0, 50.0, cap=1200.0) == 1200.0
    assert dispensable(883.2, 20.0, cap=800.0) == 800.0
    assert dispensable(10.0, 25.0) == 25.0  # at least one unit
    assert dispensable(12.34, None, cap=10.0) == 10.0


def test_cyclophosphamide_is_15_mg_per_kg_to_50_mg_at_most_1_2_g(refractory_run):
    cyc = _per_infusion(refractory_run["doses"], "cyclophosphamide").merge(
        refractory_run["patients"][["patient_id", "weight_kg"]], on="patient_id")
    assert len(cyc) > 100 and (cyc.weight_kg > 80).sum() > 10
    expected = np.minimum(np.floor(15.0 * cyc.weight_kg / 50.0 + 0.5) * 50.0, 1200.0)
    assert np.allclose(cyc.amount, expected) and cyc.amount.max() <= 1200.0 + 1e-6


def test_tocilizumab_never_exceeds_its_label_maximum_of_800_mg(agents):
    for weight in (60.0, 99.9, 100.0, 130.0):
        doses = [s.dose for s in schedule(agents["tocilizumab"], weight).steps if s.dose > 0]
        assert max(doses) == min(dispensable(8.0 * weight, 20.0), 800.0) and max(doses) <= 800.0


def test_azathioprine_is_in_whole_25_mg_tablets_within_2_mg_per_kg_of_ideal_body_weight(refractory_run):
    p = refractory_run["patients"].set_index("patient_id")
    aza = refractory_run["doses"][refractory_run["doses"].drug == "azathioprine"]
    assert len(aza) > 100
    whole = aza[aza.dose >= 25.0]  # (a small child's cap below one tablet is given as the cap: a liquid)
    assert np.allclose(whole.dose / 25.0, np.round(whole.dose / 25.0))
    adults = aza[p.loc[aza.patient_id, "height_cm"].notna().to_numpy()]
    ideal = [min(w, round(ideal_body_weight_kg(h, s), 1)) if h >= 152.4 else w
             for w, h, s in p.loc[adults.patient_id, ["weight_kg", "height_cm", "sex"]].itertuples(index=False)]
    assert (adults.dose.to_numpy() <= 2.0 * np.array(ideal) + 1e-9).all()


def test_a_child_is_given_ciclosporin_in_whole_capsules(agents):
    # 3 mg/kg for 24.4 kg is 73.2 mg: given as 75 mg
    assert [s.dose for s in schedule(agents["ciclosporin"], 24.4, juvenile=True).steps] == [75.0]


@settings(max_examples=200, deadline=None)
@given(drug=st.sampled_from(["methotrexate", "azathioprine", "mycophenolate", "ciclosporin", "tacrolimus",
                             "rituximab", "cyclophosphamide", "tocilizumab", "ivig"]),
       weight=st.floats(10.0, 150.0), height=st.floats(140.0, 205.0), sex=st.sampled_from(["female", "male"]),
       juvenile=st.booleans())
def test_every_dose_can_be_given_and_no_cap_is_passed(agents, drug, weight, height, sex, juvenile):
    rules = agents[drug]
    dosed_on = dosing_weight_kg(rules, weight, None if juvenile else height, sex)
    assert dosed_on <= weight
    cap = min(rules.max_mg_per_kg * dosed_on if rules.max_mg_per_kg else math.inf, rules.max_dose or math.inf)
    for step in schedule(rules, dosed_on, juvenile).steps:
        if step.dose > 0:
            amount = step.dose * (rules.days_per_infusion if rules.kind == "infusions" else 1)
            below_one_unit = cap < rules.round_to and math.isclose(amount, cap)  # (a small child's liquid)
            assert below_one_unit or abs(amount / rules.round_to - round(amount / rules.round_to)) < 1e-6
            assert amount <= cap + 1e-6


def test_ivig_never_gives_a_second_course_within_a_dosing_interval(refractory_run):
    ivig = refractory_run["doses"][refractory_run["doses"].drug == "ivig"].sort_values(["patient_id", "start_day"])
    gaps = ivig.groupby("patient_id").start_day.diff().dropna()
    assert len(gaps) > 500 and gaps.min() >= 28.0 - 1e-6
