"""Glucocorticoid dosing: start dose and caps, the IV pulse, the Praxis taper.

Pure functions of plain numbers (a `GlucocorticoidRules` built once from the
scenario), so a dose schedule is computed once per distinct start dose and
integrated analytically, never ticked day by day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from iimsim.pathway.dosing import DoseStep, Schedule, dispensable, hash_once

PREDNISOLONE = "prednisolone"
METHYLPREDNISOLONE = "methylprednisolone"
GLUCOCORTICOIDS = (PREDNISOLONE, METHYLPREDNISOLONE)


@dataclass(frozen=True)
class GlucocorticoidRules:
    pulse_methylprednisolone_mg_per_day: float
    pulse_days: int
    methylprednisolone_to_prednisone: float
    standard_mg_per_kg_per_day: float
    steroid_risk_mg_per_kg_per_day: float
    high_relapse_risk_mg_per_kg_per_day: float
    max_mg_per_day: float
    jdm_mg_per_kg_per_day: float
    jdm_max_mg_per_day: float
    dose_rounding_mg: float
    initial_hold_days: float
    initial_hold_max_days: float
    taper_ladder_mg_per_day: tuple[float, ...]
    ladder_step_days: float
    low_dose_decrement_mg: float
    low_dose_step_days: float
    maintenance_mg_per_day: float
    scheme: str
    alternate_day_after_days: float
    flare_mg_per_kg_per_day: float
    flare_hold_days: float
    escalation_mg_per_kg_per_day: float
    escalation_hold_days: float
    supportive_care_mg_per_day: float
    pjp_threshold_mg_per_day: float
    pjp_min_days: float
    high_dose_max_days: float
    high_dose_mg_per_day: float
    taper_slack: float
    taper_pace_sd: float
    partial_response_pace: float
    flare_steps_back: int
    raise_on_escalation: bool

    __hash__ = hash_once

    @classmethod
    def from_scenario(cls, section) -> GlucocorticoidRules:
        values = {name: getattr(section, name) for name in cls.__dataclass_fields__}
        values["taper_ladder_mg_per_day"] = tuple(values["taper_ladder_mg_per_day"])
        values["initial_hold_max_days"] = max(values["initial_hold_max_days"] or 0.0, values["initial_hold_days"])
        return cls(**values)


def round_dose(mg: float, rounding_mg: float) -> float:
    """Nearest multiple of the tablet strength, halves rounded up."""
    return math.floor(mg / rounding_mg + 0.5) * rounding_mg


def cap_mg_per_day(rules: GlucocorticoidRules, juvenile: bool) -> float:
    return rules.jdm_max_mg_per_day if juvenile else rules.max_mg_per_day


def induction_mg_per_kg(rules: GlucocorticoidRules, juvenile: bool, steroid_risk: bool,
                        high_relapse_risk: bool) -> float:
    """BMJ Best Practice: 0.5-1 mg/kg/day, nearer 0.5 with diabetes, osteoporosis or glaucoma,
    nearer 1 at high relapse risk; JDM 2 mg/kg/day (Praxis). Steroid risk wins a tie."""
    if juvenile:
        return rules.jdm_mg_per_kg_per_day
    if steroid_risk:
        return rules.steroid_risk_mg_per_kg_per_day
    if high_relapse_risk:
        return rules.high_relapse_risk_mg_per_kg_per_day
    return rules.standard_mg_per_kg_per_day


def oral_dose_mg_per_day(rules: GlucocorticoidRules, mg_per_kg: float, weight_kg: float,
                         juvenile: bool) -> float:
    """Weight-based prednisolone dose, rounded to the tablet strength, then capped."""
    return min(round_dose(mg_per_kg * weight_kg, rules.dose_rounding_mg), cap_mg_per_day(rules, juvenile))


def pulse_prednisone_eq_mg_per_day(rules: GlucocorticoidRules) -> float:
    return rules.pulse_methylprednisolone_mg_per_day * rules.methylprednisolone_to_prednisone


def taper_pace(rules: GlucocorticoidRules, z: float) -> float:
    """How slowly a clinician walks the ladder: a multiple of its intervals, never below 1 (the Praxis
    ladder is the fastest a taper goes), 1 + slack x a lognormal factor of the clinician's caution `z`; rounded to a
    twentieth so that the schedules stay few (they are cached)."""
    pace = 1.0 + rules.taper_slack * math.exp(rules.taper_pace_sd * z)
    return round(pace * 20) / 20


def _paced(rules: GlucocorticoidRules, step_days: float, dose_mg_per_day: float, pace: float) -> float:
    """A step's interval at the clinician's pace; a high dose's at most `high_dose_max_days` (Praxis: never
    continue high-dose corticosteroids beyond 2-4 weeks)."""
    days = step_days * pace
    if dose_mg_per_day > rules.high_dose_mg_per_day and days > rules.high_dose_max_days:
        return max(step_days, rules.high_dose_max_days)
    return days


def paced_for(rules: GlucocorticoidRules, clinician_pace: float, controlled: bool) -> float:
    """The taper's pace for a disease controlled (the clinician's own) or still only improving (more cautious:
    `partial_response_pace` times it), rounded to a twentieth (the schedules are cached)."""
    return clinician_pace if controlled else round(clinician_pace * rules.partial_response_pace * 20) / 20


def step_interval_days(rules: GlucocorticoidRules, dose_mg_per_day: float, pace: float, induction: bool) -> float:
    """How long a dose is given before the next step down may come: the induction dose at least
    `initial_hold_days` (Praxis: 2-4 weeks, by the response), a rung of the ladder its step, a lower dose the
    low-dose step, each at the clinician's pace."""
    if induction:
        return rules.initial_hold_days
    lowest_rung = rules.taper_ladder_mg_per_day[-1] if rules.taper_ladder_mg_per_day else 0.0
    step = rules.ladder_step_days if dose_mg_per_day > lowest_rung else rules.low_dose_step_days
    return _paced(rules, step, dose_mg_per_day, pace)


def longest_hold_days(rules: GlucocorticoidRules, dose_mg_per_day: float, induction: bool) -> float:
    """How long a stalled improvement may hold a dose: any time at or below the high-dose threshold; a high
    induction dose up to `initial_hold_max_days` from its start (Praxis: never high dose beyond 2-4 weeks);
    another high dose not at all (the taper goes on through it)."""
    if dose_mg_per_day <= rules.high_dose_mg_per_day:
        return math.inf
    return rules.initial_hold_max_days if induction else 0.0


def ladder_doses_mg_per_day(rules: GlucocorticoidRules, top_mg_per_day: float) -> tuple[float, ...]:
    """The doses of the Praxis taper from `top_mg_per_day` down, highest first: the rungs, then the low-dose
    decrements to 0."""
    doses = [top_mg_per_day, *(rung for rung in rules.taper_ladder_mg_per_day if rung < top_mg_per_day)]
    dose = doses[-1]
    while dose > 0:
        dose = max(0.0, round(dose - rules.low_dose_decrement_mg, 6))
        doses.append(dose)
    return tuple(doses)


def steps_up_mg_per_day(rules: GlucocorticoidRules, current_mg_per_day: float, steps: int,
                        top_mg_per_day: float) -> float:
    """The dose `steps` steps above `current_mg_per_day` on the taper from `top_mg_per_day` (a mild flare goes
    back a step or two), never above the top."""
    doses = ladder_doses_mg_per_day(rules, top_mg_per_day)
    below = [i for i, dose in enumerate(doses) if dose <= current_mg_per_day + 1e-9]
    at = below[0] if below else len(doses) - 1
    if doses[at] < current_mg_per_day - 1e-9:  # between two doses of the ladder: the next one up is a step
        at -= 1
        steps -= 1
    return doses[max(0, at - steps)]


@dataclass(frozen=True)
class PulseRules:
    """The IV methylprednisolone pulse's daily dose: an adult's, or a child's by weight with a cap."""

    adult_mg_per_day: float
    jdm_mg_per_kg_per_day: float
    jdm_max_mg_per_day: float
    jdm_round_to_mg: float

    @classmethod
    def from_scenario(cls, section) -> PulseRules:
        return cls(section.pulse_methylprednisolone_mg_per_day, section.jdm_pulse_mg_per_kg_per_day,
                   section.jdm_pulse_max_mg_per_day, section.jdm_pulse_round_to_mg)


def pulse_mg_per_day(rules: PulseRules, weight_kg: float, juvenile: bool) -> float:
    """Methylprednisolone a day of the pulse: a child's by weight, rounded, at most the cap (down to it where it
    binds); an adult's fixed."""
    if not juvenile:
        return rules.adult_mg_per_day
    return dispensable(rules.jdm_mg_per_kg_per_day * weight_kg, rules.jdm_round_to_mg, rules.jdm_max_mg_per_day)


def taper_doses_mg_per_day(rules: GlucocorticoidRules, start_mg: float, hold_days: float,
                           floor_mg: float, pace: float = 1.0) -> tuple[tuple[float, float], ...]:
    """The Praxis taper as (offset_days, mg/day) steps.

    Hold the start dose `hold_days`, then step down the ladder (60, 40, 30, 25, 20),
    each step held `ladder_step_days`; below the ladder, fall by
    `low_dose_decrement_mg` every `low_dose_step_days` to `floor_mg`, held from then
    on. A floor of 0 means off: the last step has dose 0. `pace` multiplies the step
    intervals (not the first hold): above 1, a clinician who tapers more slowly, though
    never so slowly that a high dose is given longer than `high_dose_max_days`.
    """
    steps = [(0.0, start_mg)]
    if start_mg <= floor_mg:
        return tuple(steps)
    day, dose = hold_days, start_mg
    for rung in rules.taper_ladder_mg_per_day:
        if floor_mg < rung < dose:
            steps.append((day, rung))
            day, dose = day + _paced(rules, rules.ladder_step_days, rung, pace), rung
    while dose > floor_mg:
        dose = max(floor_mg, round(dose - rules.low_dose_decrement_mg, 6))
        steps.append((day, dose))
        day += rules.low_dose_step_days * pace
    if hold_days <= 0:  # the start dose has had its time: the course begins with the next step
        steps.pop(0)
    return tuple(steps)


def oral_step(rules: GlucocorticoidRules, offset_days: float, mg_per_day: float,
              alternate_day: bool) -> DoseStep:
    if alternate_day:
        # The polymyositis guideline summary: the same total every other day; the day's average is unchanged.
        return DoseStep(offset_days, PREDNISOLONE, "oral_alternate_day", 2 * mg_per_day, "mg/48h", mg_per_day)
    return DoseStep(offset_days, PREDNISOLONE, "oral", mg_per_day, "mg/day", mg_per_day)


@lru_cache(maxsize=4096)
def oral_schedule(rules: GlucocorticoidRules, start_mg: float, hold_days: float, floor_mg: float,
                  pulse: bool | float, pace: float = 1.0) -> Schedule:
    """A whole glucocorticoid course: an optional IV pulse (`pulse`: True for the adult's, or its methylprednisolone
    mg/day, a child's from `pulse_mg_per_day`; False or 0 for none), then the oral taper.

    Offsets count from the course's first day. With `scheme = "alternate_day"` the oral
    part switches to alternate-day dosing `alternate_day_after_days` into the oral course.
    A final step of 0 mg/day marks the course's end.
    """
    steps: list[DoseStep] = []
    oral_start = 0.0
    if pulse:
        mg = rules.pulse_methylprednisolone_mg_per_day if pulse is True else float(pulse)
        steps.append(DoseStep(0.0, METHYLPREDNISOLONE, "iv", mg, "mg/day",
                              round(mg * rules.methylprednisolone_to_prednisone, 6)))
        oral_start = float(rules.pulse_days)
    switch_day = rules.alternate_day_after_days if rules.scheme == "alternate_day" else math.inf
    taper = taper_doses_mg_per_day(rules, start_mg, hold_days, floor_mg, pace)
    for i, (offset, dose) in enumerate(taper):
        next_offset = taper[i + 1][0] if i + 1 < len(taper) else math.inf
        if offset < switch_day < next_offset and dose > 0:
            steps.append(oral_step(rules, oral_start + offset, dose, False))
            steps.append(oral_step(rules, oral_start + switch_day, dose, True))
        else:
            steps.append(oral_step(rules, oral_start + offset, dose, offset >= switch_day))
    return Schedule(tuple(steps))


@lru_cache(maxsize=4096)
def prophylaxis_needed(rules: GlucocorticoidRules, schedule: Schedule) -> float:
    """Days from the course start that the dose stays at or above the PJP threshold
    (the polymyositis guideline summary: prophylaxis at prednisone >= 20 mg/day for >= 4 weeks); 0 if
    shorter."""
    high_days = 0.0
    for step in schedule.steps:
        if step.prednisone_eq_mg_per_day < rules.pjp_threshold_mg_per_day:
            high_days = step.offset_days
            break
    else:
        high_days = math.inf
    return high_days if high_days >= rules.pjp_min_days else 0.0
