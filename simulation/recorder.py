"""Collects one batch of patients' rows and turns them into the tidy tables.

Rows are appended as tuples while patients are simulated; `tables()` turns them
into Arrow tables once per batch, computing the dose-derived patient columns
vectorised over the batch's dose rows (so they agree with the doses table by
construction and cost nothing per event).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pathway.definition import STATE_NAMES
from pathway.glucocorticoids import GLUCOCORTICOIDS
from simulation.model import YEAR_DAYS
from simulation.tables import (
    PRED_ABOVE_LOW_MG_PER_DAY,
    PRED_HIGH_MG_PER_DAY,
    SCHEMAS,
)

_PATIENT_FIELDS = (
    "replication", "patient_id", "subtype", "severity",
    "weakness_below_mrc4", "respiratory_failure_ild", "myocarditis", "severe_dysphagia",
    "other_life_threatening", "age_years", "sex", "weight_kg", "has_ild", "has_diabetes",
    "has_osteoporosis", "has_glaucoma", "high_relapse_risk", "followup_days", "died", "final_state",
    "highest_line", "time_to_remission_days", "flares", "days_to_pred_le_5mg",
    "audit_gc_monotherapy", "audit_delayed_sparing_agent", "audit_high_dose_beyond_4_weeks",
)
_DAYS_IN = tuple(f"days_in_{state}" for state in STATE_NAMES)
_DOSE_DERIVED = ("pred_cum_mg", "pred_cum_mg_first_year", "days_pred_ge_20mg", "days_pred_gt_7_5mg", "ivig_g")


class BatchRecorder:
    """Rows of one batch of patients with consecutive ids from `first_patient_id`."""

    def __init__(self, first_patient_id: int) -> None:
        self.first_patient_id = first_patient_id
        self.patients: list[tuple] = []
        self.days_in: list[list[float]] = []
        self.events: list[tuple] = []
        self.doses: list[tuple] = []

    def transition(self, p, day: float, trigger: str, from_state: str, to_state: str) -> int:
        """Record a transition; returns its row so the detail can be filled in once known."""
        self.events.append((p.replication, p.patient_id, day, trigger, from_state, to_state, True, ""))
        return len(self.events) - 1

    def set_detail(self, row: int, detail: str) -> None:
        self.events[row] = (*self.events[row][:-1], detail)

    def event(self, p, day: float, event: str, detail: str) -> None:
        """A clinical event that is not a transition; its state is filled in from the transitions."""
        self.events.append((p.replication, p.patient_id, day, event, None, None, False, detail))

    def dose(self, p, step, start_day: float, end_day: float, state: str) -> None:
        self.doses.append((p.replication, p.patient_id, step.drug, step.route, start_day, end_day, step.dose,
                           step.dose_unit, step.prednisone_eq_mg_per_day, state))

    def patient(self, p, end_day: float, audit: tuple[bool, bool, bool]) -> None:
        f = p.features
        self.patients.append((
            p.replication, p.patient_id, p.subtype, "severe" if p.severe else "non_severe",
            f[0], f[1], f[2], f[3], f[4], p.age_years, p.sex, p.weight_kg, p.ild, p.diabetes,
            p.osteoporosis, p.glaucoma, p.high_relapse_risk, end_day, p.state == "dead", p.state,
            p.highest_line, p.remission_day, p.flares, p.first_le5_day, *audit,
        ))
        self.days_in.append(p.days_in)

    # -- tables ---------------------------------------------------------------------------------

    def tables(self) -> dict[str, pa.Table]:
        events = _fill_states(self._sorted_table("events", self.events, "day"))
        doses = self._sorted_table("doses", self.doses, "start_day")
        return {"patients": self._patients_table(doses), "events": events, "doses": doses}

    @staticmethod
    def _sorted_table(name: str, rows: list[tuple], day_column: str) -> pa.Table:
        schema = SCHEMAS[name]
        columns = list(zip(*rows)) if rows else [[] for _ in schema]
        table = pa.table({f.name: pa.array(col, f.type) for f, col in zip(schema, columns)}, schema=schema)
        if not rows:
            return table
        # Patients' processes interleave in time: order by patient, then day (stable).
        order = np.lexsort((table[day_column].to_numpy(), table["patient_id"].to_numpy()))
        return table.take(order)

    def _patients_table(self, doses: pa.Table) -> pa.Table:
        n = len(self.patients)
        # Patients finish in order of their end day; the table is in patient order.
        order = sorted(range(n), key=lambda i: self.patients[i][1])
        rows = [self.patients[i] for i in order]
        columns = dict(zip(_PATIENT_FIELDS, zip(*rows))) if n else {k: [] for k in _PATIENT_FIELDS}
        days_in = np.array([self.days_in[i] for i in order], dtype=float).reshape(n, len(STATE_NAMES))
        for j, name in enumerate(_DAYS_IN):
            columns[name] = days_in[:, j]
        columns.update(dose_metrics(doses, self.first_patient_id, n))
        schema = SCHEMAS["patients"]
        return pa.table({f.name: pa.array(columns[f.name], f.type) for f in schema}, schema=schema)


def _fill_states(events: pa.Table) -> pa.Table:
    """A non-transition event happens in the state the latest transition before it entered.

    Each patient's events start with the triage transition at day 0, so the fill
    never crosses from one patient to the next.
    """
    if events.num_rows == 0:
        return events
    is_transition = events["is_transition"].to_numpy(zero_copy_only=False)
    positions = np.arange(events.num_rows)
    latest = np.maximum.accumulate(np.where(is_transition, positions, 0))
    to_state = events["to_state"].take(pa.array(latest))
    from_state = pc.if_else(events["is_transition"], events["from_state"], to_state)
    events = events.set_column(events.schema.get_field_index("from_state"), "from_state", from_state)
    return events.set_column(events.schema.get_field_index("to_state"), "to_state", to_state)


def dose_metrics(doses: pa.Table, first_patient_id: int, n: int) -> dict[str, np.ndarray]:
    """Per-patient glucocorticoid and IVIG exposure from a batch's dose rows."""
    index = doses["patient_id"].to_numpy() - first_patient_id
    start = doses["start_day"].to_numpy()
    end = doses["end_day"].to_numpy()
    days = end - start
    drug = doses["drug"].to_numpy(zero_copy_only=False)
    pred = doses["prednisone_eq_mg_per_day"].to_numpy(zero_copy_only=False)
    gc = np.isin(drug, GLUCOCORTICOIDS)
    ivig = drug == "ivig"
    dose = doses["dose"].to_numpy()
    first_year_days = np.clip(end, 0, YEAR_DAYS) - np.clip(start, 0, YEAR_DAYS)

    def per_patient(mask, weights):
        return np.bincount(index[mask], weights=weights[mask], minlength=n)

    return {
        "pred_cum_mg": per_patient(gc, pred * days),
        "pred_cum_mg_first_year": per_patient(gc, pred * first_year_days),
        "days_pred_ge_20mg": per_patient(gc & (pred >= PRED_HIGH_MG_PER_DAY), days),
        "days_pred_gt_7_5mg": per_patient(gc & (pred > PRED_ABOVE_LOW_MG_PER_DAY), days),
        "ivig_g": per_patient(ivig, dose * days),
    }
