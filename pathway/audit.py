"""The three pitfalls Praxis names, detected per patient.

1. glucocorticoid monotherapy: first-line induction without a steroid-sparing agent;
2. a delayed steroid-sparing agent: started later than the allowed delay after the
   first glucocorticoid dose (Praxis: day one), or never while on glucocorticoid;
3. high-dose glucocorticoid beyond 4 weeks: a dose above 30 mg/day held, untapered, longer than allowed (the
   days actually given, from the dose rows: a stall, a flare or an escalation can hold one as well as the
   induction).
"""

from __future__ import annotations

from dataclasses import dataclass

AUDIT_COLUMNS = ("audit_gc_monotherapy", "audit_delayed_sparing_agent", "audit_high_dose_beyond_4_weeks")


@dataclass(frozen=True)
class AuditRules:
    sparing_agent_max_delay_days: float
    high_dose_max_days: float


def audit_flags(rules: AuditRules, first_line_sparing_agent: bool, first_sparing_agent_day: float | None,
                first_gc_day: float) -> tuple[bool, bool]:
    """The first two pitfalls; the third is `high_dose_held_too_long`, from the days actually given."""
    monotherapy = not first_line_sparing_agent
    delayed = (first_sparing_agent_day is None
               or first_sparing_agent_day - first_gc_day > rules.sparing_agent_max_delay_days)
    return monotherapy, delayed


def high_dose_held_too_long(rules: AuditRules, longest_high_dose_hold_days):
    """Pitfall 3: a high dose held, untapered, longer than allowed (works on a number or an array)."""
    return longest_high_dose_hold_days > rules.high_dose_max_days + 1e-6  # (rounding of the days' sums)
