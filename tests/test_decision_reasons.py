"""What a decision was judged against: the assessments table's reason, and the story that says it in words."""

from hypothesis import given, settings
from hypothesis import strategies as st
from iimsim.pathway.clinic import DECISION_OF_REASON, ClinicRules, LineWindows, Seen, decide, reason
from iimsim.reports.patient_story import narrative

from tests.conftest import simulate

RULES = ClinicRules(remission_activity=0.1, remission_max_prednisone_mg_per_day=5.0, low_activity=0.15,
                    improving_fraction=0.1, flare_rise=0.1)
WINDOWS = LineWindows(84.0, 180.0, 365.0)


@settings(max_examples=500, deadline=None)
@given(state=st.sampled_from(["first_line", "third_line", "maintenance", "drug_free_remission", "supportive_care",
                              "iv_pulse"]),
       activity=st.floats(0, 1), previous=st.floats(0, 1), lowest=st.floats(0, 1), tis=st.floats(0, 100),
       dose=st.floats(0, 80), days=st.floats(0, 500), flares=st.integers(0, 2), withdrawal=st.booleans(),
       juvenile=st.booleans())
def test_the_reason_recorded_is_the_rule_decide_applied(state, activity, previous, lowest, tis, dose, days, flares,
                                                        withdrawal, juvenile):
    seen = Seen(activity, previous, min(lowest, activity), tis, dose, days, flares, withdrawal)
    minimal, moderate = (30.0, 45.0) if juvenile else (20.0, 40.0)
    windows = WINDOWS if state in ("first_line", "third_line") else None
    decision = decide(RULES, state, seen, windows, minimal, moderate)
    assert DECISION_OF_REASON[reason(RULES, state, seen, windows, minimal, moderate)] == decision


def test_every_assessment_says_which_rule_its_decision_followed():
    run = simulate("baseline", patients=300, seed=41)
    a = run["assessments"]
    assert (a.reason.map(DECISION_OF_REASON) == a.decision).all()
    assert {"below_minimal", "not_improving_at_failure_assessment", "improving", "remission"} <= set(a.reason)


def test_a_childs_story_says_what_a_failure_with_moderate_improvement_was_judged_against():
    shares = {"DM": 0.0, "PM": 0.0, "IMNM_HMGCR": 0.0, "IMNM_SRP": 0.0, "ASS": 0.0, "IBM": 0.0, "JDM": 1.0}
    run = simulate("baseline", patients=300, seed=42, overrides={"cohort": {"subtype_shares": shares}})
    a = run["assessments"]
    failing = a[(a.decision == "fail") & a.improvement.isin(["moderate", "major"])]
    assert len(failing) > 5
    for row in failing.head(5).itertuples():
        pid = row.patient_id
        weeks = dict(narrative(run["patients"][run["patients"].patient_id == pid].iloc[0],
                               run["events"][run["events"].patient_id == pid],
                               run["doses"][run["doses"].patient_id == pid], a[a.patient_id == pid]))
        text = " ".join(weeks[int(row.day // 7)])
        assert "since the line began in week" in text and "since diagnosis" in text
        assert "judged" in text and ("no longer improving" in text or "flare" in text or "a year" in text)
        assert "Assessment: not responding" in text
