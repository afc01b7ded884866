"""A simulated patient and the drug courses it is on.

`Patient` is the pathway machine's model: its `state` plus the facts the guards,
the treatment plan and the engine need. A `Course` is one drug schedule, laid out
when it starts and written as rows when it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from iimsim.pathway.definition import STATE_NAMES
from iimsim.pathway.dosing import Schedule
from iimsim.simulation.streams import PatientStream

STATE_INDEX = {name: i for i, name in enumerate(STATE_NAMES)}
INF = math.inf


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
    # Glucocorticoid courses: the day the dose of the first step began (earlier than start_day when a course
    # carries on today's dose), and which step is a line's induction dose (-1: none).
    level_since: float | None = None  # (None: start_day)
    induction_step: int = -1


class Patient:
    """The machine's model: `state` plus the facts guards and the engine need."""

    __slots__ = (
        "replication", "patient_id", "diagnosis_day", "stream", "subtype", "juvenile", "severe", "sex", "age_years",
        "weight_kg", "height_cm", "statin_exposed", "ivig_due",
        "ild", "features", "diabetes", "osteoporosis", "glaucoma", "high_relapse_risk",
        "death_day", "end_day", "state", "since", "days_in", "line", "highest_line", "remission_line",
        "remission_day", "flares", "switch_agent", "option", "intolerant", "contraindicated", "failed",
        "agents", "gc", "next_day",
        "next_trigger", "pending", "suspect", "pjp_on", "pjp_stop_day", "pjp_agent_until", "first_le5_day",
        "first_sparing_day", "first_line_sparing", "bone_protected",
        "clock_offset", "episode_day", "episode_delay",
        # The disease course (simulation/clinic_visits.py) and what the clinic has seen of it.
        "today", "disease", "untreated_activity", "autoantibody", "gc_response", "agent_response", "withdrawal_u",
        "steroid_dependent", "steroid_threshold", "flare_day", "spontaneous_flares", "visit_day", "visit_kind",
        "visit_drift_z", "baseline_diagnosis", "baseline_line", "line_start_day", "last_activity", "last_measured",
        "last_visit_day", "previous_measured", "lowest_measured", "flares_on_line", "flares_during_taper",
        "gc_held", "reviews", "ivig_if_resistant", "gc_answer", "gc_withdrawn_day", "gc_dependent", "patience", "taper_pace", "gc_pace", "measure_sensitivity", "recovered", "recovered_day", "recovered_input",
        # Risks of death and glucocorticoid harms (simulation/mortality.py, simulation/harms.py).
        "cancer_associated", "rp_ild", "myositis_ratio", "death_cause", "harm", "harm_day", "harm_index",
        "care_done",  # the Praxis mandatory steps done (pathway/care.py)
    )

    @property
    def excluded(self) -> frozenset[str]:
        """Agents this patient is not given: not tolerated, or contraindicated (pathway/rules.py)."""
        return self.intolerant | self.contraindicated

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
        self.contraindicated = frozenset()  # never given (pathway/rules.py: contraindicated), set at diagnosis
        self.failed = frozenset()  # agents given on a line that failed (pathway/rules.py: agents_failed)
        self.agents: list[Course] = []
        self.gc: Course | None = None
        self.next_day = INF
        self.next_trigger = ""
        self.pending = (INF, "")
        self.suspect = None
        self.pjp_on = False
        self.pjp_stop_day = 0.0  # the day the glucocorticoid's need for PJP prophylaxis ends
        self.pjp_agent_until = -INF  # the day the agents' need ends (simulation/courses.py: agent_prophylaxis)
        self.first_le5_day = None
        self.height_cm = None
        self.statin_exposed = False
        self.ivig_due = -INF  # the first day a new IVIG course may start: an interval after the last infusion
        self.first_sparing_day = None
        self.first_line_sparing = False
        self.bone_protected = False
        self.clock_offset = 0.0  # SimPy time of the patient's day 0
        self.episode_day = 0.0
        self.episode_delay = 0.0  # how far waits for a chair have put off this episode's decision
        self.today = 0.0  # the patient's day now (days since diagnosis)
        self.disease = None
        self.steroid_dependent = False
        self.steroid_threshold = None
        self.flare_day = INF
        self.spontaneous_flares = 0
        self.visit_day = INF
        self.visit_kind = "scheduled"
        self.visit_drift_z = 0.0
        self.baseline_diagnosis = None
        self.baseline_line = None
        self.line_start_day = 0.0
        self.last_activity = 0.0
        # What strength and function reflect: activity followed slowly as it falls (muscle recovers), at once as
        # it rises (simulation/assessment.py); None before the first measurement.
        self.recovered = None
        self.recovered_day = 0.0
        self.recovered_input = 0.0
        self.last_measured = 0.0
        self.last_visit_day = -INF
        self.previous_measured = 0.0
        self.lowest_measured = 0.0
        self.flares_on_line = 0
        self.flares_during_taper = 0
        self.patience = 1.0  # how long this patient's clinician gives a line, relative to its windows
        self.taper_pace = 1.0  # how slowly the clinician walks the taper ladder (a multiple of its intervals)
        self.gc_pace = 1.0  # the pace in force: the clinician's, slower while the disease is not yet controlled
        self.gc_held = False  # the taper is held at the current dose (improvement stalled)
        self.reviews = ()  # induction reviews still to come, days from the line's start
        self.ivig_if_resistant = False  # IVIG would be added if the disease resists high-dose glucocorticoid
        self.gc_answer = "step_back"  # how the last flare, failure or relapse was answered (pathway/clinic.py)
        self.gc_withdrawn_day = None  # the day the glucocorticoid began to come off in this remission
        self.gc_dependent = False  # it rebounded as the glucocorticoid came off in this remission
        self.cancer_associated = False
        self.rp_ild = False  # anti-MDA5 rapidly progressive interstitial lung disease
        self.myositis_ratio = 1.0  # how much deadlier active myositis is for this patient (organs, age)
        self.death_day = INF
        self.death_cause = None
        self.harm = None
        self.harm_day = INF
        self.harm_index = -1
        self.care_done: set[str] = set()
