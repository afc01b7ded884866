"""Subtypes with their own pathway: inclusion body myositis (a trial, judged, then supportive care) and children."""

import numpy as np
import pytest

from tests.conftest import simulate


@pytest.fixture(scope="module")
def ibm_run():
    shares = {"DM": 0.0, "PM": 0.0, "IMNM_HMGCR": 0.0, "IMNM_SRP": 0.0, "ASS": 0.0, "IBM": 1.0, "JDM": 0.0}
    # severe dysphagia in a third: severe IBM, which once had an IV pulse
    return simulate("baseline", patients=400, seed=21, overrides={"cohort": {
        "subtype_shares": shares, "severity": {"p_severe_dysphagia": 0.35}}})


def test_ibm_has_a_trial_of_prednisone_with_methotrexate_no_pulse_and_no_ivig(ibm_run):
    p, doses = ibm_run["patients"], ibm_run["doses"]
    assert (p.severity == "severe").sum() > 80
    assert not (doses.drug == "methylprednisolone").any()
    assert not (doses.drug == "ivig").any() and (p.ivig_g == 0).all()
    assert (p.days_in_iv_pulse == 0).all()
    agents = set(doses.drug) - {"prednisolone"}
    assert agents == {"methotrexate"}


def test_ibm_trial_judged_then_supportive_care_without_glucocorticoid(ibm_run):
    p, doses, events = ibm_run["patients"], ibm_run["doses"], ibm_run["events"]
    assert (p.highest_line == 1).all()
    ended = events[events.is_transition & (events.to_state == "supportive_care")]
    assert len(ended) > 100 and set(ended.from_state) <= {"first_line", "maintenance"}
    for row in ended.head(60).itertuples():
        after = doses[(doses.patient_id == row.patient_id) & (doses.start_day >= row.day - 1e-9)]
        assert set(after.drug) <= {"prednisolone"}  # immunosuppression stopped
        gc = after.sort_values("start_day").prednisone_eq_mg_per_day.to_numpy()
        assert (np.diff(gc) <= 1e-9).all()  # tapered, never raised: off by the end (IBM's floor is 0)


@pytest.fixture(scope="module")
def jdm_run():
    shares = {"DM": 0.0, "PM": 0.0, "IMNM_HMGCR": 0.0, "IMNM_SRP": 0.0, "ASS": 0.0, "IBM": 0.0, "JDM": 1.0}
    return simulate("baseline", patients=600, seed=22, overrides={"cohort": {"subtype_shares": shares}})


def test_a_childs_weight_follows_a_growth_reference_for_age_and_sex(jdm_run):
    p = jdm_run["patients"]
    assert np.corrcoef(p.age_years, p.weight_kg)[0, 1] > 0.7
    # CDC 2000 medians: about 18 kg at 5 years, 33 kg at 10, 56 kg at 15 (boys), 52 kg (girls)
    for age, median in ((5.0, 18.3), (10.0, 32.5), (14.0, 50.0)):
        near = p[(p.age_years - age).abs() <= 1.5]
        assert len(near) > 25 and abs(near.weight_kg.median() / median - 1.0) < 0.15
    assert p.weight_kg.min() > 9.0 and p.height_cm.isna().all()


def test_children_have_childrens_comorbidity_rates_and_no_bisphosphonate(jdm_run):
    p, events = jdm_run["patients"], jdm_run["events"]
    assert p.has_diabetes.mean() < 0.02 and not p.has_osteoporosis.any() and not p.has_glaucoma.any()
    bone = events[events.event == "bone_protection_start"]
    assert len(bone) == len(p) and not bone.detail.str.contains("bisphosphonate").any()


def test_a_childs_iv_pulse_is_30_mg_per_kg_at_most_1_g(jdm_run):
    p = jdm_run["patients"].set_index("patient_id")
    pulse = jdm_run["doses"][jdm_run["doses"].drug == "methylprednisolone"]
    assert len(pulse) > 50
    weight = p.loc[pulse.patient_id, "weight_kg"].to_numpy()
    assert np.allclose(pulse.dose, np.minimum(np.floor(30.0 * weight / 10.0 + 0.5) * 10.0, 1000.0))
    assert (pulse.dose < 1000.0).mean() > 0.5  # most children are under 33 kg
    assert np.allclose(pulse.prednisone_eq_mg_per_day, 1.25 * pulse.dose)


def test_glucocorticoid_rows_after_the_pulse_are_not_labelled_iv_pulse(jdm_run):
    doses = jdm_run["doses"]
    assert (doses.state == "iv_pulse").any()
    assert not ((doses.state == "iv_pulse") & (doses.start_day > 5.0)).any()  # the pulse is at most 5 days
