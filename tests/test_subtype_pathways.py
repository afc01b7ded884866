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
    p, doses, events = ibm_run["patients"], ibm_run["doses"], ibm_run["events"]
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
