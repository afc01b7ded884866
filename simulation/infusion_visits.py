"""A course's IV rows given as visits to the infusion unit, each session queueing for a chair.

Only with an infusion unit (`unit` set): a course with IV rows gets a SimPy process
of its own that gives its visits. A visit that starts late moves the rest of its
course with it and, if it is the course's first, puts off the decision of the
episode that began it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from iimsim.simulation.patient import INF, Course, Patient
from iimsim.simulation.treatment_effects import plan_agent, plan_glucocorticoid
from iimsim.simulation.infusion_unit import InfusionUnit, Visit


def cancel_visits(course: Course, now: float) -> float:
    """Stop a course's visits; returns the day its rows end (a visit still queueing was not given)."""
    if course.visits is not None and course.visits.is_alive:
        course.visits.interrupt()
    return min(now, course.waiting_from)


class UnitVisits:
    """Gives courses' IV visits at `unit` (None: no infusion unit, rows are given as planned)."""

    def __init__(self, disease, harms, write_agent_rows: Callable[[Patient, Course, float], None]) -> None:
        self.disease = disease  # the scenario's disease rules (a late first dose moves the response)
        self.harms = harms  # the hazards: a glucocorticoid course's weighted doses move with it
        self.write_agent_rows = write_agent_rows  # writes the rows of a course cut where a late visit moves the rest
        self.unit: InfusionUnit | None = None  # set with the engine's unit

    def book_chairs(self, p: Patient, course: Course) -> None:
        """With an infusion unit, the course's IV visits are given by a process of their own."""
        if self.unit is not None and course.schedule.iv_rows:
            course.visits = self.unit.env.process(self._chair_visits(p, course))

    def first_visits_queueing(self, p: Patient) -> list[simpy.Event]:
        """The first visits, still queueing, of the treatment the patient's next decision is about:
        the pulse for its end; every course the line began with for the line's response."""
        courses = [p.gc] if p.next_trigger == "pulse_complete" else [p.gc, *p.agents]
        return [c.first_visit for c in courses if c is not None and c.first_visit is not None
                and not c.first_visit.triggered and c.episode_day == p.episode_day]

    def _chair_visits(self, p: Patient, course: Course):
        """Each IV row of the course is a visit of whole-day sessions on consecutive days, each
        queueing for a chair. Visits before the horizon starts are history, given as planned.
        Stops when the course stops (an interrupt)."""
        unit, env = self.unit, self.unit.env
        postpone = unit.settings.delay_effect == "postpone"
        k, number = 0, 0
        try:
            while k < len(course.schedule.iv_rows):
                schedule, row = course.schedule, course.schedule.iv_rows[k]
                planned = course.start_day + schedule.row_offsets[row]
                if planned >= p.end_day:
                    return
                number += 1
                k += 1
                calendar = p.diagnosis_day + planned
                if calendar < 0:
                    continue
                if p.clock_offset + planned > env.now:
                    yield env.timeout(p.clock_offset + planned - env.now)
                    if k > len(course.schedule.iv_rows):
                        return  # the rest of the course went home as SCIG while this visit waited for its day
                visit = Visit(schedule.row_steps[row].drug, number, calendar,
                               round(schedule.row_ends[row] - schedule.row_offsets[row]))
                if postpone:
                    course.waiting_from = planned
                    if number == 1:
                        course.first_visit = env.event()
                try:
                    given = yield from self._give_visit(p, course, row, visit, postpone)
                finally:
                    unit.record_visit(p.patient_id, visit)
                    if course.first_visit is not None and not course.first_visit.triggered:
                        course.first_visit.succeed()
                if given is not course:
                    course, k = given, 1  # given late: the rest of the course begins with this visit
        except simpy.Interrupt:
            return

    def _give_visit(self, p: Patient, course: Course, row: int, visit: Visit, postpone: bool):
        """The visit's sessions, each due the day after the one before. When the first starts late,
        the course (with `postpone`) moves with it before anything else happens; returns the course,
        or what is left of it when a later visit moved the rest."""
        unit, env = self.unit, self.unit.env
        given = course
        for session in range(visit.sessions):
            if session:
                yield env.timeout(math.floor(unit.today()) + 1 - unit.today())
            index, chair = yield from unit.take_chair(visit)
            if session == 0:
                course.waiting_from = INF
                late = visit.start_day - visit.planned_day
                if course.first_visit is not None and not course.first_visit.triggered:
                    course.first_visit.succeed()  # the decision waiting for it may go ahead
                if postpone and late > 0:
                    given = self._given_late(p, course, row, visit.number == 1, late)
            yield from unit.infuse(visit, index, chair)
        return given

    def _given_late(self, p: Patient, course: Course, row: int, first_visit: bool, wait_days: float) -> Course:
        """A visit started `wait_days` late: the course's remaining rows move with it. A course's
        first visit also puts off the decision of the episode it began (the response starts later)."""
        p.today = self.unit.env.now - p.clock_offset
        disease = self.disease
        if first_visit:
            course.start_day += wait_days
            if course is p.gc:
                plan_glucocorticoid(disease, p, course)
            else:
                plan_agent(disease, p, course)
            if course is p.gc and p.pjp_on:
                p.pjp_stop_day += wait_days
            if course is p.gc:
                self.harms.follow(p, course, p.today)
                self.harms.replan(p, p.today)
            if course.episode_day != p.episode_day:
                return course
            if course is p.gc and p.state == "iv_pulse":
                p.next_day += wait_days  # the pulse ends its days after it began
            extra = wait_days - p.episode_delay  # the line's response is put off by its longest wait
            if extra > 0:
                p.episode_delay = wait_days
                p.visit_day += extra  # the line is assessed from when its treatment began
                if p.state == "iv_pulse":
                    p.pending = (p.pending[0] + extra, p.pending[1])
                elif p.next_trigger == "intolerance":
                    p.next_day += extra
            return course
        planned = course.start_day + course.schedule.row_offsets[row]
        self.write_agent_rows(p, course, planned)
        rest = Course(course.drug, planned + wait_days, course.schedule.tail(row), course.started_in,
                      course.infusion, course.episode_day, course.visits)
        p.agents[p.agents.index(course)] = rest
        plan_agent(disease, p, rest)
        return rest
