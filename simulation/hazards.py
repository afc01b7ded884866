"""Each patient's clock of the chance events whose rate follows the course: adverse events and death.

Every hazard's rate (simulation/harms.py, simulation/mortality.py) is re-evaluated whenever the course moves:
after each visit, each change of state, each adverse event and each spontaneous flare. It is held until the
next such moment at its value halfway there: the dose and PJP prophylaxis the course gives then, the weighted
recent doses and the disease's activity projected there (closed forms: nothing ticks). Visits come every 4 weeks
on a line, so a rate is rarely held longer than its inputs take to move.

A patient meets a hazard when the rate accumulated since diagnosis reaches a unit exponential drawn for it:
each adverse event's from the patient's own harm stream (a fresh one after each recurrence), death's from the
death slot of the patient's attributes. Two scenarios' patients meet the same draws (common random numbers), so
a better-treated patient dies later, or not at all, rather than at another chance.
"""

from __future__ import annotations

import math

from iimsim.simulation.disease import Effect
from iimsim.simulation.harms import DETAIL_OF, EVENT_OF, HARMS, HarmRule
from iimsim.simulation.mortality import MortalityRules
from iimsim.simulation.tables import YEAR_DAYS

INF = math.inf
DEATH = len(HARMS)  # the clock's last hazard
LONGEST_HOLD_DAYS = 182.0  # a rate is projected at most half this far ahead (the longest visit interval)
SERIOUS_INFECTION = HARMS.index("serious_infection")
DEATH_CAUSES = ("myositis", "cancer", "other")  # besides a fatal infection, "serious_infection"


class HazardClock:
    """One patient's hazards: how much of each one's exponential draw was left on `day`, the rates in force
    since, the weighted recent doses (first-order lags of the glucocorticoid dose) and what death's rate is
    made of (for its cause)."""

    __slots__ = ("left", "rates", "day", "counts", "memory", "death_parts")

    def __init__(self, left: list[float], memory: list[Effect]) -> None:
        self.left = left
        self.rates = [0.0] * len(left)
        self.day = 0.0
        self.counts = [0] * len(HARMS)
        self.memory = memory
        self.death_parts = (0.0, 0.0, 0.0, 1.0)  # (other: population x glucocorticoid, myositis, RP-ILD, cancer ratio)


class Hazards:
    """Plans each patient's next adverse event or death from the course so far, and carries it out."""

    def __init__(self, rules: tuple[HarmRule, ...], mortality: MortalityRules, recorder_of) -> None:
        self.rules = rules
        self.mortality = mortality
        self._recorder_of = recorder_of  # the engine's current recorder
        self.memory_days = tuple(sorted({r.memory_days for r in rules if r.memory_days is not None}
                                        | {mortality.gc_memory_days}))
        self._memory_of = tuple(-1 if r.memory_days is None else self.memory_days.index(r.memory_days)
                                for r in rules)
        self._gc_memory = self.memory_days.index(mortality.gc_memory_days)

    def start(self, p, death_u: float) -> None:
        """At diagnosis: a fresh draw for each harm the patient can have, and for death."""
        left = [INF if rule.only_without_diabetes and p.diabetes else p.stream.harm_exponential()
                for rule in self.rules]
        left.append(-math.log1p(-death_u))
        p.harm = HazardClock(left, [Effect(days, 0.0) for days in self.memory_days])
        p.harm_day, p.harm_index = INF, -1

    def follow(self, p, course, now: float) -> None:
        """A glucocorticoid course starts (or, `course` None, stops) at `now`: the weighted doses follow it."""
        if course is None:
            changes = [(now, 0.0)]
        else:
            start, schedule = course.start_day, course.schedule
            changes = [(start + offset, dose) for offset, dose in zip(schedule.offsets, schedule.prednisone_eq)]
        for effect in p.harm.memory:
            effect.plan(now, changes)

    def _accrue(self, clock: HazardClock, now: float) -> None:
        elapsed = now - clock.day
        if elapsed > 0:
            clock.left = [left - rate * elapsed for left, rate in zip(clock.left, clock.rates)]
            clock.day = now

    def replan(self, p, now: float) -> None:
        """The rates from `now` until the course next moves, and the first hazard the draws reach at them."""
        clock = p.harm
        self._accrue(clock, now)
        upcoming = min(p.visit_day, p.next_day, p.flare_day, p.end_day, now + LONGEST_HOLD_DAYS)
        mid = now + 0.5 * (upcoming - now) if upcoming > now else now
        course = p.gc
        dose = 0.0
        if course is not None and course.waiting_from > mid:
            step = course.schedule.step_at(mid - course.start_day)
            dose = 0.0 if step is None else step.prednisone_eq_mg_per_day
        pjp = p.pjp_on and mid < (p.pjp_stop_day if p.pjp_stop_day > p.pjp_agent_until else p.pjp_agent_until)
        weighted = []
        for effect in clock.memory:  # (the checkpoint moves to today, so each look ahead walks only the steps to come)
            effect.advance(now)
            weighted.append(effect.level_at(mid))
        left, bone = clock.left, p.bone_protected
        rates = []
        for k, rule in enumerate(self.rules):
            if left[k] == INF:  # (a harm that cannot come again, its draw spent, needs no rate)
                rates.append(0.0)
                continue
            at = self._memory_of[k]
            rates.append(rule.rate_per_day(dose, weighted[at] if at >= 0 else 0.0, pjp, bone))
        m = self.mortality
        other = (m.population_rate_per_day(p.age_years + mid / YEAR_DAYS, p.sex == "male")
                 * m.glucocorticoid_ratio(weighted[self._gc_memory]))
        activity = p.disease.activity(mid)
        myositis = activity * m.myositis_rate_per_day * p.myositis_ratio
        # RP-ILD's own rate is fitted to a cohort dying of the lungs: an associated cancer does not multiply it
        rp_ild = activity * m.rp_ild_rate_per_day if p.rp_ild else 0.0
        cancer = m.cancer_ratio if p.cancer_associated and mid < m.cancer_active_days else 1.0
        clock.death_parts = (other, myositis, rp_ild, cancer)
        rates.append((other + myositis) * cancer + rp_ild)
        clock.rates = rates
        best_day, best = INF, -1
        for k, (left, rate) in enumerate(zip(clock.left, rates)):
            if rate > 0.0 and left < INF:
                day = now + left / rate if left > 0.0 else now
                if day < best_day:
                    best_day, best = day, k
        p.harm_day, p.harm_index = best_day, best

    def happen(self, p, now: float) -> None:
        """The patient meets their next hazard today: death, or an adverse event (an event row, a count, a fresh
        draw if it can recur; a serious infection may be fatal)."""
        clock, k = p.harm, p.harm_index
        self._accrue(clock, now)
        if k == DEATH:
            p.death_day = p.end_day = now
            p.death_cause = self._cause(clock, p.stream.harm_uniform())
            p.harm_day, p.harm_index = INF, -1
            return
        rule = self.rules[k]
        clock.counts[k] += 1
        if rule.name == "pjp":
            clock.counts[SERIOUS_INFECTION] += 1  # PJP is a serious infection: counted in both
        clock.left[k] = p.stream.harm_exponential() if rule.recurrent else INF
        dose = 0.0
        if p.gc is not None:
            step = p.gc.schedule.step_at(now - p.gc.start_day)
            dose = 0.0 if step is None else step.prednisone_eq_mg_per_day
        detail = (f"{DETAIL_OF[rule.name]} on prednisone-equivalent {dose:g} mg/day" if dose > 0
                  else f"{DETAIL_OF[rule.name]} off glucocorticoid")
        fatal = rule.case_fatality > 0 and p.stream.harm_uniform() < rule.case_fatality
        if fatal:
            p.death_day = p.end_day = now
            p.death_cause = "serious_infection"
            detail += ", fatal"
        self._recorder_of().event(p, now, EVENT_OF[rule.name], detail)
        if fatal:
            p.harm_day, p.harm_index = INF, -1
        else:
            self.replan(p, now)

    @staticmethod
    def _cause(clock: HazardClock, u: float) -> str:
        """What the death came from, drawn in proportion to its hazard's parts at the time: active myositis (its
        lungs, heart, swallowing), the associated cancer, or everything else (age, and glucocorticoid's share)."""
        other, myositis, rp_ild, cancer = clock.death_parts
        total = (other + myositis) * cancer + rp_ild
        shares = (myositis + rp_ild, (other + myositis) * (cancer - 1.0), other)
        threshold, cumulative = u * total, 0.0
        for cause, share in zip(DEATH_CAUSES, shares):
            cumulative += share
            if threshold < cumulative:
                return cause
        return DEATH_CAUSES[-1]
