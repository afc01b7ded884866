"""The infusion unit: chairs as a SimPy resource, open some hours on some days of the week.

Every IV visit (a pulse course, an IVIG course, one rituximab or cyclophosphamide
infusion) is one or more whole-day sessions; each session queues for a chair,
first come first served by the moment its visit could first have started. A
session starts only if it ends by closing time. Outside opening hours the unit
itself holds every chair, and hands them back at opening in queue order.

Times here are calendar days since the start of the horizon (day 0 is a Monday
at midnight); the SimPy clock runs from `origin_day`, the earliest diagnosis.
The unit serves from day 0 to the horizon: a prevalent patient's visits before
day 0 are history, given as planned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import simpy

from iimsim.scenarios.schema import InfusionUnit as UnitSettings
from iimsim.simulation.tables import build_table

HOURS_PER_DAY = 24.0
# Clock tolerance, days (under a second): sums of float offsets land a hair either side of an opening.
TOLERANCE_DAYS = 1e-6
_CLOSED = -math.inf  # the unit's own claim on the chairs outranks every session


@dataclass
class Visit:
    """One IV visit in the unit: `sessions` whole-day sessions, calendar days."""

    drug: str
    number: int
    planned_day: float
    sessions: int
    ready_day: float = math.nan
    start_day: float = math.nan
    end_day: float = math.nan
    sessions_given: int = 0
    chair_hours: float = 0.0


class InfusionUnit:
    """One replication's infusion unit, with a log of every session and visit."""

    def __init__(self, env: simpy.Environment, settings: UnitSettings, origin_day: float,
                 horizon_day: float) -> None:
        self.env = env
        self.settings = settings
        self.origin_day = origin_day
        self.horizon_day = horizon_day
        self.opens = settings.opens_at_hour / HOURS_PER_DAY
        self.closes = (settings.opens_at_hour + settings.hours_per_day) / HOURS_PER_DAY
        self.session_days = {drug: hours / HOURS_PER_DAY for drug, hours in settings.session_hours.items()}
        self.chairs = simpy.PriorityResource(env, capacity=settings.chairs)
        self.opened = env.event()
        # Session log (calendar days): when each could first start, started and ended.
        self.session_drug: list[str] = []
        self.session_ready: list[float] = []
        self.session_start: list[float] = []  # empty if it never started
        self.session_end: list[float] = []  # when its chair was released, or it stopped queueing
        self.visits: list[tuple] = []
        env.process(self._opening_hours())

    # -- the calendar ----------------------------------------------------------------------------

    def today(self) -> float:
        return self.env.now + self.origin_day

    def open_on(self, day: int) -> bool:
        return day % 7 < self.settings.days_per_week

    def fits(self, day: float, length_days: float) -> bool:
        """Whether a session of `length_days` may start at calendar `day` and end by closing."""
        whole = math.floor(day)
        time = day - whole
        return (self.open_on(whole) and time >= self.opens - TOLERANCE_DAYS
                and time + length_days <= self.closes + TOLERANCE_DAYS)

    def is_open(self, day: float) -> bool:
        whole = math.floor(day)
        return self.open_on(whole) and self.opens <= day - whole < self.closes

    def next_opening(self, day: float) -> float:
        """The first opening at or after calendar `day`."""
        whole = math.floor(day)
        if day - whole > self.opens + TOLERANCE_DAYS:
            whole += 1
        while not self.open_on(whole):
            whole += 1
        return whole + self.opens

    def ready_day(self, day: float, length_days: float) -> float:
        """The earliest a session due on `day` could start in an empty unit."""
        if self.fits(day, length_days):
            return day
        opening = self.next_opening(day)
        return opening if opening > day else self.next_opening(math.floor(day) + 1)

    def _opening_hours(self):
        """Holds every chair while the unit is closed; releases them at each opening."""
        env = self.env
        held = [self.chairs.request(priority=_CLOSED) for _ in range(self.settings.chairs)]
        opening = self.next_opening(max(0.0, self.origin_day))
        while opening < self.horizon_day:
            yield env.timeout(max(0.0, opening - self.today()))
            opened, self.opened = self.opened, env.event()
            opened.succeed()
            yield env.timeout(0)  # sessions woken by the opening join the queue before the chairs free up
            for request in held:
                self.chairs.release(request)
            closing = math.floor(opening) + self.closes
            yield env.timeout(max(0.0, closing - self.today()))
            held = [self.chairs.request(priority=_CLOSED) for _ in range(self.settings.chairs)]
            opening = self.next_opening(closing + TOLERANCE_DAYS)

    # -- sessions and visits ------------------------------------------------------------------------

    def take_chair(self, visit: Visit):
        """A SimPy generator (`yield from`): one session of `visit`, due now, queues for a chair.
        Returns (session number, granted request) once the session starts; sessions of a visit rank
        in the queue by the visit's first ready day, so a course's later days keep their place."""
        length = self.session_days[visit.drug]
        index = len(self.session_drug)
        ready = self.ready_day(self.today(), length)
        if math.isnan(visit.ready_day):
            visit.ready_day = ready
        self.session_drug.append(visit.drug)
        self.session_ready.append(ready)
        self.session_start.append(math.nan)
        self.session_end.append(math.nan)
        try:
            while True:
                if self.is_open(self.today()) and self.today() < ready - TOLERANCE_DAYS:
                    yield self.opened  # open, but too late today for this chair session
                request = self.chairs.request(priority=visit.ready_day)
                try:
                    yield request
                except simpy.Interrupt:
                    request.cancel()  # leave the queue (or, if granted this instant, free the chair)
                    self.chairs.release(request)
                    raise
                if self.fits(self.today(), length):
                    self.session_start[index] = self.today()
                    if math.isnan(visit.start_day):
                        visit.start_day = self.today()
                    return index, request
                self.chairs.release(request)
                yield self.opened  # a chair came free too late in the day for it
        except simpy.Interrupt:
            self.session_end[index] = self.today()  # queued until its course stopped
            raise

    def infuse(self, visit: Visit, index: int, request):
        """A SimPy generator: the session started by `take_chair` holds its chair to the end. A session
        stopped on the instant it starts counts as never started."""
        start = self.session_start[index]
        try:
            yield self.env.timeout(self.session_days[visit.drug])
        except simpy.Interrupt:
            if self.today() - start < TOLERANCE_DAYS:
                self.session_start[index] = math.nan
                if visit.start_day == start:
                    visit.start_day = math.nan
            raise
        else:
            visit.sessions_given += 1
        finally:
            self.chairs.release(request)
            self.session_end[index] = self.today()
            if not math.isnan(self.session_start[index]):
                visit.end_day = self.today()
                visit.chair_hours += (self.today() - start) * HOURS_PER_DAY

    def record_visit(self, patient_id: int, visit: Visit) -> None:
        """Log a visit once given, stopped or cut off by the end of follow-up."""
        self.visits.append((patient_id, visit.drug, visit.number, visit.planned_day, visit.ready_day,
                            visit.start_day, visit.end_day, visit.sessions, visit.sessions_given,
                            visit.chair_hours))

    # -- tables ------------------------------------------------------------------------------------

    def tables(self, replication: int) -> dict[str, pa.Table]:
        return {"infusion_visits": self._visits_table(replication), "infusion_unit_days": self._days_table(replication)}

    def _visits_table(self, replication: int) -> pa.Table:
        names = ("patient_id", "drug", "visit", "planned_day", "ready_day", "start_day", "end_day",
                 "sessions_planned", "sessions_given", "chair_hours")
        rows = sorted(self.visits, key=lambda v: (v[0], v[3], v[1]))
        data = {name: list(values) for name, values in zip(names, zip(*rows))} if rows else \
            {name: [] for name in names}
        start = np.asarray(data["start_day"], dtype=float)
        data["replication"] = np.full(len(rows), replication, dtype=np.int32)
        data["wait_days"] = _exact_zero(start - np.asarray(data["planned_day"], dtype=float))
        data["queue_wait_days"] = _exact_zero(start - np.asarray(data["ready_day"], dtype=float))
        return build_table("infusion_visits", data)

    def _days_table(self, replication: int) -> pa.Table:
        days = np.arange(math.ceil(self.horizon_day))
        is_open = days % 7 < self.settings.days_per_week
        window = self.closes - self.opens
        ready = np.asarray(self.session_ready, dtype=float)
        start = np.asarray(self.session_start, dtype=float)
        end = np.asarray(self.session_end, dtype=float)
        started = ~np.isnan(start)
        start_day = np.floor(start[started]).astype(np.int64)
        inside = start_day < len(days)
        hours = (end[started] - start[started]) * HOURS_PER_DAY
        used = np.bincount(start_day[inside], weights=hours[inside], minlength=len(days))
        sessions = np.bincount(start_day[inside], minlength=len(days))
        left_queue = np.where(started, start, np.where(np.isnan(end), self.horizon_day, end))
        waiting = self._open_time_waiting(ready, left_queue, is_open)
        data = {
            "replication": np.full(len(days), replication, dtype=np.int32),
            "day": days.astype(np.int32),
            "weekday": (days % 7).astype(np.int8),
            "open": is_open,
            "chair_hours_available": np.where(is_open, self.settings.chairs * self.settings.hours_per_day, 0.0),
            "chair_hours_used": used,
            "sessions_started": sessions.astype(np.int32),
            "mean_queue_sessions": np.where(is_open, _exact_zero(waiting / window), np.nan),
        }
        return build_table("infusion_unit_days", data)

    def _open_time_waiting(self, ready: np.ndarray, left: np.ndarray, is_open: np.ndarray) -> np.ndarray:
        """Per calendar day, the opening-hours time (days) sessions spent queueing, summed over sessions.

        Each session queued from `ready` to `left`; a day's share is the part inside its opening hours.
        """
        n_days = len(is_open)
        left = np.minimum(left, n_days)
        keep = left > ready
        ready, left = ready[keep], left[keep]
        open_length = np.where(is_open, self.closes - self.opens, 0.0)

        def in_window(day_index, time_of_day):
            return np.where(is_open[day_index], np.clip(time_of_day, self.opens, self.closes) - self.opens, 0.0)

        first = np.floor(ready).astype(np.int64)
        last = np.minimum(np.floor(left).astype(np.int64), n_days - 1)
        total = np.zeros(n_days)
        same = first == last
        # A session that queued within one day: the open part of [ready, left) that day.
        np.add.at(total, first[same], in_window(first[same], left[same] - last[same])
                  - in_window(first[same], ready[same] - first[same]))
        spans = ~same
        f, lst = first[spans], last[spans]
        # Over several days: the rest of its first day, the start of its last, every whole day between.
        np.add.at(total, f, open_length[f] - in_window(f, ready[spans] - f))
        np.add.at(total, lst, in_window(lst, left[spans] - lst))
        whole = np.zeros(n_days + 1)
        np.add.at(whole, f + 1, 1)
        np.add.at(whole, lst, -1)
        total += np.cumsum(whole[:-1]) * open_length
        return total


def _exact_zero(days: np.ndarray) -> np.ndarray:
    """Clock rounding (a fraction of a second either way) is no wait at all."""
    return np.where(np.abs(days) < TOLERANCE_DAYS, 0.0, days)
