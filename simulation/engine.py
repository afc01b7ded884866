"""The patient process: SimPy time and per-patient chance driving the pathway machine.

A patient waits (a SimPy timeout) only until the next clinically meaningful
event: a clinic visit, a spontaneous flare of the disease, a pulse ending, an
intolerance, death or the horizon. What a visit sees decides the machine's next
trigger (respond, fail, flare, withdraw, relapse) and the taper's pace. Dose
schedules are laid out as courses when treatment starts and written as
constant-rate rows when the course ends, and the disease between events is a
closed-form sum, so nothing ticks day by day.

The engine composes the pieces: the treatment plan says what each state entered
starts (simulation/treatment_plan.py), the courses start and end drug schedules
(courses.py) and re-plan their effects on the disease (treatment_effects.py),
the clinic measures and decides (clinic_visits.py), and with an infusion unit
IV rows are given as visits that queue for a chair (infusion_visits.py).
"""

from __future__ import annotations

from iimsim.pathway.agents import choose_option
from iimsim.pathway.audit import audit_flags
from iimsim.pathway.care import steps_at_diagnosis
from iimsim.pathway.clinic import ADD_IVIG, HOLD, OBSERVE, STOP_GLUCOCORTICOID, TAPER
from iimsim.pathway.glucocorticoids import paced_for
from iimsim.pathway.machine import Firer
from iimsim.pathway.rules import agents_failed, contraindicated, is_juvenile
from iimsim.simulation.treatment_plan import TreatmentPlan
from iimsim.simulation.clinic_visits import Clinic
from iimsim.simulation.cohort import CohortSampler
from iimsim.simulation.courses import Courses
from iimsim.simulation.hazards import Hazards
from iimsim.simulation.cohort import SLOT
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.patient import STATE_INDEX, Course, Patient
from iimsim.simulation.streams import SWITCH_CHOICE, PatientStream

__all__ = ["Course", "Engine", "Patient"]


class Engine:
    """Simulates patients of one scenario and appends their rows to a recorder."""

    def __init__(self, model: CompiledScenario) -> None:
        self.model = model
        self.sampler = CohortSampler(model.scenario.cohort)
        self.fire_machine = Firer()
        self.harms = Hazards(model.harms, model.mortality, lambda: self._recorder)
        self.courses = Courses(model, self.harms)
        self.visits = self.courses.visits
        self.plan = TreatmentPlan(model, self.courses)
        self.clinic = Clinic(model, self.courses)
        self.recorder = None
        self.unit = None  # an InfusionUnit when all of a replication's patients share one
        self.seed = model.scenario.simulation.seed

    # The runner sets both for each chunk; the courses and the unit's visits use them too.

    @property
    def recorder(self):
        return self._recorder

    @recorder.setter
    def recorder(self, recorder) -> None:
        self._recorder = self.courses.recorder = self.clinic.recorder = recorder
        if recorder is not None:
            recorder.visits = self.model.visits  # scores the assessments
            recorder.audit = self.model.audit  # flags a high dose held too long

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
        a = self.sampler.draw(stream.attributes, more=stream.more_attributes, **chosen)
        p.subtype, p.juvenile, p.severe, p.sex = a.subtype, is_juvenile(a.subtype), a.severe, a.sex
        p.age_years, p.weight_kg, p.ild, p.features = a.age_years, a.weight_kg, a.ild, a.features
        p.height_cm, p.statin_exposed = a.height_cm, a.statin_exposed
        p.diabetes, p.osteoporosis, p.glaucoma = a.diabetes, a.osteoporosis, a.glaucoma
        p.high_relapse_risk = a.high_relapse_risk
        p.cancer_associated = stream.attributes[SLOT["cancer"]] < self.model.p_cancer_associated[p.subtype]
        p.diagnosis_day = diagnosis_day
        self.clinic.diagnose(p)  # (may find anti-MDA5 rapidly progressive ILD)
        p.contraindicated = contraindicated(p.ild, self.model.contraindicated_with_ild)
        p.myositis_ratio = self.model.mortality.myositis_ratio(p.subtype, p.ild, p.features[2], p.features[3],
                                                               p.age_years)
        p.end_day = self.model.horizon_days - diagnosis_day  # (sooner if the patient dies)
        self.harms.start(p, stream.attributes[SLOT["death"]])
        return p

    def life(self, env, p: Patient, clock_offset: float = 0.0):
        """The SimPy process of one patient, from diagnosis (SimPy time `clock_offset`) to death or
        the horizon. Times below are the patient's days since diagnosis."""
        if clock_offset > 0:
            p.clock_offset = clock_offset
            yield env.timeout(clock_offset)
        self._fire(p, "triage", 0.0)
        visits, clinic = self.visits, self.clinic
        end, now = p.end_day, 0.0
        while True:
            due = min(p.next_day, p.visit_day, p.flare_day, p.harm_day)
            if due >= end:
                break
            if due > now:
                yield env.timeout(due - now)
                now = due
            p.today = now
            if p.harm_day <= now:
                self.harms.happen(p, now)  # may end follow-up today (death, or a fatal infection)
                end = p.end_day
                continue
            if p.flare_day <= now:
                clinic.spontaneous_flare(p, now)
                self.harms.replan(p, now)
                continue
            queueing = visits.unit is not None and visits.first_visits_queueing(p)
            if queueing:
                # The treatment this decision is about has not started yet: it waits for its first
                # infusions, and is then due again, put off by the wait.
                follow_up_ends = env.timeout(end - now)
                yield env.all_of(queueing) | follow_up_ends
                now = p.today = min(env.now - p.clock_offset, end)
                if follow_up_ends.processed:
                    break
                continue
            if p.next_day <= now:
                self._on_event(p, now)
            elif p.visit_day <= now:
                self._assess(p, now)
        if end > now:
            yield env.timeout(end - now)
        p.today = end
        self._finish(p, end)

    # -- the machine -------------------------------------------------------------------------

    def _fire(self, p: Patient, trigger: str, now: float) -> None:
        source = p.state
        p.days_in[STATE_INDEX[source]] += now - p.since
        p.since = now
        if trigger not in ("pulse_complete", "rebound"):  # (a pulse and its oral course are one episode; a
            p.episode_day, p.episode_delay = now, 0.0  # rebound is the same remission on a higher dose)
        failed = agents_failed(trigger, source, p.option)
        if failed:
            p.failed = p.failed | set(failed)
        dest = self.fire_machine(p, trigger)
        if trigger != "pulse_complete":
            p.reviews = ()  # induction reviews belong to the line they were set for (the plan sets a new line's)
            # a line (or a flare on it) is tapered cautiously until the disease is controlled; remission at the
            # clinician's own pace
            p.gc_pace = p.taper_pace if dest == "maintenance" else paced_for(self.model.gc, p.taper_pace, False)
        recorder = self._recorder
        row = recorder.transition(p, now, trigger, source, dest)
        recorder.set_detail(row, self.plan.enter(p, source, dest, trigger, now))
        if trigger == "rebound":
            p.lowest_measured = p.previous_measured = p.last_measured  # (remission goes on, on the low dose)
            self.clinic.schedule(p, now)
        elif trigger == "flare" and dest == source:
            # A flare during the taper: the same line goes on, its flares now judged from here.
            p.flares_on_line += 1
            p.flares_during_taper += 1
            p.lowest_measured = p.previous_measured = p.last_measured
            self.clinic.schedule(p, now)
        elif trigger not in ("pulse_complete", "die") and not (trigger == "intolerance" and dest == source):
            new_line = dest in self.model.lines or dest == "iv_pulse"
            if trigger == "triage":
                self.clinic.steroid_threshold(p, p.option)
                care = self.model.scenario.care
                if care.mri_at_diagnosis:
                    self.courses.care_step(p, now, "mri")
                for step in steps_at_diagnosis(p.subtype, p.juvenile, p.age_years, p.statin_exposed,
                                               frozenset(care.enhanced_cancer_screening_subtypes),
                                               care.enhanced_cancer_screening_from_age_years):
                    self.courses.care_step(p, now, step)
            self.clinic.new_episode(p, now, new_line)
        if trigger != "die":
            self.harms.replan(p, now)  # the course has moved: its hazards from here

    def _on_event(self, p: Patient, now: float) -> None:
        trigger = p.next_trigger
        if trigger == "intolerance":
            p.intolerant = p.intolerant | {p.suspect}
            line = self.model.lines[p.state]
            # (another agent of the line, never one that failed: with none left the line escalates)
            p.switch_agent = choose_option(line.tables_for(p.subtype, p.ild, p.rp_ild),
                                           p.stream.episode()[SWITCH_CHOICE], p.excluded, p.failed, switching=True)
        self._fire(p, trigger, now)

    def _assess(self, p: Patient, now: float) -> None:
        """A clinic visit: the clinic measures and decides; a trigger fires the machine, otherwise the
        taper goes on, is held, or resumes."""
        decision = self.clinic.visit(p, now, p.visit_kind)
        if decision == STOP_GLUCOCORTICOID:
            # stable remission on the low dose: the glucocorticoid comes off, the agent goes on
            p.gc_withdrawn_day = now
            self.courses.resume_taper(p, now, floor=0.0)
        elif decision in (TAPER, ADD_IVIG):
            if decision == ADD_IVIG:
                self.courses.start_agent(p, "ivig", now)
            # the taper's pace follows the response: slower until the disease is controlled, the clinician's own
            # from then on (for the rest of the episode)
            controlled = p.last_measured <= self.model.visits.clinic.low_activity
            if p.gc_held or (controlled and p.gc_pace != p.taper_pace):
                p.gc_pace = p.taper_pace if controlled else p.gc_pace
                self.courses.resume_taper(p, now, floor=0.0 if p.gc_withdrawn_day is not None else None)
        elif decision == HOLD:
            self.courses.hold_gc(p, now)
        elif decision != OBSERVE:
            if decision in ("flare", "relapse", "rebound"):
                p.flares += 1
            self._fire(p, decision, now)
            return
        self.clinic.schedule(p, now)
        self.harms.replan(p, now)

    # -- end of follow-up --------------------------------------------------------------------

    def _finish(self, p: Patient, end: float) -> None:
        if p.death_day <= end:
            self._fire(p, "die", end)
        courses = self.courses
        courses.stop_agents(p, end)
        courses.close_gc(p, end)
        if p.pjp_on and courses.pjp_cover_end(p) < end:
            courses.pjp_stop(p)
        p.days_in[STATE_INDEX[p.state]] += end - p.since
        p.since = end
        flags = audit_flags(self.model.audit, p.first_line_sparing, p.first_sparing_day, 0.0)
        activity = p.disease.activity(end)
        damage = p.disease.accrue_damage(end, activity)
        expected = self.model.mortality.population_expected_deaths(p.age_years, p.sex == "male", end)
        outcome = (activity, damage, damage >= self.model.disease.weakness_damage, expected, p.juvenile)
        self._recorder.patient(p, end, flags, outcome)
