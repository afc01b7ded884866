"""Steps the sources name, each an event with its cost: folic acid with methotrexate, the statin stopped in
statin-associated anti-HMGCR myopathy, cancer screening at diagnosis (IMACS 2023)."""

import pytest
from iimsim.reports.costs import compute_costs
from iimsim.scenarios.loader import load_scenario

from tests.conftest import simulate


@pytest.fixture(scope="module")
def run():
    return simulate("baseline", patients=800, seed=31)


def test_folic_acid_starts_with_methotrexate(run):
    doses, events = run["doses"], run["events"]
    mtx = doses[doses.drug == "methotrexate"].groupby("patient_id").start_day.min()
    folic = events[events.event == "folic_acid"].set_index("patient_id").day
    assert len(mtx) > 200 and set(folic.index) == set(mtx.index)
    assert (folic.loc[mtx.index] <= mtx + 1e-9).all()


def test_the_statin_is_stopped_at_diagnosis_in_statin_associated_anti_hmgcr_myopathy(run):
    p, events = run["patients"], run["events"]
    stopped = events[events.event == "statin_withdrawal"]
    assert set(stopped.patient_id) == set(p.loc[p.statin_exposed, "patient_id"])
    assert (stopped.day == 0).all() and set(p.loc[p.statin_exposed, "subtype"]) == {"IMNM_HMGCR"}
    share = p.loc[p.subtype == "IMNM_HMGCR", "statin_exposed"].mean()
    assert 0.45 < share < 0.85


def test_every_adult_is_screened_for_cancer_at_diagnosis_dm_and_the_older_with_the_enhanced_panel(run):
    p, events = run["patients"].set_index("patient_id"), run["events"]
    basic = set(events.loc[events.event == "cancer_screening", "patient_id"])
    enhanced = set(events.loc[events.event == "enhanced_cancer_screening", "patient_id"])
    adults = set(p.index[p.subtype != "JDM"])
    assert basic == adults
    assert enhanced == set(p.index[(p.subtype == "DM") | ((p.age_years >= 40) & (p.subtype != "JDM"))])
    assert (events.loc[events.event.isin(["cancer_screening", "enhanced_cancer_screening"]), "day"] == 0).all()


def test_the_new_steps_are_costed(run):
    costs = load_scenario("baseline").costs
    free = costs.model_copy(update={"care_step": {**costs.care_step, "folic_acid": 0.0, "cancer_screening": 0.0,
                                                  "enhanced_cancer_screening": 0.0}})
    priced, unpriced = (compute_costs(run, c, 5 * 365.25, by_year=False)[0].care_cost.sum() for c in (costs, free))
    events = run["events"]
    expected = (10.0 * (events.event == "folic_acid").sum() + 150.0 * (events.event == "cancer_screening").sum()
                + 900.0 * (events.event == "enhanced_cancer_screening").sum())
    assert expected > 0 and priced - unpriced == pytest.approx(expected)
