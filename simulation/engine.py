"""The patient process: SimPy time and per-patient chance driving the pathway machine.

A patient waits (a SimPy timeout) only until the next clinically meaningful
event: a pulse ending, a response or failure recognised at an assessment, an
intolerance, a flare, a withdrawal, a relapse, death or the horizon. Dose
schedules are laid out as courses when treatment starts and written as
constant-rate rows when the course ends, so nothing ticks day by day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from pathway.agents import schedule as agent_schedule
from pathway.audit import audit_flags
from pathway.definition import STATE_NAMES
from pathway.dosing import Schedule
from pathway.glucocorticoids import (
    cap_mg_per_day,
    induction_mg_per_kg,
    oral_dose_mg_per_day,
    oral_schedule,
    prophylaxis_needed,
)
from pathway.machine import Firer
from pathway.rules import (
    bone_protection,
    ivig_from_outset,
    is_juvenile,
    keeps_background_agent,
    steroid_risk,
    supportive_care_floor_mg_per_day,
)
from simulation.cohort import CohortSampler
from simulation.model import RunModel, exponential_days
from simulation.response import recognised_at_assessment, response_time_days
from simulation.unit import Visit
from simulation.streams import (
    CHOICE,
    INTOLERANCE_TIME,
    INTOLERANT,
    IVIG,
    RESPONDER,
    RESPONSE_TIME,
    SWITCH_CHOICE,
    PatientStream,
)

STATE_INDEX = {name: i for i, name in enumerate(STATE_NAMES)}
INF = math.inf
# The decisions of a line, which a wait for the first infusion of its treatment puts off.
LINE_DECISIONS = frozenset({"respond", "fail", "intolerance"})


@dataclass
class Course:
    """A drug schedule running from `start_day`; its rows are written when it ends."""

    drug: str
    start_day: float
    schedule: Schedule
    started_in: str
    infusion: bool
    episode_day: float = 0.0  # the day the line (or pulse) it belongs to began
    # With an infusion unit: the SimPy process giving its IV visits, and the day of a visit still
    # waiting for a chair (rows from then on are not given yet).
    visits: simpy.Process | None = None
    waiting_from: float = INF
    first_visit: simpy.Event | None = None  # fires when its first visit starts (or will not)


class Patient:
    """The machine's model: `state` plus the facts guards and the engine need."""

    __slots__ = (
        "replication", "patient_id", "diagnosis_day", "stream", "subtype", "juvenile", "severe", "sex", "age_years",
        "weight_kg", "ild", "features", "diabetes", "osteoporosis", "glaucoma", "high_relapse_risk",
        "death_day", "end_day", "state", "since", "days_in", "line", "highest_line", "remission_line",
        "remission_day", "flares", "switch_agent", "option", "intolerant", "agents", "gc", "next_day",
        "next_trigger", "pending", "suspect", "pjp_on", "pjp_stop_day", "first_le5_day",
        "first_sparing_day", "first_line_sparing", "induction_hold_days", "bone_protected",
        "clock_offset", "episode_day", "episode_delay",
    )

    def __init__(self, replication: int, patient_id: int, stream: PatientStream) -> None:
        self.replication = replication
        self.patient_id = patient_id
        self.stream = stream
        self.state = "diagnosis"
        self.since = 0.0
        self.days_in = [0.0] * len(STATE_NAMES)
        self.line = 0
        self.highest_line = 0
        self.remission_line = 0
        self.remission_day = None
        self.flares = 0
        self.switch_agent = None
        self.option = ()
        self.intolerant = frozenset()
        self.agents: list[Course] = []
        self.gc: Course | None = None
        self.next_day = INF
        self.next_trigger = ""
        self.pending = (INF, "")
        self.suspect = None
        self.pjp_on = False
        self.pjp_stop_day = 0.0
        self.first_le5_day = None
        self.first_sparing_day = None
        self.first_line_sparing = False
        self.induction_hold_days = 0.0
        self.bone_protected = False
        self.clock_offset = 0.0  # SimPy time of the patient's day 0
        self.episode_day = 0.0
        self.episode_delay = 0.0  # how far waits for a chair have put off this episode's decision


class Engine:
    """Simulates patients of one scenario and appends their rows to a recorder."""

    def __init__(self, model: RunModel) -> None:
        self.model = model
        self.sampler = CohortSampler(model.scenario.cohort)
        self.fire_machine = Firer()
        self.recorder = None
        self.unit = None  # an InfusionUnit when all of a replication's patients share one
        self.seed = model.scenario.simulation.seed

    # -- patients -------------------------------------------------------------------------------

    def new_patient(self, replication: int, patient_id: int, diagnosis_day: float = 0.0, **chosen) -> Patient:
        """Patient `patient_id` of the cohort, diagnosed on calendar `diagnosis_day` and followed to the
        end of the horizon; `chosen` may fix subtype, severe and weight_kg."""
        stream = PatientStream(self.seed, replication, patient_id)
        p = Patient(replication, patient_id, stream)
        a = self.sampler.draw(stream.attributes, **chosen)
        p.subtype, p.juvenile, p.severe, p.sex = a.subtype, is_juvenile(a.subtype), a.severe, a.sex
        p.age_years, p.weight_kg, p.ild, p.features = a.age_years, a.weight_kg, a.ild, a.features
        p.diabetes, p.osteoporosis, p.glaucoma = a.diabetes, a.osteoporosis, a.glaucoma
        p.high_relapse_risk = a.high_relapse_risk
        p.death_day = exponential_days(stream.attributes[14], self.model.death_rate_per_day[p.subtype])
        p.diagnosis_day = diagnosis_day
        p.end_day = min(p.death_day, self.model.horizon_days - diagnosis_day)
        return p

    def life(self, env, p: Patient, clock_offset: float = 0.0):
        """The SimPy process of one patient, from diagnosis (SimPy time `clock_offset`) to death or
        the horizon. Times below are the patient's days since diagnosis."""
        if clock_offset > 0:
            p.clock_offset = clock_offset
            yield env.timeout(clock_offset)
        self._fire(p, "triage", 0.0)
        end, now = p.end_day, 0.0
        while p.next_day < end:
            due = p.next_day
            yield env.timeout(due - now)
            now = due
            queueing = self.unit is not None and self._first_visits_queueing(p)
            if queueing:
                # The treatment this decision is about has not started yet: it waits for its first
                # infusions, and is then due again, put off by the wait.
                follow_up_ends = env.timeout(end - now)
                yield env.all_of(queueing) | follow_up_ends
                if follow_up_ends.processed:
                    now = end
                    break
                now = min(env.now - p.clock_offset, p.next_day)
                continue
            if p.next_day > due:
                continue  # a wait for a chair put the decision off while asleep
            self._on_event(p, now)
        if end > now:
            yield env.timeout(end - now)
        self._finish(p, end)

    # -- the machine -------------------------------------------------------------------------

    def _fire(self, p: Patient, trigger: str, now: float) -> None:
        source = p.state
        p.days_in[STATE_INDEX[source]] += now - p.since
        p.since = now
        if trigger != "pulse_complete":  # the pulse and the oral course after it are one episode
            p.episode_day, p.episode_delay = now, 0.0
        dest = self.fire_machine(p, trigger)
        row = self.recorder.transition(p, now, trigger, source, dest)
        self.recorder.set_detail(row, self._enter(p, source, dest, trigger, now))

    def _on_event(self, p: Patient, now: float) -> None:
        trigger = p.next_trigger
        if trigger == "intolerance":
            p.intolerant = p.intolerant | {p.suspect}
            line = self.model.lines[p.state]
            table = line.table_for(p.subtype, p.ild)
            p.switch_agent = table.choose(p.stream.episode()[SWITCH_CHOICE], p.intolerant)
        elif trigger == "flare" or trigger == "relapse":
            p.flares += 1
        self._fire(p, trigger, now)

    def _enter(self, p: Patient, source: str, dest: str, trigger: str, now: float) -> str:
        """Start the treatment of the state entered; returns the event's detail."""
        if dest == "iv_pulse":
            detail = self._start_line(p, "first_line", now)
            self._start_gc(p, now, self._induction_mg(p), self.model.gc.initial_hold_days, pulse=True)
            p.induction_hold_days = self.model.gc.initial_hold_days
            p.pending = (p.next_day, p.next_trigger)
            p.next_day, p.next_trigger = now + self.model.gc.pulse_days, "pulse_complete"
            return f"methylprednisolone pulse; {detail}"
        if dest in self.model.lines:
            if source == "iv_pulse":
                p.next_day, p.next_trigger = max(p.pending[0], now), p.pending[1]
                return "oral prednisolone"
            if trigger == "triage":
                p.induction_hold_days = self.model.gc.initial_hold_days
                self._start_gc(p, now, self._induction_mg(p), self.model.gc.initial_hold_days, pulse=False)
            elif trigger == "fail":
                self._raise_gc(p, now, self.model.gc.escalation_mg_per_kg_per_day,
                               self.model.gc.escalation_hold_days)
            elif trigger in ("flare", "relapse"):
                self._raise_gc(p, now, self.model.gc.flare_mg_per_kg_per_day, self.model.gc.flare_hold_days)
            if trigger == "intolerance" and dest == source:
                return self._start_line(p, dest, now, forced=p.switch_agent)
            return self._start_line(p, dest, now)
        if dest == "maintenance":
            return self._start_maintenance(p, now)
        if dest == "drug_free_remission":
            self._stop_agents(p, now)
            self._close_gc(p, now, stopped=True)
            u = p.stream.episode()
            p.next_day = now + exponential_days(u[0], self.model.relapse_rate_per_day_drug_free)
            p.next_trigger = "relapse"
            return "all treatment withdrawn"
        if dest == "supportive_care":
            self._stop_agents(p, now)
            floor = supportive_care_floor_mg_per_day(p.subtype, self.model.gc.supportive_care_mg_per_day)
            current = self._gc_dose(p, now)
            if current > floor:
                self._start_gc(p, now, current, self.model.gc.low_dose_step_days, pulse=False, floor=floor)
            p.next_day, p.next_trigger = INF, ""
            return f"immunosuppression stopped; glucocorticoid to {floor:g} mg/day"
        if dest == "dead":
            return "death"
        raise AssertionError(f"no treatment defined for state {dest!r}")

    # -- lines of therapy --------------------------------------------------------------------

    def _start_line(self, p: Patient, state: str, now: float, forced: tuple[str, ...] | None = None) -> str:
        """Choose the line's agents, start them, and draw the episode's outcome."""
        m = self.model
        line = m.lines[state]
        u = p.stream.episode()
        first = line.line == 1
        if forced is not None:
            option = forced
        elif first and not m.first_line_sparing_agent:
            option = ()  # glucocorticoid monotherapy: a teaching counterfactual only
        else:
            table = line.table_for(p.subtype, p.ild)
            option = table.choose(u[CHOICE], p.intolerant) or table.choose(u[CHOICE])
        keep = {c.drug for c in p.agents if c.drug != "ivig"} if keeps_background_agent(option) else set()
        if forced is not None:
            keep.add("ivig")  # switching agent within a line keeps the line's IVIG course
        self._stop_agents(p, now, keep=keep)
        offset = m.sparing_agent_start_day if first else 0.0
        for drug in option:
            self._start_agent(p, drug, now + offset)
        if first and option:
            p.first_line_sparing = True
        ivig = any(c.drug == "ivig" for c in p.agents)
        if forced is None and not ivig and "ivig" not in option:
            p_ivig = line.p_ivig_severe if p.severe else line.p_ivig_non_severe
            if (first and ivig_from_outset(p.subtype)) or u[IVIG] < p_ivig:
                self._start_agent(p, "ivig", now)
                ivig = True
        p.option = option
        p.line = line.line
        p.highest_line = max(p.highest_line, line.line)

        p_response = line.p_response[p.subtype] if option else m.monotherapy_p_response
        if ivig or "ivig" in option:
            p_response = 1 - (1 - p_response) * m.ivig_nonresponse_ratio[p.subtype]
        drugs = (*option, "ivig") if ivig else option
        full_effect = min((m.agents[d].full_effect_days for d in drugs), default=0.0)
        window = line.failure_assessment_days
        if u[RESPONDER] < p_response:
            t = response_time_days(u[RESPONSE_TIME], m.gc_efficacy_share, full_effect, window)
            delay, trigger = recognised_at_assessment(t, line.assessment_interval_days, window), "respond"
        else:
            delay, trigger = window, "fail"
        if option:
            principal = m.agents[option[0]]
            if u[INTOLERANT] < principal.p_intolerance:
                t_intolerance = u[INTOLERANCE_TIME] * principal.intolerance_window_days
                if t_intolerance < delay:
                    delay, trigger = t_intolerance, "intolerance"
                    p.suspect = option[0]
        p.next_day, p.next_trigger = now + delay, trigger
        given = " + ".join(drugs) if drugs else "no steroid-sparing agent"
        return given

    def _start_maintenance(self, p: Patient, now: float) -> str:
        m = self.model
        p.remission_line = p.line
        if p.remission_day is None:
            p.remission_day = now
        u = p.stream.episode()
        rate = m.flare_rate_per_day[p.subtype]
        if not any(not c.infusion and c.drug != "ivig" for c in p.agents):
            rate *= m.no_sparing_flare_multiplier
        flare_day = now + exponential_days(u[0], rate)
        withdraw_day = now + m.withdrawal_after_days if u[1] < m.p_withdrawal else INF
        if withdraw_day <= flare_day:
            p.next_day, p.next_trigger = withdraw_day, "withdraw"
        else:
            p.next_day, p.next_trigger = flare_day, "flare"
        return f"remission on line {p.line}"

    # -- glucocorticoid courses -------------------------------------------------------------

    def _induction_mg(self, p: Patient) -> float:
        gc = self.model.gc
        mg_per_kg = induction_mg_per_kg(gc, p.juvenile, steroid_risk(p.diabetes, p.osteoporosis, p.glaucoma),
                                        p.high_relapse_risk)
        return oral_dose_mg_per_day(gc, mg_per_kg, p.weight_kg, p.juvenile)

    def _gc_dose(self, p: Patient, day: float) -> float:
        if p.gc is None or day >= p.gc.waiting_from:
            return 0.0
        step = p.gc.schedule.step_at(day - p.gc.start_day)
        return 0.0 if step is None else step.prednisone_eq_mg_per_day

    def _raise_gc(self, p: Patient, now: float, mg_per_kg: float, hold_days: float) -> None:
        """A flare or escalation raises the dose (never lowers it) and restarts the taper."""
        gc = self.model.gc
        raised = oral_dose_mg_per_day(gc, mg_per_kg, p.weight_kg, p.juvenile)
        current = min(self._gc_dose(p, now), cap_mg_per_day(gc, p.juvenile))
        self._start_gc(p, now, max(raised, current), hold_days, pulse=False)

    def _start_gc(self, p: Patient, now: float, start_mg: float, hold_days: float, pulse: bool,
                  floor: float | None = None) -> None:
        gc = self.model.gc
        self._close_gc(p, now)
        floor = gc.maintenance_mg_per_day if floor is None else floor
        schedule = oral_schedule(gc, start_mg, hold_days, floor, pulse)
        p.gc = Course("glucocorticoid", now, schedule, p.state, False, p.episode_day)
        if pulse:
            self._book_chairs(p, p.gc)
        if not p.bone_protected:
            p.bone_protected = True
            self.recorder.event(p, now, "bone_protection_start", bone_protection(p.osteoporosis))
        high_days = prophylaxis_needed(gc, schedule)
        if high_days > 0:
            if not p.pjp_on or p.pjp_stop_day < now:
                if p.pjp_on:
                    self._pjp_stop(p)
                p.pjp_on = True
                self.recorder.event(p, now, "pjp_prophylaxis_start", f"prednisone-equivalent >= {gc.pjp_threshold_mg_per_day:g} mg/day "
                                    f"for >= {gc.pjp_min_days:g} days")
            p.pjp_stop_day = now + high_days
        elif p.pjp_on:
            self._pjp_stop(p)

    def _pjp_stop(self, p: Patient) -> None:
        p.pjp_on = False
        self.recorder.event(p, p.pjp_stop_day, "pjp_prophylaxis_stop", "dose below threshold")

    def _close_gc(self, p: Patient, now: float, stopped: bool = False) -> None:
        """End the glucocorticoid course at `now`: replaced by another, `stopped`, or follow-up ends."""
        if p.gc is None:
            return
        course, p.gc = p.gc, None
        now = self._cancel_visits(course, now)
        if p.pjp_on and p.pjp_stop_day > now:
            p.pjp_stop_day = now
        self.recorder.dose_rows(p, course, now)
        low_day = course.start_day + course.schedule.first_low_offset
        if p.first_le5_day is None and (low_day < now or stopped):
            p.first_le5_day = min(low_day, now)

    # -- other agents ------------------------------------------------------------------------

    def _start_agent(self, p: Patient, drug: str, day: float) -> None:
        rules = self.model.agents[drug]
        course = Course(drug, day, agent_schedule(rules, p.weight_kg), p.state, rules.kind == "infusions",
                        p.episode_day)
        p.agents.append(course)
        if course.infusion:
            self._book_chairs(p, course)
        if drug != "ivig" and (p.first_sparing_day is None or day < p.first_sparing_day):
            p.first_sparing_day = day

    def _stop_agents(self, p: Patient, now: float, keep=frozenset()) -> None:
        kept = []
        for course in p.agents:
            if course.drug in keep:
                kept.append(course)
            else:
                self._close_agent(p, course, now)
        p.agents = kept

    def _close_agent(self, p: Patient, course: Course, now: float) -> None:
        self._write_agent_rows(p, course, self._cancel_visits(course, now))

    def _write_agent_rows(self, p: Patient, course: Course, now: float) -> None:
        rows = self.recorder.dose_rows(p, course, now)
        if course.infusion:
            schedule, start = course.schedule, course.start_day
            for i in range(rows):
                step = schedule.row_steps[i]
                begin = start + schedule.row_offsets[i]
                amount = step.dose * (min(start + schedule.row_ends[i], now) - begin)
                self.recorder.event(p, begin, "infusion", f"{course.drug} {amount:g} {step.dose_unit.split('/')[0]}")

    # -- the infusion unit ---------------------------------------------------------------------

    def _book_chairs(self, p: Patient, course: Course) -> None:
        """With an infusion unit, the course's IV visits are given by a process of their own."""
        if self.unit is not None and course.schedule.iv_rows:
            course.visits = self.unit.env.process(self._chair_visits(p, course))

    def _cancel_visits(self, course: Course, now: float) -> float:
        """Stop a course's visits; returns the day its rows end (a visit still queueing was not given)."""
        if course.visits is not None and course.visits.is_alive:
            course.visits.interrupt()
        return min(now, course.waiting_from)

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

    def _first_visits_queueing(self, p: Patient) -> list[simpy.Event]:
        """The first visits, still queueing, of the treatment the patient's next decision is about:
        the pulse for its end; every course the line began with for the line's response."""
        courses = [p.gc] if p.next_trigger == "pulse_complete" else [p.gc, *p.agents]
        return [c.first_visit for c in courses if c is not None and c.first_visit is not None
                and not c.first_visit.triggered and c.episode_day == p.episode_day]

    def _given_late(self, p: Patient, course: Course, row: int, first_visit: bool, wait_days: float) -> Course:
        """A visit started `wait_days` late: the course's remaining rows move with it. A course's
        first visit also puts off the decision of the episode it began (the response starts later)."""
        if first_visit:
            course.start_day += wait_days
            if course is p.gc and p.pjp_on:
                p.pjp_stop_day += wait_days
            if course.episode_day != p.episode_day:
                return course
            if course is p.gc and p.state == "iv_pulse":
                p.next_day += wait_days  # the pulse ends its days after it began
            extra = wait_days - p.episode_delay  # the line's response is put off by its longest wait
            if extra > 0:
                p.episode_delay = wait_days
                if p.state == "iv_pulse":
                    p.pending = (p.pending[0] + extra, p.pending[1])
                elif p.next_trigger in LINE_DECISIONS:
                    p.next_day += extra
            return course
        planned = course.start_day + course.schedule.row_offsets[row]
        self._write_agent_rows(p, course, planned)
        rest = Course(course.drug, planned + wait_days, course.schedule.tail(row), course.started_in,
                      course.infusion, course.episode_day, course.visits)
        p.agents[p.agents.index(course)] = rest
        return rest

    # -- end of follow-up --------------------------------------------------------------------

    def _finish(self, p: Patient, end: float) -> None:
        if p.death_day <= end:
            self._fire(p, "die", end)
        self._stop_agents(p, end)
        self._close_gc(p, end)
        if p.pjp_on and p.pjp_stop_day < end:
            self._pjp_stop(p)
        p.days_in[STATE_INDEX[p.state]] += end - p.since
        p.since = end
        flags = audit_flags(self.model.audit, p.first_line_sparing, p.first_sparing_day, 0.0,
                            p.induction_hold_days)
        self.recorder.patient(p, end, flags)

