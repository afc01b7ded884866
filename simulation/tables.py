"""The tidy tables: the contract between `simulation/` and `reports/`.

One place lists every column with its type and meaning; units are in the names
(`_days`, `_mg`, `_kg`, `_g`). The README's table reference is generated from here
(`python -m simulation.tables`).
"""

from __future__ import annotations

import pyarrow as pa

from pathway.audit import AUDIT_COLUMNS
from pathway.definition import STATE_NAMES
from pathway.dosing import LOW_DOSE_MG_PER_DAY
from pathway.rules import SEVERE_FEATURES

# Thresholds that define columns of the patients table (not clinical parameters).
PRED_HIGH_MG_PER_DAY = 20.0
PRED_ABOVE_LOW_MG_PER_DAY = 7.5
PRED_LOW_MG_PER_DAY = LOW_DOSE_MG_PER_DAY

Column = tuple[str, pa.DataType, str]

_ID: list[Column] = [
    ("replication", pa.int32(), "replication number, from 0"),
    ("patient_id", pa.int64(), "patient number within the replication, from 0"),
]

PATIENT_COLUMNS: list[Column] = [
    *_ID,
    ("diagnosis_day", pa.float64(), "calendar day of diagnosis, days since the start of the horizon: 0 in a "
                                    "closed cohort; in a region, negative for patients diagnosed before it"),
    ("subtype", pa.string(), "DM, PM, IMNM_HMGCR, IMNM_SRP, ASS, IBM or JDM"),
    ("severity", pa.string(), "severe or non_severe (seed 003 criteria, any feature below)"),
    *[(name, pa.bool_(), f"severe feature at diagnosis: {name.replace('_', ' ')}") for name in SEVERE_FEATURES],
    ("age_years", pa.float64(), "age at diagnosis, years"),
    ("sex", pa.string(), "female or male"),
    ("weight_kg", pa.float64(), "body weight, kg"),
    ("has_ild", pa.bool_(), "interstitial lung disease"),
    ("has_diabetes", pa.bool_(), "diabetes at diagnosis (lower glucocorticoid dose)"),
    ("has_osteoporosis", pa.bool_(), "osteoporosis at diagnosis (lower glucocorticoid dose)"),
    ("has_glaucoma", pa.bool_(), "glaucoma at diagnosis (lower glucocorticoid dose)"),
    ("high_relapse_risk", pa.bool_(), "high relapse risk (higher glucocorticoid dose)"),
    ("followup_days", pa.float64(), "days from diagnosis to death or the end of the horizon"),
    ("died", pa.bool_(), "died within the horizon"),
    ("final_state", pa.string(), "pathway state at the end of follow-up"),
    ("highest_line", pa.int8(), "highest line of therapy reached: 1 first, 2 second, 3 third, "
                                "4 refractory combination, 5 refractory alternative"),
    ("time_to_remission_days", pa.float64(), "days to first entry into maintenance; empty if none"),
    ("flares", pa.int32(), "flares on maintenance plus relapses after withdrawal"),
    ("pred_cum_mg", pa.float64(), "cumulative prednisone-equivalent dose over follow-up, mg "
                                  "(pulses included, methylprednisolone x 1.25)"),
    ("pred_cum_mg_first_year", pa.float64(), "cumulative prednisone-equivalent dose in days 0-365.25, mg"),
    ("days_pred_ge_20mg", pa.float64(), "days at prednisone-equivalent >= 20 mg/day"),
    ("days_pred_gt_7_5mg", pa.float64(), "days at prednisone-equivalent > 7.5 mg/day"),
    ("days_to_pred_le_5mg", pa.float64(), "days until the glucocorticoid dose first falls to <= 5 mg/day "
                                          "(or stops); empty if it never does"),
    ("ivig_g", pa.float64(), "IVIG given over follow-up, g"),
    *[(name, pa.bool_(), f"seed 001 pitfall: {name.removeprefix('audit_').replace('_', ' ')}")
      for name in AUDIT_COLUMNS],
    *[(f"days_in_{state}", pa.float64(), f"days spent in state {state}") for state in STATE_NAMES],
]

EVENT_COLUMNS: list[Column] = [
    *_ID,
    ("day", pa.float64(), "days since diagnosis (calendar day = diagnosis_day + day)"),
    ("event", pa.string(), "machine trigger (for transitions) or clinical event"),
    ("from_state", pa.string(), "state before the event"),
    ("to_state", pa.string(), "state after the event (the same for non-transition events)"),
    ("is_transition", pa.bool_(), "true when the event is a transition of the pathway machine"),
    ("detail", pa.string(), "drugs started, infusion given, or reason"),
]

DOSE_COLUMNS: list[Column] = [
    *_ID,
    ("drug", pa.string(), "drug name"),
    ("route", pa.string(), "oral, oral_alternate_day, subcutaneous or iv"),
    ("start_day", pa.float64(), "first day of this constant rate, days since diagnosis"),
    ("end_day", pa.float64(), "day the rate ends (exclusive)"),
    ("dose", pa.float64(), "dose rate, in dose_unit"),
    ("dose_unit", pa.string(), "mg/day, mg/week, mg/48h (alternate days) or g/day"),
    ("prednisone_eq_mg_per_day", pa.float64(), "prednisone-equivalent mg/day for glucocorticoids; "
                                               "empty for other drugs"),
    ("state", pa.string(), "pathway state in which this course was started (provenance)"),
]

TABLES: dict[str, list[Column]] = {"patients": PATIENT_COLUMNS, "events": EVENT_COLUMNS, "doses": DOSE_COLUMNS}


def schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype, _ in columns])


SCHEMAS: dict[str, pa.Schema] = {name: schema(cols) for name, cols in TABLES.items()}


def markdown_reference() -> str:
    """The tables' columns as Markdown, for the README."""
    parts = []
    for table, columns in TABLES.items():
        parts.append(f"**{table}**\n\n| column | type | meaning |\n|---|---|---|")
        parts.extend(f"| `{name}` | {dtype} | {text} |" for name, dtype, text in columns)
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    print(markdown_reference())
