"""The patient process: SimPy time and per-patient chance driving the pathway machine.

A patient waits (a SimPy timeout) only until the next clinically meaningful
event: a pulse ending, a response or failure recognised at an assessment, an
intolerance, a flare, a withdrawal, a relapse, death or the horizon. Dose
schedules are laid out as courses when treatment starts and written as
constant-rate rows when the course ends, so nothing ticks day by day.

The engine composes the pieces: the treatment plan says what each state entered
starts (pathway/treatment_plan.py), the courses start and end drug schedules
(courses.py), and with an infusion unit their IV rows are given as visits that
queue for a chair (unit_visits.py).
"""

from __future__ import annotations

from pathway.audit import audit_flags
from pathway.machine import Firer
from pathway.rules import is_juvenile
from pathway.treatment_plan import TreatmentPlan
from simulation.cohort import CohortSampler
from simulation.courses import Courses
from simulation.model import RunModel, exponential_days
from simulation.patient import STATE_INDEX, Course, Patient
from simulation.streams import SWITCH_CHOICE, PatientStream

__all__ = ["Course", "Engine", "Patient"]


class Engine:
    """Simulates patients of one scenario and appends their rows to a recorder."""

    def __init__(self, model: RunModel) -> None:
        self.model = model
        self.sampler = CohortSampler(model.scenario.cohort)
        self.fire_machine = Firer()
        self.courses = Courses(model)
        self.visits = self.courses.visits
        self.plan = TreatmentPlan(model, self.courses)
        self.recorder = None
        self.unit = None  # an InfusionUnit when all of a replication's patients share one
        self.seed = model.scenario.simulation.seed

    # The runner sets both for each chunk; the courses and the unit's visits use them too.

    @property
    def recorder(self):
        return self._recorder

    @recorder.setter
    def recorder(self, recorder) -> None:
        self._recorder = self.courses.recorder = recorder

    @property
    def unit(self):
        return self.visits.unit

    @unit.setter
    def unit(self, unit) -> None:
        self.visits.unit = unit

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
        visits = self.visits
        end, now = p.end_day, 0.0
        while p.next_day < end:
            due = p.next_day
            yield env.timeout(due - now)
            now = due
            queueing = visits.unit is not None and visits.first_visits_queueing(p)
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
        recorder = self._recorder
        row = recorder.transition(p, now, trigger, source, dest)
        recorder.set_detail(row, self.plan.enter(p, source, dest, trigger, now))

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

    # -- end of follow-up --------------------------------------------------------------------

    def _finish(self, p: Patient, end: float) -> None:
        if p.death_day <= end:
            self._fire(p, "die", end)
        courses = self.courses
        courses.stop_agents(p, end)
        courses.close_gc(p, end)
        if p.pjp_on and p.pjp_stop_day < end:
            courses.pjp_stop(p)
        p.days_in[STATE_INDEX[p.state]] += end - p.since
        p.since = end
        flags = audit_flags(self.model.audit, p.first_line_sparing, p.first_sparing_day, 0.0,
                            p.induction_hold_days)
        self._recorder.patient(p, end, flags)
