"""Collects one batch of patients' rows and turns them into the tidy tables.

While patients are simulated, rows are appended column by column as numbers:
dose steps by their registry number (`pathway.dosing.step_number`), event names
and states by their index. `tables()` sorts a batch with numpy and builds each
string column with one `take` from a small array of names, several times cheaper
than converting Python strings. The dose-derived patient columns are computed
vectorised over the batch's dose rows (simulation/exposure.py), so they agree with
the doses table by construction.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np
import pyarrow as pa

from iimsim.pathway.audit import high_dose_held_too_long
from iimsim.pathway.care import CARE_STEPS
from iimsim.pathway.clinic import REASONS
from iimsim.pathway.definition import STATE_NAMES, TRIGGERS
from iimsim.pathway.dosing import STEP_REGISTRY
from iimsim.simulation.assessment import score_rows
from iimsim.simulation.exposure import dose_metrics
from iimsim.simulation.harms import EVENT_OF as HARM_EVENTS
from iimsim.simulation.harms import HARMS
from iimsim.simulation.tables import SCHEMAS, YEAR_DAYS, arrow_column, arrow_strings, build_table

CLINICAL_EVENTS = ("bone_protection_start", "pjp_prophylaxis_start", "pjp_prophylaxis_stop", "infusion",
                   *dict.fromkeys(HARM_EVENTS.values()), *CARE_STEPS)
EVENT_NAMES = (*TRIGGERS, *CLINICAL_EVENTS)
_EVENT_CODE = {name: i for i, name in enumerate(EVENT_NAMES)}
_STATE_CODE = {name: i for i, name in enumerate(STATE_NAMES)}
_NO_STATE = -1  # a non-transition event: its state is filled in from the transitions

_PATIENT_FIELDS = (
    "replication", "patient_id", "diagnosis_day", "subtype", "severity",
    "weakness_below_mrc4", "respiratory_failure_ild", "myocarditis", "severe_dysphagia",
    "other_life_threatening", "age_years", "sex", "weight_kg", "height_cm", "statin_exposed", "has_ild", "has_diabetes",
    "has_osteoporosis", "has_glaucoma", "high_relapse_risk", "followup_days", "died", "final_state",
    "highest_line", "time_to_remission_days", "flares", "days_to_pred_le_5mg",
    "audit_gc_monotherapy", "audit_delayed_sparing_agent",
    "autoantibody", "untreated_activity", "steroid_dependent", "steroid_threshold_mg_per_day",
    "flares_during_taper", "cancer_associated", "rp_ild", "death_cause", *(f"ae_{harm}" for harm in HARMS),
    "activity_final", "damage_final", "residual_weakness", "population_expected_deaths", "juvenile",
)
VISIT_KINDS = ("baseline", "scheduled", "early")
DECISIONS = ("baseline", "respond", "fail", "flare", "withdraw", "relapse", "taper", "hold", "observe", "add_ivig",
             "rebound", "stop_glucocorticoid")
CATEGORIES = ("none", "minimal", "moderate", "major")
_VISIT_CODE = {name: i for i, name in enumerate(VISIT_KINDS)}
_DECISION_CODE = {name: i for i, name in enumerate(DECISIONS)}
_REASON_CODE = {name: i for i, name in enumerate(REASONS)}
_CATEGORY_CODE = {name: i for i, name in enumerate(CATEGORIES)}
# Per assessment row, as numbers: what was measured, and the two baselines it is scored against.
_ASSESSMENT_NUMBERS = ("day", "activity", "activity_measured", "damage", "prednisone_eq_mg_per_day",
                       "diagnosis_activity", "diagnosis_measured", "diagnosis_damage",
                       "line_activity", "line_measured", "line_damage", "expectation",
                       "recovered", "diagnosis_recovered", "line_recovered")
# Days at which the patients table reads the TIS from diagnosis (the nearest assessment).
TIS_COLUMN_DAYS = {"tis_6_months": YEAR_DAYS / 2, "tis_12_months": YEAR_DAYS}
_DAYS_IN = tuple(f"days_in_{state}" for state in STATE_NAMES)
_STEP_FIELDS = ("drug", "route", "dose", "dose_unit", "prednisone_eq_mg_per_day")


class _StepColumns:
    """The registry's steps as Arrow arrays, rebuilt only when new steps were registered."""

    def __init__(self) -> None:
        self.size = -1
        self.arrays: dict[str, pa.Array] = {}

    def get(self) -> dict[str, pa.Array]:
        if self.size != len(STEP_REGISTRY):
            steps = list(STEP_REGISTRY)
            self.arrays = {name: pa.array([getattr(s, name) for s in steps], SCHEMAS["doses"].field(name).type,
                                          from_pandas=True) for name in _STEP_FIELDS}
            self.size = len(steps)
        return self.arrays


_STEP_COLUMNS = _StepColumns()
_STATE_ARRAY = pa.array(STATE_NAMES, pa.string())
_EVENT_ARRAY = pa.array(EVENT_NAMES, pa.string())
_VISIT_ARRAY = pa.array(VISIT_KINDS, pa.string())
_DECISION_ARRAY = pa.array(DECISIONS, pa.string())
_REASON_ARRAY = pa.array(REASONS, pa.string())
_CATEGORY_ARRAY = pa.array(CATEGORIES, pa.string())


class BatchRecorder:
    """Rows of one batch: one replication, patients with consecutive ids from `first_patient_id`."""

    def __init__(self, replication: int, first_patient_id: int) -> None:
        self.replication = replication
        self.first_patient_id = first_patient_id
        self.patients: list[tuple] = []
        self.days_in: list[list[float]] = []
        self.event_patient: list[int] = []
        self.event_day: list[float] = []
        self.event_code: list[int] = []
        self.event_from: list[int] = []
        self.event_to: list[int] = []
        self.event_detail: list[str] = []
        self.dose_patient: list[int] = []
        self.dose_step: list[int] = []
        self.dose_start: list[float] = []
        self.dose_end: list[float] = []
        # Assessments: numbers in one flat list (`_ASSESSMENT_NUMBERS` per row), then the measures' errors,
        # codes beside; scored at once when the table is built (the engine sets `visits`, the scoring rules).
        self.visits = None
        self.audit = None  # the scenario's audit rules (the engine sets them)
        self.assessment_patient: list[int] = []
        self.assessment_numbers: list[float] = []
        self.assessment_errors: list[float] = []
        self.assessment_sensitivity: list[float] = []
        self.assessment_codes: list[int] = []  # state, visit kind, decision, juvenile, reason

    def transition(self, p, day: float, trigger: str, from_state: str, to_state: str) -> int:
        """Record a transition; returns its row so the detail can be filled in once known."""
        self.event_patient.append(p.patient_id)
        self.event_day.append(day)
        self.event_code.append(_EVENT_CODE[trigger])
        self.event_from.append(_STATE_CODE[from_state])
        self.event_to.append(_STATE_CODE[to_state])
        self.event_detail.append("")
        return len(self.event_day) - 1

    def set_detail(self, row: int, detail: str) -> None:
        self.event_detail[row] = detail

    def event(self, p, day: float, event: str, detail: str) -> None:
        """A clinical event (one of `CLINICAL_EVENTS`), in whatever state the patient is then."""
        self.event_patient.append(p.patient_id)
        self.event_day.append(day)
        self.event_code.append(_EVENT_CODE[event])
        self.event_from.append(_NO_STATE)
        self.event_to.append(_NO_STATE)
        self.event_detail.append(detail)

    def dose_rows(self, p, course, stop_day: float) -> int:
        """Write the rows of `course` that began before `stop_day`, the last cut there; returns how many."""
        schedule, start = course.schedule, course.start_day
        # (less a nanoday: a row starting at the stop, up to rounding, has not begun)
        rows = bisect_left(schedule.row_offsets, stop_day - start - 1e-9)
        if rows:
            self.dose_step.extend(schedule.row_numbers[:rows])
            self.dose_start.extend([start + offset for offset in schedule.row_offsets[:rows]])
            ends = [start + end for end in schedule.row_ends[:rows]]
            if ends[-1] > stop_day:  # only the last row can run past the stop
                ends[-1] = stop_day
            self.dose_end.extend(ends)
            self.dose_patient.extend([p.patient_id] * rows)
        return rows

    def assessment(self, p, day: float, state: str, kind: str, activity: float, measured: float, damage: float,
                   pred_mg: float, decision: str, z: list[float], expectation: float = 0.0,
                   why: str = "baseline") -> None:
        d, line = p.baseline_diagnosis, p.baseline_line
        self.assessment_patient.append(p.patient_id)
        self.assessment_numbers.extend((day, activity, measured, damage, pred_mg, d.activity, d.measured, d.damage,
                                        line.activity, line.measured, line.damage, expectation,
                                        p.recovered, d.recovered, line.recovered))
        self.assessment_errors.extend(z[2:1 + len(self.visits.sensitivity)])
        self.assessment_sensitivity.extend(p.measure_sensitivity[1:])
        self.assessment_codes.extend((_STATE_CODE[state], _VISIT_CODE[kind], _DECISION_CODE[decision], p.juvenile,
                                      _REASON_CODE[why]))

    def patient(self, p, end_day: float, audit: tuple[bool, bool], outcome: tuple) -> None:
        f = p.features
        self.patients.append((
            p.replication, p.patient_id, p.diagnosis_day, p.subtype, "severe" if p.severe else "non_severe",
            f[0], f[1], f[2], f[3], f[4], p.age_years, p.sex, p.weight_kg, p.height_cm, p.statin_exposed, p.ild,
            p.diabetes,
            p.osteoporosis, p.glaucoma, p.high_relapse_risk, end_day, p.state == "dead", p.state,
            p.highest_line, p.remission_day, p.flares, p.first_le5_day, *audit,
            p.autoantibody, p.untreated_activity, p.steroid_dependent, p.steroid_threshold, p.flares_during_taper,
            p.cancer_associated, p.rp_ild, p.death_cause, *p.harm.counts,
            *outcome,
        ))
        self.days_in.append(p.days_in)

    # -- tables ---------------------------------------------------------------------------------

    def tables(self) -> dict[str, pa.Table]:
        doses = self._doses_table()
        assessments = self._assessments_table()
        return {"patients": self._patients_table(doses, assessments), "events": self._events_table(),
                "doses": doses, "assessments": assessments}

    def _replication(self, n: int) -> np.ndarray:
        return np.full(n, self.replication, dtype=np.int32)

    def _events_table(self) -> pa.Table:
        patient = np.array(self.event_patient, dtype=np.int64)
        day = np.array(self.event_day, dtype=float)
        # Patients' processes interleave in time: order by patient, then day (stable).
        order = np.lexsort((day, patient))
        from_code = np.array(self.event_from, dtype=np.int64)[order]
        to_code = np.array(self.event_to, dtype=np.int64)[order]
        is_transition = from_code != _NO_STATE
        # A non-transition event happens in the state the latest transition before it entered; each
        # patient's events start with the triage transition at day 0, so this never crosses patients.
        latest = np.maximum.accumulate(np.where(is_transition, np.arange(len(order)), 0)) if len(order) else order
        to_code = to_code[latest]
        from_code = np.where(is_transition, from_code, to_code)
        columns = {
            "replication": self._replication(len(order)),
            "patient_id": patient[order],
            "day": day[order],
            "event": _EVENT_ARRAY.take(np.array(self.event_code, dtype=np.int64)[order]),
            "from_state": _STATE_ARRAY.take(from_code),
            "to_state": _STATE_ARRAY.take(to_code),
            "is_transition": is_transition,
            "detail": arrow_strings(self.event_detail).take(order),
        }
        return build_table("events", columns)

    def _assessments_table(self) -> pa.Table:
        patient = np.array(self.assessment_patient, dtype=np.int64)
        n = len(patient)
        numbers = np.array(self.assessment_numbers, dtype=float).reshape(n, len(_ASSESSMENT_NUMBERS))
        codes = np.array(self.assessment_codes, dtype=np.int64).reshape(n, 5)
        order = np.lexsort((numbers[:, 0], patient))
        numbers, codes, patient = numbers[order], codes[order], patient[order]
        col = {name: numbers[:, j] for j, name in enumerate(_ASSESSMENT_NUMBERS)}
        width = len(self.visits.sensitivity) - 1
        errors = np.array(self.assessment_errors, dtype=float).reshape(n, width)[order]
        sensitivity = np.array(self.assessment_sensitivity, dtype=float).reshape(n, width)[order]
        measured = (sensitivity, col["activity"], col["activity_measured"], col["damage"])
        tis_diagnosis, _, _ = score_rows(self.visits, *measured, (col["diagnosis_activity"],
                                         col["diagnosis_measured"], col["diagnosis_damage"]), errors,
                                         col["expectation"], (col["recovered"], col["diagnosis_recovered"]))
        tis_line, imacs, printo20 = score_rows(self.visits, *measured, (col["line_activity"], col["line_measured"],
                                               col["line_damage"]), errors, col["expectation"],
                                               (col["recovered"], col["line_recovered"]))
        juvenile = codes[:, 3].astype(bool)
        columns = {name: col[name] for name in ("day", "activity", "activity_measured", "damage",
                                                 "prednisone_eq_mg_per_day")}
        columns.update({
            "replication": self._replication(n),
            "patient_id": patient,
            "state": _STATE_ARRAY.take(codes[:, 0]),
            "visit": _VISIT_ARRAY.take(codes[:, 1]),
            "decision": _DECISION_ARRAY.take(codes[:, 2]),
            "reason": _REASON_ARRAY.take(codes[:, 4]),
            "tis_from_diagnosis": tis_diagnosis,
            "tis_from_line_start": tis_line,
            "improvement": _CATEGORY_ARRAY.take(self._categories(tis_line, juvenile)),
            "imacs_improvement": imacs,
            "printo20": printo20,
        })
        return build_table("assessments", columns)

    def _categories(self, tis: np.ndarray, juvenile: np.ndarray) -> np.ndarray:
        """Improvement category codes by each patient's thresholds (adult or juvenile)."""
        criteria = self.visits.criteria
        adult = np.searchsorted(criteria.thresholds(False), tis, side="right")
        young = np.searchsorted(criteria.thresholds(True), tis, side="right")
        return np.where(juvenile, young, adult).astype(np.int64)

    def _tis_columns(self, assessments: pa.Table, patient_ids: np.ndarray, followup_days: np.ndarray,
                     juvenile: np.ndarray) -> dict[str, object]:
        """TIS from diagnosis at the assessment nearest 6 and 12 months (empty if not followed that long),
        and the improvement category at 12 months."""
        n = len(patient_ids)
        index = assessments["patient_id"].to_numpy() - self.first_patient_id
        day = assessments["day"].to_numpy()
        tis = assessments["tis_from_diagnosis"].to_numpy()
        out: dict[str, object] = {}
        for name, target in TIS_COLUMN_DAYS.items():
            values = np.full(n, np.nan)
            order = np.lexsort((np.abs(day - target), index))
            first = order[np.r_[True, index[order][1:] != index[order][:-1]]] if len(order) else order
            values[index[first]] = tis[first]
            values[followup_days < target] = np.nan
            out[name] = values
        tis_12 = out["tis_12_months"]
        codes = self._categories(np.nan_to_num(tis_12), juvenile)
        out["improvement_12_months"] = [None if v != v else CATEGORIES[c] for v, c in zip(tis_12, codes)]
        return out

    def _doses_table(self) -> pa.Table:
        patient = np.array(self.dose_patient, dtype=np.int64)
        start = np.array(self.dose_start, dtype=float)
        order = np.lexsort((start, patient))
        steps = np.array(self.dose_step, dtype=np.int64)[order]
        step_columns = _STEP_COLUMNS.get()
        columns = {
            "replication": self._replication(len(order)),
            "patient_id": patient[order],
            **{name: step_columns[name].take(steps) for name in _STEP_FIELDS},
            "start_day": start[order],
            "end_day": np.array(self.dose_end, dtype=float)[order],
            "state": _STATE_ARRAY.take(self._states_in_force(patient[order], start[order])),
        }
        return build_table("doses", columns)

    def _states_in_force(self, patient: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The state each (patient, day) is in: the one the patient's latest transition at or before the day entered
        (a row starting on a transition's day is given in the state it enters)."""
        to_code = np.array(self.event_to, dtype=np.int64)
        is_transition = to_code != _NO_STATE
        t_patient = np.array(self.event_patient, dtype=np.int64)[is_transition]
        t_day = np.array(self.event_day, dtype=float)[is_transition]
        t_to = to_code[is_transition]
        if not len(day):
            return np.zeros(0, dtype=np.int64)
        # One sort key per (patient, day): the batch's patients are consecutive, days within a span.
        low = min(t_day.min(), day.min())
        span = max(t_day.max(), day.max()) - low + 2.0
        t_key = (t_patient - self.first_patient_id) * span + (t_day - low)
        order = np.argsort(t_key, kind="stable")  # (same day: the last recorded wins)
        found = np.searchsorted(t_key[order], (patient - self.first_patient_id) * span + (day - low) + 1e-7,
                                side="right") - 1
        return t_to[order][found]

    def _patients_table(self, doses: pa.Table, assessments: pa.Table) -> pa.Table:
        n = len(self.patients)
        # Patients finish in order of their end day; the table is in patient order.
        order = sorted(range(n), key=lambda i: self.patients[i][1])
        rows = [self.patients[i] for i in order]
        columns = dict(zip(_PATIENT_FIELDS, zip(*rows))) if n else {k: [] for k in _PATIENT_FIELDS}
        days_in = np.array([self.days_in[i] for i in order], dtype=float).reshape(n, len(STATE_NAMES))
        for j, name in enumerate(_DAYS_IN):
            columns[name] = days_in[:, j]
        columns.update(dose_metrics(doses, self.first_patient_id, n))
        columns["audit_high_dose_beyond_4_weeks"] = high_dose_held_too_long(self.audit,
                                                                            columns["longest_high_dose_hold_days"])
        juvenile = np.array(columns.pop("juvenile"), dtype=bool)
        columns.update(self._tis_columns(assessments, np.array(columns["patient_id"], dtype=np.int64),
                                         np.array(columns["followup_days"], dtype=float), juvenile))
        return build_table("patients", {name: arrow_column(values, SCHEMAS["patients"].field(name).type)
                                   for name, values in columns.items()})
