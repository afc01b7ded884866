"""What a decision was judged against: the assessments table's reason, and the story that says it in words."""

from hypothesis import given, settings
from hypothesis import strategies as st
from iimsim.pathway.clinic import DECISION_OF_REASON, ClinicRules, LineWindows, Seen, decide, reason
from iimsim.reports.patient_story import narrative

from tests.conftest import simulate

RULES = ClinicRules(remission_activity=0.1, remission_max_prednisone_mg_per_day=5.0, low_activity=0.15,
                    improving_fraction=0.1, flare_rise=0.1, taper_max_activity=0.35, response_fall_fraction=0.25,
                    high_dose_mg_per_day=30.0, flare_high_dose_activity=0.35, flare_pulse_activity=0.6)
WINDOWS = LineWindows(84.0, 180.0, 365.0)


@settings(max_examples=500, deadline=None)
@given(state=st.sampled_from(["first_line", "third_line", "maintenance", "drug_free_remission", "supportive_care",
                              "iv_pulse"]),
       activity=st.floats(0, 1), previous=st.floats(0, 1), lowest=st.floats(0, 1), tis=st.floats(0, 100),
       dose=st.floats(0, 80), days=st.floats(0, 500), flares=st.integers(0, 2), flags=st.lists(st.booleans(),
                                                                                               min_size=5, max_size=5),
       start=st.floats(0, 1), review=st.integers(0, 2), juvenile=st.booleans())
def test_every_decision_keeps_the_clinical_rules(state, activity, previous, lowest, tis, dose, days, flares, flags,
                                                 start, review, juvenile):
    """Over any visit: the decision is the one its recorded reason names, and it keeps the rules it stands for."""
    withdrawal, resistant, stop_due, withdrawing, hold_allowed = flags
    seen = Seen(activity, previous, min(lowest, activity), tis, dose, days, flares, withdrawal, start, review,
                resistant, stop_due, withdrawing, hold_allowed)
    minimal, moderate = (30.0, 45.0) if juvenile else (20.0, 40.0)
    windows = WINDOWS if state in ("first_line", "third_line") else None
    why = reason(RULES, state, seen, windows, minimal, moderate)
    decision = decide(RULES, state, seen, windows, minimal, moderate)
    assert DECISION_OF_REASON[why] == decision
    rise = activity - min(lowest, activity)
    if decision == "respond":
        assert activity <= RULES.remission_activity and dose <= RULES.remission_max_prednisone_mg_per_day
    if decision in ("flare", "rebound", "relapse") or why in ("second_flare", "flare_on_high_dose"):
        assert rise >= RULES.flare_rise and activity > RULES.low_activity
    if decision == "flare" and state != "maintenance":
        assert flares == 0 and dose <= RULES.high_dose_mg_per_day
    if decision == "hold" and state != "maintenance":
        assert hold_allowed
    if decision == "add_ivig":
        assert review == 2 and resistant and state in ("first_line", "third_line")
    if decision in ("stop_glucocorticoid", "withdraw", "rebound"):
        assert state == "maintenance"
    if decision == "stop_glucocorticoid":
        assert stop_due and activity <= RULES.remission_activity


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
