"""PJP prophylaxis follows every combination that needs it (Praxis Medical Insights, Treatment of Inflammatory
Myopathy, 2025: "Pneumocystis prophylaxis when using multiple immunosuppressants"), cyclophosphamide included."""

import numpy as np
import pytest
from iimsim.pathway.care import IMMUNOSUPPRESSANTS, pjp_prophylaxis_until

from tests.conftest import simulate


@pytest.fixture(scope="module")
def run():
    shares = {"DM": 0.3, "PM": 0.15, "IMNM_HMGCR": 0.1, "IMNM_SRP": 0.1, "ASS": 0.25, "IBM": 0.0, "JDM": 0.1}
    return simulate("baseline", patients=1200, seed=12, overrides={"cohort": {
        "subtype_shares": shares, "p_ild": {s: 0.4 for s in shares}}})


def _covered(events, patient_id, day):
    pjp = events[(events.patient_id == patient_id) & events.event.isin(["pjp_prophylaxis_start",
                                                                        "pjp_prophylaxis_stop"])]
    before = pjp[pjp.day <= day + 1e-9]
    return len(before) > 0 and before.event.iloc[-1] == "pjp_prophylaxis_start"


def test_every_cyclophosphamide_infusion_is_given_under_pjp_prophylaxis(run):
    cyc = run["doses"][run["doses"].drug == "cyclophosphamide"]
    assert len(cyc) > 200
    assert all(_covered(run["events"], r.patient_id, r.start_day) for r in cyc.itertuples())


def test_two_immunosuppressants_together_are_given_under_pjp_prophylaxis(run):
    doses, events = run["doses"], run["events"]
    oral = doses[doses.drug.isin(IMMUNOSUPPRESSANTS) & (doses.route != "iv")]
    checked = 0
    for patient_id, rows in oral.groupby("patient_id"):
        for row in rows.itertuples():
            others = rows[(rows.drug != row.drug) & (rows.start_day <= row.start_day) & (rows.end_day > row.start_day)]
            if len(others):
                assert _covered(events, patient_id, row.start_day), (patient_id, row.start_day, row.drug)
                checked += 1
    assert checked > 50


def test_prophylaxis_events_alternate_and_say_why(run):
    pjp = run["events"][run["events"].event.isin(["pjp_prophylaxis_start", "pjp_prophylaxis_stop"])]
    for _, rows in pjp.groupby("patient_id"):
        kinds = rows.event.to_numpy()
        assert kinds[0] == "pjp_prophylaxis_start" and (kinds[1:] != kinds[:-1]).all()
    assert pjp.detail.str.startswith("immunosuppressants together").any()


def test_the_need_ends_with_the_second_agent_or_cyclophosphamide():
    inf = np.inf
    assert pjp_prophylaxis_until([("methotrexate", inf)]) == -inf
    assert pjp_prophylaxis_until([("methotrexate", inf), ("ivig", 200.0)]) == -inf  # IVIG is no immunosuppressant
    assert pjp_prophylaxis_until([("mycophenolate", inf), ("rituximab", 195.0)]) == 195.0
    assert pjp_prophylaxis_until([("cyclophosphamide", 231.0)]) == 231.0
    assert pjp_prophylaxis_until([("cyclophosphamide", 231.0), ("azathioprine", inf)]) == 231.0
