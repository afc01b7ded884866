"""What the clinician decides at an assessment, from what the assessment measured.

Clinical rules only (no time, no chance): the engine measures the disease and asks
`decide` what follows. BMJ Best Practice: induction is tapered "according to clinical response";
escalate when refractory; Praxis: agents take 3-6 months, so failure is judged over
months, while a patient with less than minimal improvement by the line's early window,
or a second flare on the same line, escalates sooner.
"""

from __future__ import annotations

from dataclasses import dataclass

from iimsim.pathway.definition import TREATMENT_LINE_STATES

LINE_STATES = frozenset(TREATMENT_LINE_STATES)
# Decisions that are not machine triggers: what the taper does, and IVIG added for steroid-resistant disease.
TAPER, HOLD, OBSERVE, ADD_IVIG, STOP_GLUCOCORTICOID = "taper", "hold", "observe", "add_ivig", "stop_glucocorticoid"
# How hard a flare (or the activity at a failure or relapse) is answered with glucocorticoid.
STEP_BACK, HIGH_DOSE, PULSE = "step_back", "high_dose", "pulse"


@dataclass(frozen=True)
class ClinicRules:
    remission_activity: float  # measured activity at or below this: remission (scenario's criterion) ...
    remission_max_prednisone_mg_per_day: float  # ... on no more glucocorticoid than this
    low_activity: float  # at or below this the disease is controlled and the taper goes on
    improving_fraction: float  # measured activity down by this fraction since the last visit: improving
    flare_rise: float  # measured activity this far above its lowest since the episode began: a flare
    taper_max_activity: float  # above this the taper does not go on, even while improving
    response_fall_fraction: float  # measured activity down by this fraction since the line began: a response
    high_dose_mg_per_day: float  # a flare on more than this means the line does not control the disease
    flare_high_dose_activity: float  # a flare (or failure, relapse) at or above this activity: back to a high dose
    flare_pulse_activity: float  # ... at or above this: an IV pulse first (disease as severe as at diagnosis)


@dataclass(frozen=True)
class LineWindows:
    minimal_improvement_by_days: float  # less than minimal improvement (TIS) by then: fail
    failure_assessment_days: float  # not in remission by then and not still improving: fail
    max_days_on_line: float  # not in remission by then: fail


@dataclass(slots=True)
class Seen:
    """What an assessment found (measured values, not the true activity)."""

    activity: float
    previous_activity: float  # at the last assessment in this episode
    lowest_activity: float  # lowest measured since the episode began
    tis_from_line_start: float
    prednisone_mg_per_day: float  # the glucocorticoid dose on the day (prednisone-equivalent)
    days_on_line: float
    flares_on_line: int
    withdrawal_due: bool
    line_start_activity: float  # measured when the line began
    review: int  # 0: not an induction review; 1: the first (2 weeks); 2: the last (4 weeks)
    ivig_if_resistant: bool  # IVIG would be added for steroid-resistant disease at the last review
    glucocorticoid_stop_due: bool  # in remission long enough, on the low maintenance dose, not steroid-dependent
    withdrawing_glucocorticoid: bool  # the glucocorticoid is being (or has been) withdrawn in this remission
    hold_allowed: bool  # today's dose may be held (not a high dose past its induction weeks)


def improving(rules: ClinicRules, seen: Seen) -> bool:
    return (seen.activity <= rules.low_activity
            or seen.activity <= seen.previous_activity * (1.0 - rules.improving_fraction))


def responded(rules: ClinicRules, seen: Seen) -> bool:
    """Controlled, or clearly better than when the line began."""
    return (seen.activity <= rules.low_activity
            or seen.activity <= seen.line_start_activity * (1.0 - rules.response_fall_fraction))


def taper_goes_on(rules: ClinicRules, seen: Seen) -> bool:
    """The taper takes its next steps while the disease is controlled, or improving and no longer highly active;
    it is held while improvement stalls (the course holds only doses a stall may hold: pathway/glucocorticoids)."""
    if seen.review:  # the induction reviews: the first step comes after 2-4 weeks according to the response
        return responded(rules, seen)
    return seen.activity <= rules.low_activity or (improving(rules, seen) and seen.activity <= rules.taper_max_activity)


def glucocorticoid_answer(rules: ClinicRules, measured_activity: float) -> str:
    """How a flare, a failure or a relapse is answered with glucocorticoid, by how active the disease is: back a
    step or two, back to a high dose, or an IV pulse first (BMJ Best Practice: pulses for severe disease)."""
    if measured_activity >= rules.flare_pulse_activity:
        return PULSE
    if measured_activity >= rules.flare_high_dose_activity:
        return HIGH_DOSE
    return STEP_BACK


# What the clinician decides, and why: each rule (a reason) implies one decision; the assessments table and the
# patient's story record the reason, so a decision says what it was judged against (the line's start, the
# diagnosis, the line's windows, the flare's rise).
DECISION_OF_REASON = {
    "remission": "respond", "second_flare": "fail", "flare_after_failure_assessment": "fail",
    "flare_on_high_dose": "fail", "flare": "flare", "below_minimal": "fail",
    "below_moderate_at_failure_assessment": "fail", "not_improving_at_failure_assessment": "fail",
    "a_year_without_remission": "fail", "steroid_resistant": ADD_IVIG, "improving": TAPER,
    "high_dose_not_held": TAPER, "stalled": HOLD, "rebound": "rebound", "withdrawal_due": "withdraw",
    "glucocorticoid_stop_due": STOP_GLUCOCORTICOID, "relapse": "relapse", "observe": OBSERVE, "baseline": "baseline",
}
REASONS = tuple(DECISION_OF_REASON)


def reason(rules: ClinicRules, state: str, seen: Seen, windows: LineWindows | None, minimal_tis: float,
           moderate_tis: float) -> str:
    """The rule that applies at this visit (one of REASONS)."""
    # worse by the flare criterion since the episode's best, and active again (a rise that stays controlled is
    # not a flare)
    flaring = seen.activity - seen.lowest_activity >= rules.flare_rise and seen.activity > rules.low_activity
    if state in LINE_STATES:
        if (seen.activity <= rules.remission_activity
                and seen.prednisone_mg_per_day <= rules.remission_max_prednisone_mg_per_day):
            return "remission"
        if flaring:
            # A flare during the taper steps the dose back up; a second on the same line, one after the line's
            # failure window, or one on a high dose means the line has failed.
            if seen.flares_on_line >= 1:
                return "second_flare"
            if seen.days_on_line >= windows.failure_assessment_days:
                return "flare_after_failure_assessment"
            return "flare_on_high_dose" if seen.prednisone_mg_per_day > rules.high_dose_mg_per_day else "flare"
        if seen.days_on_line >= windows.minimal_improvement_by_days and seen.tis_from_line_start < minimal_tis:
            return "below_minimal"
        if seen.days_on_line >= windows.failure_assessment_days:
            if seen.tis_from_line_start < moderate_tis:
                return "below_moderate_at_failure_assessment"
            if not improving(rules, seen):
                return "not_improving_at_failure_assessment"
        if seen.days_on_line >= windows.max_days_on_line:
            return "a_year_without_remission"
        if seen.review == 2 and seen.ivig_if_resistant and not responded(rules, seen):
            # No response to high-dose glucocorticoid by 4 weeks: steroid-resistant disease, an indication for
            # IVIG (Praxis); the high dose is not continued (the taper goes on).
            return "steroid_resistant"
        if taper_goes_on(rules, seen):
            return "improving"
        return "stalled" if seen.hold_allowed else "high_dose_not_held"
    if state == "maintenance":
        if flaring and seen.activity > rules.remission_activity:
            # mild and as the glucocorticoid comes off: steroid-dependent, back to the lowest dose that held it;
            # otherwise the flare escalates beyond the line that brought remission
            mild = seen.activity < rules.flare_high_dose_activity
            return "rebound" if seen.withdrawing_glucocorticoid and mild else "flare"
        if seen.activity <= rules.remission_activity:
            if seen.withdrawal_due:
                return "withdrawal_due"
            if seen.glucocorticoid_stop_due:
                return "glucocorticoid_stop_due"
        return "improving" if improving(rules, seen) else "stalled"
    if state == "drug_free_remission":
        return "relapse" if flaring and seen.activity > rules.remission_activity else "observe"
    return "observe"


def decide(rules: ClinicRules, state: str, seen: Seen, windows: LineWindows | None,
           minimal_tis: float, moderate_tis: float) -> str:
    """A machine trigger (`respond`, `fail`, `flare`, `rebound`, `withdraw`, `relapse`) or what the taper does."""
    return DECISION_OF_REASON[reason(rules, state, seen, windows, minimal_tis, moderate_tis)]
