"""Dose steps and schedules: the constant-rate pieces every drug's course is made of."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, fields, replace

# The patients table's `days_to_pred_le_5mg` threshold, prednisone-equivalent.
LOW_DOSE_MG_PER_DAY = 5.0


def hash_once(rules) -> int:
    """`__hash__` for frozen rules that key the schedule caches at every course started: the fields
    are hashed once, not one by one at each lookup."""
    cached = rules.__dict__.get("_hash")
    if cached is None:
        cached = hash(tuple(getattr(rules, f.name) for f in fields(rules)))
        object.__setattr__(rules, "_hash", cached)
    return cached


def dispensable(dose: float, round_to: float | None, cap: float = math.inf) -> float:
    """A dose as it can be given: the nearest multiple of `round_to` (a tablet, capsule, syringe or vial), at least
    one; where `cap` binds (the dose, or its rounding, above it), the multiple at or below the cap."""
    if round_to is None:
        return round(min(dose, cap), 6)
    units = max(1, math.floor(dose / round_to + 0.5))
    if dose > cap or units * round_to > cap + 1e-9:
        units = max(1, math.floor(cap / round_to + 1e-9)) if cap >= round_to else 0
        if units == 0:
            return round(cap, 6)  # (a cap below one unit, a small child's: a liquid, given as the cap)
    return round(units * round_to, 6)


@dataclass(frozen=True)
class DoseStep:
    """One constant-rate stretch of a schedule, `offset_days` after the schedule starts."""

    offset_days: float
    drug: str
    route: str
    dose: float
    dose_unit: str
    prednisone_eq_mg_per_day: float


# Every distinct dose step, numbered: tables are built from step numbers, not objects.
STEP_REGISTRY: list[DoseStep] = []
_STEP_NUMBERS: dict[DoseStep, int] = {}


def step_number(step: DoseStep) -> int:
    number = _STEP_NUMBERS.get(step)
    if number is None:
        number = _STEP_NUMBERS[step] = len(STEP_REGISTRY)
        STEP_REGISTRY.append(step)
    return number


class Schedule:
    """A course's steps, with what writing its rows needs worked out once.

    Rows are the steps with a dose above 0 (a 0 step is a gap between infusions, or
    the end of a glucocorticoid taper); each row ends where the next step begins.
    Schedules are cached and shared by many patients, so this is done once each.
    """

    __slots__ = ("steps", "offsets", "prednisone_eq", "row_steps", "row_numbers", "row_offsets", "row_ends", "first_low_offset",
                 "iv_rows", "_tails", "__weakref__")

    def __init__(self, steps: tuple[DoseStep, ...]) -> None:
        self.steps = steps
        self.offsets = tuple(step.offset_days for step in steps)
        self.prednisone_eq = tuple(step.prednisone_eq_mg_per_day for step in steps)
        rows = [i for i, step in enumerate(steps) if step.dose > 0]
        self.row_steps = tuple(steps[i] for i in rows)
        self.row_numbers = tuple(step_number(step) for step in self.row_steps)
        self.row_offsets = tuple(steps[i].offset_days for i in rows)
        self.row_ends = tuple(steps[i + 1].offset_days if i + 1 < len(steps) else math.inf for i in rows)
        # For glucocorticoids: when the dose first falls to the low dose or stops.
        self.first_low_offset = next(
            (s.offset_days for s in steps
             if s.dose <= 0 or s.prednisone_eq_mg_per_day <= LOW_DOSE_MG_PER_DAY), math.inf)
        # Rows given in an infusion chair: each is one visit of whole-day sessions.
        self.iv_rows = tuple(i for i, step in enumerate(self.row_steps) if step.route == "iv")
        self._tails: dict[int, Schedule] = {}

    def step_at(self, offset_days: float) -> DoseStep | None:
        """The step in force `offset_days` after the start (None before the first)."""
        i = bisect_right(self.offsets, offset_days) - 1
        return self.steps[i] if i >= 0 else None

    def tail(self, row: int) -> Schedule:
        """The schedule from row `row` on, starting at offset 0: what is left of a course whose
        visit `row` was given late (the rest of the course moves with it)."""
        tail = self._tails.get(row)
        if tail is None:
            first = self.steps.index(self.row_steps[row])
            base = self.row_offsets[row]
            tail = self._tails[row] = Schedule(tuple(replace(s, offset_days=s.offset_days - base)
                                                     for s in self.steps[first:]))
        return tail
