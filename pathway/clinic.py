"""What the clinician decides at an assessment, from what the assessment measured.

Clinical rules only (no time, no chance): the engine measures the disease and asks
`decide` what follows. Seed 003: induction is tapered "according to clinical response";
escalate when refractory; seed 001: agents take 3-6 months, so failure is judged over
months, while a patient with less than minimal improvement by the line's early window,
or a second flare on the same line, escalates sooner.
"""

from __future__ import annotations

from dataclasses import dataclass

from iimsim.pathway.definition import TREATMENT_LINE_STATES

LINE_STATES = frozenset(TREATMENT_LINE_STATES)
# Decisions that are not machine triggers: what the taper does.
TAPER, HOLD, OBSERVE = "taper", "hold", "observe"


@dataclass(frozen=True)
class ClinicRules:
    remission_activity: float  # measured activity at or below this: remission (scenario's criterion) ...
    remission_max_prednisone_mg_per_day: float  # ... on no more glucocorticoid than this
    low_activity: float  # at or below this the disease is controlled and the taper goes on
    improving_fraction: float  # measured activity down by this fraction since the last visit: improving
    flare_rise: float  # measured activity this far above its lowest since the episode began: a flare


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


def improving(rules: ClinicRules, seen: Seen) -> bool:
    return (seen.activity <= rules.low_activity
            or seen.activity <= seen.previous_activity * (1.0 - rules.improving_fraction))


def decide(rules: ClinicRules, state: str, seen: Seen, windows: LineWindows | None,
           minimal_tis: float, moderate_tis: float) -> str:
    """A machine trigger (`respond`, `fail`, `flare`, `withdraw`, `relapse`) or what the taper does."""
    flaring = seen.activity - seen.lowest_activity >= rules.flare_rise
    if state in LINE_STATES:
        if (seen.activity <= rules.remission_activity
                and seen.prednisone_mg_per_day <= rules.remission_max_prednisone_mg_per_day):
            return "respond"
        if flaring:
            # A flare during the taper steps the dose back up; a second on the same line, or one after
            # the line's failure window, means the line has failed.
            late = seen.days_on_line >= windows.failure_assessment_days
            return "fail" if seen.flares_on_line >= 1 or late else "flare"
        if seen.days_on_line >= windows.minimal_improvement_by_days and seen.tis_from_line_start < minimal_tis:
            return "fail"
        better = improving(rules, seen)
        if seen.days_on_line >= windows.failure_assessment_days and (
                seen.tis_from_line_start < moderate_tis or not better):
            return "fail"
        if seen.days_on_line >= windows.max_days_on_line:
            return "fail"
        return TAPER if better else HOLD
    if state == "maintenance":
        if flaring and seen.activity > rules.remission_activity:
            return "flare"
        if seen.withdrawal_due and seen.activity <= rules.remission_activity:
            return "withdraw"
        return TAPER if improving(rules, seen) else HOLD
    if state == "drug_free_remission":
        return "relapse" if flaring and seen.activity > rules.remission_activity else OBSERVE
    return OBSERVE


# Why `decide` decided as it did, in the terms it judged by (the line's start, the diagnosis, the line's windows),
# for the assessments table and the patient's story. Each reason implies one decision (DECISION_OF_REASON); a test
# checks that `reason` and `decide` agree on every kind of visit.
DECISION_OF_REASON = {
    "remission": "respond", "second_flare": "fail", "flare_after_failure_assessment": "fail", "flare": "flare",
    "below_minimal": "fail", "below_moderate_at_failure_assessment": "fail",
    "not_improving_at_failure_assessment": "fail", "a_year_without_remission": "fail", "improving": TAPER,
    "stalled": HOLD, "withdrawal_due": "withdraw", "relapse": "relapse", "observe": OBSERVE, "baseline": "baseline",
}
REASONS = tuple(DECISION_OF_REASON)


def reason(rules: ClinicRules, state: str, seen: Seen, windows: LineWindows | None, minimal_tis: float,
           moderate_tis: float) -> str:
    """The rule `decide` applied at this visit (one of REASONS)."""
    flaring = seen.activity - seen.lowest_activity >= rules.flare_rise
    if state in LINE_STATES:
        if (seen.activity <= rules.remission_activity
                and seen.prednisone_mg_per_day <= rules.remission_max_prednisone_mg_per_day):
            return "remission"
        if flaring:
            if seen.flares_on_line >= 1:
                return "second_flare"
            return "flare_after_failure_assessment" if seen.days_on_line >= windows.failure_assessment_days else "flare"
        if seen.days_on_line >= windows.minimal_improvement_by_days and seen.tis_from_line_start < minimal_tis:
            return "below_minimal"
        better = improving(rules, seen)
        if seen.days_on_line >= windows.failure_assessment_days:
            if seen.tis_from_line_start < moderate_tis:
                return "below_moderate_at_failure_assessment"
            if not better:
                return "not_improving_at_failure_assessment"
        if seen.days_on_line >= windows.max_days_on_line:
            return "a_year_without_remission"
        return "improving" if better else "stalled"
    if state == "maintenance":
        if flaring and seen.activity > rules.remission_activity:
            return "flare"
        if seen.withdrawal_due and seen.activity <= rules.remission_activity:
            return "withdrawal_due"
        return "improving" if improving(rules, seen) else "stalled"
    if state == "drug_free_remission":
        return "relapse" if flaring and seen.activity > rules.remission_activity else "observe"
    return "observe"
