"""Glucocorticoid adverse events: chance events whose rate follows the dose, never ticked.

Each harm's rate is piecewise constant in time: it is the scenario's rate for the band the
day's prednisone-equivalent dose falls in (or its rate off glucocorticoid), times a ratio
while PJP prophylaxis or bone protection is on. It changes only where the glucocorticoid
course steps, prophylaxis stops or a course is replaced. A patient meets a harm when the
rate accumulated since the last one reaches a unit exponential drawn from the patient's own
harm stream (the inverse-transform draw of a non-homogeneous Poisson process), so the day
of the next harm is found by walking the current course's steps once, and found again
whenever the course changes.

A serious infection (PJP among them) may kill: the patient dies on its day. New-onset
diabetes and cataract are counted once; infections and fractures can recur.
"""

from __future__ import annotations

import math
import weakref
from bisect import bisect_right
from dataclasses import dataclass

from iimsim.pathway.dosing import Schedule
from iimsim.pathway.glucocorticoids import GlucocorticoidRules, prophylaxis_needed
from iimsim.scenarios.schema import AdverseEvents, Harm
from iimsim.simulation.mortality import YEAR_DAYS

INF = math.inf
HARMS = ("new_diabetes", "serious_infection", "pjp", "fracture", "cataract")
# The events table's names: PJP is a serious infection (its detail names it).
EVENT_OF = {"new_diabetes": "ae_new_diabetes", "serious_infection": "ae_serious_infection",
            "pjp": "ae_serious_infection", "fracture": "ae_fracture", "cataract": "ae_cataract"}
DETAIL_OF = {"new_diabetes": "new-onset diabetes", "serious_infection": "serious infection",
             "pjp": "serious infection: Pneumocystis pneumonia", "fracture": "osteoporotic fracture",
             "cataract": "cataract"}
PER_DAY = 1.0 / (100.0 * YEAR_DAYS)  # a rate per 100 patient-years, per patient-day


@dataclass(frozen=True)
class HarmRule:
    name: str
    off_rate_per_day: float
    band_from_mg_per_day: tuple[float, ...]
    band_rate_per_day: tuple[float, ...]
    recurrent: bool
    case_fatality: float
    ratio_on_pjp_prophylaxis: float
    ratio_on_bone_protection: float
    only_without_diabetes: bool

    @classmethod
    def of(cls, name: str, harm: Harm) -> HarmRule:
        return cls(name, harm.rate_off_glucocorticoid_per_100_patient_years * PER_DAY,
                   tuple(harm.dose_band_from_mg_per_day),
                   tuple(rate * PER_DAY for rate in harm.rate_per_100_patient_years), harm.recurrent,
                   harm.case_fatality, harm.rate_ratio_on_pjp_prophylaxis, harm.rate_ratio_on_bone_protection,
                   harm.only_without_diabetes)

    def rate_per_day(self, dose_mg_per_day: float, pjp_prophylaxis: bool, bone_protection: bool) -> float:
        if dose_mg_per_day <= 0:
            rate = self.off_rate_per_day
        else:
            rate = self.band_rate_per_day[bisect_right(self.band_from_mg_per_day, dose_mg_per_day) - 1]
        if pjp_prophylaxis:
            rate *= self.ratio_on_pjp_prophylaxis
        if bone_protection:
            rate *= self.ratio_on_bone_protection
        return rate


def compile_harms(adverse_events: AdverseEvents) -> tuple[HarmRule, ...]:
    return tuple(HarmRule.of(name, getattr(adverse_events, name)) for name in HARMS)


class Exposure:
    """Each harm's rate over a course's pieces, from its first day (piece starts in days from it), and the
    cumulative rate at each piece's start: the cumulative rate to any day is a lookup and a product.
    Worked out once per schedule and bone protection (PJP prophylaxis covers the course's first
    `prophylaxis_needed` days, which the schedule fixes), so a course's plan costs a few bisections."""

    __slots__ = ("starts", "rates", "cumulative")

    def __init__(self, starts: list[float], rates: list[tuple[float, ...]]) -> None:
        self.starts = starts
        self.rates = list(zip(*rates))  # by harm, then piece
        self.cumulative = []
        for by_piece in self.rates:
            total, cumulative = 0.0, [0.0]
            for j in range(len(starts) - 1):
                total += by_piece[j] * (starts[j + 1] - starts[j])
                cumulative.append(total)
            self.cumulative.append(cumulative)

    def cumulative_to(self, day: float) -> list[float]:
        """Each harm's cumulative rate from the start to `day` (days from the start; none before it)."""
        if day <= 0:
            return [0.0] * len(self.rates)
        j = bisect_right(self.starts, day) - 1
        since = day - self.starts[j]
        return [cumulative[j] + rates[j] * since for cumulative, rates in zip(self.cumulative, self.rates)]

    def day_reaching(self, k: int, amount: float) -> float:
        """The day (from the start) harm `k`'s cumulative rate reaches `amount`; infinite if it never does."""
        cumulative, rates = self.cumulative[k], self.rates[k]
        j = bisect_right(cumulative, amount) - 1  # the last piece starting at or below the amount
        while j > 0 and cumulative[j - 1] >= amount:  # reached exactly where a flat stretch began
            j -= 1
        if cumulative[j] >= amount:
            return self.starts[j]
        if rates[j] <= 0:  # the last piece, at rate 0
            return INF
        return self.starts[j] + (amount - cumulative[j]) / rates[j]


class HarmClock:
    """One patient's harms: how much of each one's exponential draw was left on `day`, and the exposure
    planned from `origin` (the current course's first day) on."""

    __slots__ = ("left", "day", "origin", "exposure", "counts")

    def __init__(self, left: list[float]) -> None:
        self.left = left
        self.day = 0.0
        self.origin = 0.0
        self.exposure: Exposure | None = None
        self.counts = [0] * len(HARMS)


class Harms:
    """Plans each patient's next harm from their glucocorticoid exposure, and carries it out."""

    def __init__(self, rules: tuple[HarmRule, ...], gc: GlucocorticoidRules, recorder_of) -> None:
        self.rules = rules
        self.gc = gc
        self._recorder_of = recorder_of  # the engine's current recorder
        self._off = {bone: Exposure([0.0], [self._rates(0.0, False, bone)]) for bone in (False, True)}
        self._courses: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def start(self, p) -> None:
        """At diagnosis: a fresh draw for each harm the patient can have."""
        p.harm = HarmClock([INF if rule.only_without_diabetes and p.diabetes else p.stream.harm_exponential()
                            for rule in self.rules])
        p.harm_day, p.harm_index = INF, -1

    def _rates(self, dose: float, pjp: bool, bone: bool) -> tuple[float, ...]:
        return tuple(rule.rate_per_day(dose, pjp, bone) for rule in self.rules)

    def _exposure(self, schedule: Schedule, bone: bool) -> Exposure:
        by_bone = self._courses.get(schedule)
        if by_bone is None:
            by_bone = self._courses[schedule] = {}
        exposure = by_bone.get(bone)
        if exposure is None:
            covered = prophylaxis_needed(self.gc, schedule)
            starts, rates = [], []
            steps = list(zip(schedule.offsets, schedule.prednisone_eq))
            for j, (day, dose) in enumerate(steps):
                next_day = steps[j + 1][0] if j + 1 < len(steps) else INF
                if day < covered < next_day:
                    starts += [day, covered]
                    rates += [self._rates(dose, True, bone), self._rates(dose, False, bone)]
                else:
                    starts.append(day)
                    rates.append(self._rates(dose, day < covered, bone))
            if starts[0] > 0:  # nothing before the first step
                starts.insert(0, 0.0)
                rates.insert(0, self._rates(0.0, False, bone))
            exposure = by_bone[bone] = Exposure(starts, rates)
        return exposure

    def accrue(self, p, now: float) -> None:
        """Use up each harm's draw by the rate it ran at from the last reckoning to `now`."""
        h = p.harm
        if now <= h.day or h.exposure is None:
            h.day = max(h.day, now)
            return
        before = h.exposure.cumulative_to(h.day - h.origin)
        after = h.exposure.cumulative_to(now - h.origin)
        h.left = [left - (b - a) for left, a, b in zip(h.left, before, after)]  # an infinite draw stays so
        h.day = now

    def plan(self, p, now: float) -> None:
        """The exposure from `now` on (the course as laid out, prophylaxis for its first weeks, bone protection
        if started), and the day of the first harm under it."""
        self.accrue(p, now)  # under the exposure planned until now
        h = p.harm
        course = p.gc
        if course is None:
            h.exposure, h.origin = self._off[p.bone_protected], now
        else:
            h.exposure, h.origin = self._exposure(course.schedule, p.bone_protected), course.start_day
        p.harm_day, p.harm_index = self._first(h)

    @staticmethod
    def _first(h: HarmClock) -> tuple[float, int]:
        """The first harm from the last reckoning on, and its day, under the planned exposure."""
        exposure, since = h.exposure, h.day - h.origin
        reached = exposure.cumulative_to(since)
        best_day, best = INF, -1
        for k, left in enumerate(h.left):
            if left < INF:
                day = h.origin + exposure.day_reaching(k, reached[k] + left)
                if day < best_day:
                    best_day, best = (h.day if h.day > day else day), k  # (as max(), at a tenth of the cost)
        return best_day, best

    def happen(self, p, now: float) -> None:
        """The patient meets their next harm today: an event row, a count, a fresh draw if it can recur; a
        serious infection may be fatal."""
        k = p.harm_index
        rule = self.rules[k]
        self.accrue(p, now)
        h = p.harm
        h.counts[k] += 1
        if rule.name == "pjp":
            h.counts[HARMS.index("serious_infection")] += 1  # PJP is a serious infection: counted in both
        h.left[k] = p.stream.harm_exponential() if rule.recurrent else INF
        dose = p.gc.schedule.prednisone_eq[max(0, bisect_right(p.gc.schedule.offsets, now - p.gc.start_day) - 1)] \
            if p.gc is not None else 0.0
        detail = (f"{DETAIL_OF[rule.name]} on prednisone-equivalent {dose:g} mg/day" if dose > 0
                  else f"{DETAIL_OF[rule.name]} off glucocorticoid")
        if rule.case_fatality > 0 and p.stream.harm_uniform() < rule.case_fatality:
            p.death_day = p.end_day = now
            p.death_cause = "serious_infection"
            detail += ", fatal"
        self._recorder_of().event(p, now, EVENT_OF[rule.name], detail)
        p.harm_day, p.harm_index = self._first(h)
