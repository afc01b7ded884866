"""Steroid-sparing and add-on agents: dose schedules and the choice of option.

A schedule is a tuple of `DoseStep`s from the agent's first day; titrated agents
rise to their target and hold, infusion courses alternate a dose with a 0 gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from iimsim.pathway.dosing import DoseStep, Schedule, dispensable, hash_once

RATE_UNIT = {"mg": "mg/day", "g": "g/day"}


@dataclass(frozen=True)
class AgentRules:
    drug: str
    route: str
    kind: str
    dose_unit: str
    per_kg: bool
    start_dose: float
    target_dose: float
    step_dose: float
    step_every_days: float
    max_mg_per_kg: float | None
    juvenile_dose_per_m2: float | None
    juvenile_route: str | None
    round_to: float | None
    max_dose: float | None
    dosing_weight: str
    infusions: int
    infusion_interval_days: float
    days_per_infusion: int
    full_effect_days: float
    p_intolerance: float
    intolerance_window_days: float
    followed_by: OptionTable | None = None  # the oral agent an induction course hands over to (pathway/rules.py)

    __hash__ = hash_once

    @classmethod
    def from_scenario(cls, drug: str, section) -> AgentRules:
        fields = {name: getattr(section, name) for name in cls.__dataclass_fields__ if name != "drug"}
        fields["followed_by"] = OptionTable.from_weights(section.followed_by) if section.followed_by else None
        return cls(drug=drug, **fields)

    @property
    def course_days(self) -> float:
        """An infusion course's length: one interval after each infusion."""
        return self.infusions * self.infusion_interval_days


# Devine's ideal body weight (the formula the IVIG dose calculators use: Ontario's Immune Globulin Utilization
# Management dose calculator; Australia's BloodSTAR): 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch over 5 feet,
# for adults at least 5 feet (152.4 cm) tall; below that, and for children, the actual weight.
DEVINE_BASE_KG = {"male": 50.0, "female": 45.5}
DEVINE_KG_PER_INCH = 2.3
DEVINE_FROM_CM = 152.4
CM_PER_INCH = 2.54


def ideal_body_weight_kg(height_cm: float, sex: str) -> float:
    return DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * (height_cm / CM_PER_INCH - 60.0)


def dosing_weight_kg(rules: AgentRules, weight_kg: float, height_cm: float | None, sex: str) -> float:
    """The weight a per-kg dose is worked out on: the ideal body weight where the agent says so and it is the lower
    (an adult at least 152.4 cm tall), else the actual weight."""
    if rules.dosing_weight != "ideal" or height_cm is None or height_cm < DEVINE_FROM_CM:
        return weight_kg
    return min(weight_kg, round(ideal_body_weight_kg(height_cm, sex), 1))


def _cap(rules: AgentRules, weight_kg: float) -> float:
    """The most one dose may be: mg/kg and absolute maxima."""
    cap = math.inf if rules.max_mg_per_kg is None else rules.max_mg_per_kg * weight_kg
    return cap if rules.max_dose is None else min(cap, rules.max_dose)


def _dose(rules: AgentRules, dose: float, weight_kg: float) -> float:
    """A dose for `weight_kg` (per kg where the agent says), capped and rounded to what can be given."""
    return dispensable(dose * weight_kg if rules.per_kg else dose, rules.round_to, _cap(rules, weight_kg))


def body_surface_m2(weight_kg: float) -> float:
    """A child's body surface area from weight alone (Costeff, Arch Dis Child 1966;41:681: (4W + 7) / (W + 90))."""
    return (4.0 * weight_kg + 7.0) / (weight_kg + 90.0)


def schedule(rules: AgentRules, weight_kg: float, juvenile: bool = False) -> Schedule:
    """The agent's dose steps for a patient dosed on `weight_kg` (dosing_weight_kg); a child (`juvenile`) is dosed by
    body surface area where the agent says how."""
    if juvenile and rules.juvenile_dose_per_m2 is not None:
        return _juvenile_schedule(rules, weight_kg)
    weight_matters = rules.per_kg or rules.max_mg_per_kg is not None
    return _schedule(rules, weight_kg if weight_matters else 0.0)


@lru_cache(maxsize=65536)
def _juvenile_schedule(rules: AgentRules, weight_kg: float) -> Schedule:
    """A child's schedule: the dose per m2 from the first dose (no titration), rounded to what can be given,
    never above the adult dose (rounded down to it where it binds)."""
    route = rules.juvenile_route or rules.route
    adult_dose = _dose(rules, rules.target_dose if rules.kind == "titrated" else rules.start_dose, weight_kg)
    dose = dispensable(rules.juvenile_dose_per_m2 * body_surface_m2(weight_kg), rules.round_to,
                       min(adult_dose, _cap(rules, weight_kg)))
    if rules.kind == "titrated":
        return Schedule((DoseStep(0.0, rules.drug, route, dose, rules.dose_unit, math.nan),))
    return _infusions(rules, route, dose)


@lru_cache(maxsize=65536)
def _schedule(rules: AgentRules, weight_kg: float) -> Schedule:
    nan = math.nan
    if rules.kind == "titrated":
        steps, dose, day = [], rules.start_dose, 0.0
        while True:
            given = _dose(rules, dose, weight_kg)
            if not steps or given != steps[-1].dose:  # (a step the cap or the rounding swallows is no step)
                steps.append(DoseStep(day, rules.drug, rules.route, given, rules.dose_unit, nan))
            if dose >= rules.target_dose or rules.step_dose <= 0:
                return Schedule(tuple(steps))
            dose = min(rules.target_dose, dose + rules.step_dose)
            day += rules.step_every_days
    return _infusions(rules, rules.route, _dose(rules, rules.start_dose, weight_kg))


def _infusions(rules: AgentRules, route: str, per_infusion: float) -> Schedule:
    """An infusion course: each infusion's dose spread over its days, then a gap at 0."""
    rate = round(per_infusion / rules.days_per_infusion, 6)
    unit = RATE_UNIT[rules.dose_unit]
    steps = []
    for k in range(rules.infusions):
        day = k * rules.infusion_interval_days
        steps.append(DoseStep(day, rules.drug, route, rate, unit, math.nan))
        steps.append(DoseStep(day + rules.days_per_infusion, rules.drug, route, 0.0, unit, math.nan))
    return Schedule(tuple(steps))


@dataclass(frozen=True)
class OptionTable:
    """Options (each a tuple of drugs given together) with their weights."""

    options: tuple[tuple[str, ...], ...]
    weights: tuple[float, ...]

    @classmethod
    def from_weights(cls, weights: dict[str, float]) -> OptionTable:
        return cls(tuple(tuple(key.split("+")) for key in weights), tuple(weights.values()))

    def without(self, drugs: frozenset[str]) -> OptionTable:
        """The options less `drugs` (options left empty dropped)."""
        pairs = [(tuple(d for d in o if d not in drugs), w) for o, w in zip(self.options, self.weights)]
        pairs = [(o, w) for o, w in pairs if o]
        return OptionTable(tuple(o for o, _ in pairs), tuple(w for _, w in pairs))

    def choose(self, u: float, excluded: frozenset[str] = frozenset(),
               failed: frozenset[str] = frozenset()) -> tuple[str, ...] | None:
        """The option at quantile `u` among those sharing no drug with `excluded` (not tolerated) and bringing at
        least one drug not in `failed` (a combination may keep an agent that failed alone: it joins a new one)."""
        allowed = [(o, w) for o, w in zip(self.options, self.weights)
                   if w > 0 and excluded.isdisjoint(o) and not failed.issuperset(o)]
        if not allowed:
            return None
        total = sum(w for _, w in allowed)
        threshold, cumulative = u * total, 0.0
        for option, weight in allowed:
            cumulative += weight
            if threshold < cumulative:
                return option
        return allowed[-1][0]


def choose_option(tables: tuple[OptionTable, ...], u: float, excluded: frozenset[str],
                  failed: frozenset[str], switching: bool = False) -> tuple[str, ...] | None:
    """A line's agents (BMJ Best Practice, Idiopathic inflammatory myopathies: treatment algorithm: an alternative
    when an agent "is not tolerated or is ineffective"), from the line's tables in order (the patient's own, ILD's
    or the subtype's, then the line's general one), never an agent `excluded` (not tolerated, or contraindicated):
    first an option bringing an agent that has not `failed`, then the same from the options less their excluded
    agents (a combination given without the partner the patient cannot take). Switching within a line stops there
    (with nothing left the line escalates); starting a line then allows agents that failed, and with nothing at all
    left gives none (the glucocorticoid alone)."""
    reduced = tuple(table.without(excluded) for table in tables) if excluded else ()
    for allow in ((failed,) if switching else (failed, frozenset())):
        for table in (*tables, *reduced):
            option = table.choose(u, excluded, allow)
            if option is not None:
                return option
    return None if switching else ()
