"""The disease course: one patient's disease activity over time, computed, never ticked.

Activity `a` is on a 0-1 scale (1 = the worst the disease gets). Its logarithm is the
patient's untreated level less the suppression each treatment gives:

    log a(t) = log a_untreated - ceiling(sum over treatments of level_e(t))
                              - sum over the disease's own effects of level_e(t)     (a capped at 1)

Treatments' suppression combines on the log scale and saturates (an Emax-like ceiling, `ceiling(s) =
s * C / (s + C)`): a patient already heavily suppressed gains less from one more drug, so no combination
takes activity below `a_untreated * exp(-C)`. The disease's own effects (a flare, burning out) are not
treatment and are not capped.

Each effect (the glucocorticoid, each steroid-sparing agent, IVIG, the disease burning
out, a spontaneous flare) has a level that moves towards its target with its own time
constant, so a drug's onset (Praxis: agents take 3-6 months; IVIG acts within weeks)
and its washout are first-order lags. Targets change only at events (a dose step, a
course starting or stopping), so between events every level is a closed-form exponential
and the activity on any day is a short sum: nothing is integrated day by day.

Damage accrues with time spent active (the trapezoid of activity between assessments)
and, in IBM, with its steady decline (Cox et al. 2011); it is what a patient in remission
can still be weak from.
"""

from __future__ import annotations

import math

# Effects that are the disease's own course, not treatment: outside the suppression ceiling.
UNTREATED_EFFECTS = frozenset(("flare", "burnout"))


def saturated(suppression: float, ceiling: float) -> float:
    """Combined treatment suppression (log units) after the ceiling: s * C / (s + C), never above C."""
    if suppression <= 0.0 or ceiling == math.inf:
        return suppression
    return suppression * ceiling / (suppression + ceiling)


def unsaturated(effective: float, ceiling: float) -> float:
    """The combined suppression needed for `effective` after the ceiling (inf if at or above it)."""
    if effective <= 0.0 or ceiling == math.inf:
        return effective
    return math.inf if effective >= ceiling else effective * ceiling / (ceiling - effective)


class Effect:
    """One treatment's suppression (log units), lagging a piecewise-constant target.

    `changes` is the plan: (day, target) pairs in day order, each target in force from
    its day. The level is known at a checkpoint (`day`, `level`, `target`); later days
    are computed from it by walking the plan, so a plan is laid out once per course.
    """

    __slots__ = ("tau_days", "day", "level", "target", "changes", "next")

    def __init__(self, tau_days: float, day: float = 0.0) -> None:
        self.tau_days = max(tau_days, 1e-6)
        self.day = day
        self.level = 0.0
        self.target = 0.0
        self.changes: list[tuple[float, float]] = []
        self.next = 0  # index of the first change not yet reached

    def level_at(self, day: float) -> float:
        """The level on `day` (not before the checkpoint), without moving the checkpoint."""
        t, level, target, tau = self.day, self.level, self.target, self.tau_days
        changes, i = self.changes, self.next
        while i < len(changes) and changes[i][0] <= day:
            change_day, new_target = changes[i]
            level = target + (level - target) * math.exp(-(change_day - t) / tau)
            t, target = change_day, new_target
            i += 1
        return target + (level - target) * math.exp(-(day - t) / tau)

    def advance(self, day: float) -> None:
        """Move the checkpoint to `day` (plans are only ever changed from the checkpoint on)."""
        changes, tau = self.changes, self.tau_days
        while self.next < len(changes) and changes[self.next][0] <= day:
            change_day, new_target = changes[self.next]
            self.level = self.target + (self.level - self.target) * math.exp(-(change_day - self.day) / tau)
            self.day, self.target = change_day, new_target
            self.next += 1
        self.level = self.target + (self.level - self.target) * math.exp(-(day - self.day) / tau)
        self.day = day

    def plan(self, day: float, changes: list[tuple[float, float]]) -> None:
        """From `day` on, follow `changes` instead of what was planned."""
        self.advance(day)
        self.changes = changes
        self.next = 0

    def kick(self, day: float, amount: float) -> None:
        """A sudden change of level by `amount` on `day` (a flare: negative suppression)."""
        self.advance(day)
        self.level += amount


class DiseaseCourse:
    """A patient's disease: untreated level, the effects acting on it, damage."""

    __slots__ = ("log_untreated", "effects", "damage", "damage_day", "damage_activity",
                 "damage_per_active_year", "decline_per_year", "swing", "swing_day", "swing_sd", "swing_days",
                 "ceiling")

    def __init__(self, untreated_activity: float, damage_per_active_year: float, decline_per_year: float,
                 swing_sd: float = 0.0, swing_days: float = 60.0, ceiling: float = math.inf) -> None:
        self.log_untreated = math.log(untreated_activity)
        self.ceiling = ceiling  # most the treatments together can suppress (log units)
        # Waxing and waning: a mean-reverting swing of log activity, known exactly at each visit (an
        # Ornstein-Uhlenbeck process sampled where it is observed), its expectation in between.
        self.swing, self.swing_day, self.swing_sd, self.swing_days = 0.0, 0.0, swing_sd, swing_days
        self.effects: dict[str, Effect] = {}
        self.damage = 0.0
        self.damage_day = 0.0
        self.damage_activity = untreated_activity
        self.damage_per_active_year = damage_per_active_year
        self.decline_per_year = decline_per_year

    def effect(self, name: str, tau_days: float, day: float) -> Effect:
        e = self.effects.get(name)
        if e is None:
            e = self.effects[name] = Effect(tau_days, day)
        return e

    def activity(self, day: float) -> float:
        """Activity on `day` (not before any effect's checkpoint); a look ahead, moving nothing (the swing at
        its expected value)."""
        log_a = self.log_untreated
        if self.swing:
            log_a += self.swing * math.exp((self.swing_day - day) / self.swing_days)
        treated = 0.0
        for name, e in self.effects.items():
            if e.next < len(e.changes) and e.changes[e.next][0] <= day:
                level = e.level_at(day)
            elif e.level != e.target:  # the common case inline: no change of plan before `day`
                level = e.target + (e.level - e.target) * math.exp((e.day - day) / e.tau_days)
            else:
                level = e.target
            if name in UNTREATED_EFFECTS:
                log_a -= level
            else:
                treated += level
        log_a -= saturated(treated, self.ceiling)
        return 1.0 if log_a >= 0.0 else math.exp(log_a)

    def activity_now(self, day: float, z: float = 0.0) -> float:
        """Activity on `day`, the patient's today, observed: the swing moves on with standard normal `z`, every
        effect's checkpoint moves there, and effects that have washed out and will not return are dropped, so
        later look-aheads stay short."""
        if self.swing_sd and day > self.swing_day:
            kept = math.exp((self.swing_day - day) / self.swing_days)
            self.swing = self.swing * kept + self.swing_sd * math.sqrt(1.0 - kept * kept) * z
            self.swing_day = day
        log_a = self.log_untreated + self.swing
        treated = 0.0
        spent = None
        for name, e in self.effects.items():
            pending = e.next < len(e.changes)
            if pending and e.changes[e.next][0] <= day:
                e.advance(day)
            elif e.level != e.target:
                e.level = e.target + (e.level - e.target) * math.exp((e.day - day) / e.tau_days)
                e.day = day
            else:
                e.day = day
            if name in UNTREATED_EFFECTS:
                log_a -= e.level
            else:
                treated += e.level
            if not pending and e.target == 0.0 and -1e-6 < e.level < 1e-6:
                spent = [*(spent or ()), name]
        for name in spent or ():
            del self.effects[name]
        log_a -= saturated(treated, self.ceiling)
        return 1.0 if log_a >= 0.0 else math.exp(log_a)

    def accrue_damage(self, day: float, activity: float) -> float:
        """Damage to `day`: activity-years since the last reckoning (trapezoid), plus steady decline."""
        years = (day - self.damage_day) / 365.25
        if years > 0:
            active = 0.5 * (self.damage_activity + activity) * years
            damage = self.damage + self.damage_per_active_year * active + self.decline_per_year * years
            self.damage = damage if damage < 1.0 else 1.0  # (as min(), at a tenth of the cost)
        self.damage_day, self.damage_activity = day, activity
        return self.damage
