"""Subcutaneous immunoglobulin (SCIG) at home for the rest of an IVIG course: who switches, and the dose.

Who: a patient whose IVIG course is under way when the disease reaches remission (stable and responding: not
in a line's induction, not in a flare), and who is among the scenario's share of such patients who switch. The
course's first `after_ivig_infusions` infusions (its induction) are given in the chair whatever happens; the
rest at home. Subcutaneous immunoglobulin is
licensed as maintenance therapy after stabilisation with IVIG (Hizentra and HyQvia product information, CIDP);
in myositis it has been given at home in place of monthly IVIG (Danieli et al., Autoimmun Rev 2011;10:144-9).

The dose: each remaining infusion's grams times `scig_g_per_ivig_g`, split into equal doses every
`dose_interval_days` over that infusion's interval (Danieli 2011: the usual monthly IVIG dose in equal weekly
doses). The doses are given at home: no infusion chair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from iimsim.pathway.dosing import DoseStep, Schedule, hash_once

SCIG = "scig"  # the drug of the dose rows given under the skin at home (the course is still IVIG's)
SCIG_ROUTE = "subcutaneous"
DOSE_DAYS = 1.0  # a dose at home is written as one day's row (it takes an hour or two)


@dataclass(frozen=True)
class ScigRules:
    share_of_eligible: float  # of patients eligible on entering remission, the share who switch (0-1)
    after_ivig_infusions: int  # infusions of the course given in the chair first (the induction)
    scig_g_per_ivig_g: float  # SCIG grams given for each IVIG gram they replace
    dose_interval_days: float  # days between doses at home

    __hash__ = hash_once

    @classmethod
    def from_scenario(cls, section) -> ScigRules:
        return cls(**{name: getattr(section, name) for name in cls.__dataclass_fields__})


def first_at_home(rules: ScigRules, u: float, infusions_given: int, infusions: int) -> int | None:
    """Decided on entering remission with `infusions_given` of an IVIG course's `infusions` given: the first of
    them given at home (after the induction's in the chair), or None: the patient (uniform `u`) is not among the
    share who switch, or the course has no infusion left after its induction."""
    first = max(infusions_given, rules.after_ivig_infusions)
    return first if first < infusions and u < rules.share_of_eligible else None


def at_home(schedule: Schedule) -> bool:
    """Whether a course's schedule gives doses at home (it was switched to SCIG)."""
    return any(step.drug == SCIG for step in schedule.row_steps)


def doses_per_interval(rules: ScigRules, interval_days: float) -> int:
    return max(1, round(interval_days / rules.dose_interval_days))


@lru_cache(maxsize=16384)
def at_home_from(schedule: Schedule, row: int, rules: ScigRules, interval_days: float) -> Schedule:
    """An IVIG course's `schedule` with its infusions from row `row` on given as SCIG at home: each one's grams x
    `scig_g_per_ivig_g` in equal doses every `dose_interval_days` over its `interval_days`."""
    first = schedule.steps.index(schedule.row_steps[row])
    steps = list(schedule.steps[:first])
    count = doses_per_interval(rules, interval_days)
    for r in range(row, len(schedule.row_steps)):
        infusion = schedule.row_steps[r]
        grams = infusion.dose * (schedule.row_ends[r] - schedule.row_offsets[r])  # a rate in g/day over its days
        per_dose = round(grams * rules.scig_g_per_ivig_g / count, 6)
        for k in range(count):
            day = schedule.row_offsets[r] + k * rules.dose_interval_days
            steps.append(DoseStep(day, SCIG, SCIG_ROUTE, per_dose, infusion.dose_unit, math.nan))
            steps.append(DoseStep(day + DOSE_DAYS, SCIG, SCIG_ROUTE, 0.0, infusion.dose_unit, math.nan))
    return Schedule(tuple(steps))
