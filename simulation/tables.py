"""The tidy tables: the contract between `simulation/` and `reports/`.

One place lists every column of every table a run writes (the simulation's, and the costs and outcomes
per patient the reports derive from them), with its type and meaning; units are in the names (`_days`,
`_mg`, `_kg`, `_g`), and time is in days since diagnosis (a year is `YEAR_DAYS` days). The table
reference is generated from here (`python -m simulation.tables`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.pathway.definition import STATE_NAMES
from iimsim.pathway.dosing import LOW_DOSE_MG_PER_DAY
from iimsim.pathway.rules import SEVERE_FEATURES

YEAR_DAYS = 365.25  # days in a year, for every rate per year and every column in years

# Thresholds that define columns of the patients table (not clinical parameters).
PRED_HIGH_MG_PER_DAY = 20.0
# "High dose": above 30 mg/day prednisone-equivalent (Buttgereit et al., Ann Rheum Dis 2002;61:718, the standard
# nomenclature of glucocorticoid doses).
PRED_HIGH_DOSE_MG_PER_DAY = 30.0
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
    ("severity", pa.string(), "severe or non_severe (BMJ Best Practice criteria, any feature below)"),
    *[(name, pa.bool_(), f"severe feature at diagnosis: {name.replace('_', ' ')}") for name in SEVERE_FEATURES],
    ("age_years", pa.float64(), "age at diagnosis, years"),
    ("sex", pa.string(), "female or male"),
    ("weight_kg", pa.float64(), "body weight, kg"),
    ("height_cm", pa.float64(), "height, cm (adults; empty for children, dosed on actual weight and body surface "
                                "from weight)"),
    ("statin_exposed", pa.bool_(), "anti-HMGCR myopathy in a patient on a statin at diagnosis (statin-associated: "
                                   "the statin is stopped)"),
    ("has_ild", pa.bool_(), "interstitial lung disease"),
    ("rp_ild", pa.bool_(), "anti-MDA5 rapidly progressive interstitial lung disease (severe at diagnosis; "
                           "high early mortality)"),
    ("cancer_associated", pa.bool_(), "cancer-associated myositis (a cancer active around diagnosis)"),
    ("has_diabetes", pa.bool_(), "diabetes at diagnosis (lower glucocorticoid dose)"),
    ("has_osteoporosis", pa.bool_(), "osteoporosis at diagnosis (lower glucocorticoid dose)"),
    ("has_glaucoma", pa.bool_(), "glaucoma at diagnosis (lower glucocorticoid dose)"),
    ("high_relapse_risk", pa.bool_(), "high relapse risk (higher glucocorticoid dose)"),
    ("followup_days", pa.float64(), "days from diagnosis to death or the end of the horizon"),
    ("died", pa.bool_(), "died within the horizon"),
    ("death_cause", pa.string(), "serious_infection (a fatal infection, PJP among them), myositis (active disease: "
                                 "its lungs, heart, swallowing), cancer (an associated cancer while active) or "
                                 "other (age, and the glucocorticoid's share); empty if alive"),
    ("final_state", pa.string(), "pathway state at the end of follow-up"),
    ("highest_line", pa.int8(), "highest line of therapy reached: 1 first, 2 second, 3 third, "
                                "4 refractory combination, 5 refractory alternative"),
    ("time_to_remission_days", pa.float64(), "days to first entry into maintenance; empty if none"),
    ("flares", pa.int32(), "flares on maintenance or on a treatment line, relapses after withdrawal, and "
                             "rebounds as the glucocorticoid comes off in remission"),
    ("pred_cum_mg", pa.float64(), "cumulative prednisone-equivalent dose over follow-up, mg "
                                  "(pulses included, methylprednisolone x 1.25)"),
    ("pred_cum_mg_first_year", pa.float64(), "cumulative prednisone-equivalent dose in days 0-365.25, mg"),
    ("days_pred_ge_20mg", pa.float64(), "days at prednisone-equivalent >= 20 mg/day"),
    ("days_pred_gt_7_5mg", pa.float64(), "days at prednisone-equivalent > 7.5 mg/day"),
    ("days_pred_gt_30mg", pa.float64(), "days at a high dose: prednisone-equivalent > 30 mg/day (pulses included)"),
    ("longest_high_dose_hold_days", pa.float64(), "the longest stretch at one unchanged dose above 30 mg/day "
                                                  "prednisone-equivalent, days: a high dose held, not tapered"),
    ("days_to_pred_le_5mg", pa.float64(), "days until the glucocorticoid dose first falls to <= 5 mg/day "
                                          "(or stops); empty if it never does"),
    ("ivig_g", pa.float64(), "IVIG given over follow-up, g"),
    ("autoantibody", pa.string(), "myositis autoantibody (anti_jo1, anti_mi2, anti_mda5, ...) or seronegative"),
    ("untreated_activity", pa.float64(), "disease activity at diagnosis, 0-1 (1 = the worst the disease gets)"),
    ("steroid_dependent", pa.bool_(), "the first-line steroid-sparing agents alone, at full effect, would not hold "
                                      "the disease in remission, but with some glucocorticoid they would"),
    ("steroid_threshold_mg_per_day", pa.float64(), "for a steroid-dependent patient, the prednisone-equivalent "
                                                   "dose below which the disease rebounds on first-line agents "
                                                   "at full effect; empty otherwise"),
    ("tis_6_months", pa.float64(), "Total Improvement Score (2016 ACR/EULAR, 0-100) from diagnosis at the "
                                   "assessment nearest day 182.6; empty if dead or not followed that long"),
    ("tis_12_months", pa.float64(), "TIS from diagnosis at the assessment nearest day 365.25; empty if dead or "
                                    "not followed that long"),
    ("improvement_12_months", pa.string(), "none, minimal, moderate or major: tis_12_months by the patient's "
                                           "thresholds (adult 20/40/60, JDM 30/45/70); empty if not assessed"),
    ("activity_final", pa.float64(), "disease activity at the end of follow-up, 0-1"),
    ("damage_final", pa.float64(), "muscle damage at the end of follow-up, 0-1 (share of strength lost)"),
    ("residual_weakness", pa.bool_(), "damage at the end of follow-up at or above the scenario's weakness "
                                      "threshold: weak even in remission"),
    ("population_expected_deaths", pa.float64(), "deaths expected over this follow-up in the general population of "
                                                 "the patient's age and sex (its cumulative hazard): the "
                                                 "denominator of a standardised mortality ratio"),
    ("flares_during_taper", pa.int32(), "flares on a treatment line (the glucocorticoid stepped back up)"),
    ("ae_new_diabetes", pa.int32(), "new-onset diabetes (0 or 1; patients without diabetes at diagnosis)"),
    ("ae_serious_infection", pa.int32(), "serious infections, PJP included"),
    ("ae_pjp", pa.int32(), "Pneumocystis pneumonia (also counted in ae_serious_infection)"),
    ("ae_fracture", pa.int32(), "osteoporotic fractures"),
    ("ae_cataract", pa.int32(), "cataract (0 or 1)"),
    *[(name, pa.bool_(), f"Praxis pitfall: {name.removeprefix('audit_').replace('_', ' ')}")
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
    ("state", pa.string(), "pathway state in force on the row's first day (the state entered that day, if a "
                          "transition falls on it)"),
]

ASSESSMENT_COLUMNS: list[Column] = [
    *_ID,
    ("day", pa.float64(), "days since diagnosis"),
    ("state", pa.string(), "pathway state when assessed (before any decision)"),
    ("visit", pa.string(), "baseline (a line starts), scheduled, or early (worsening brought the patient in)"),
    ("activity", pa.float64(), "true disease activity, 0-1"),
    ("activity_measured", pa.float64(), "physician's global activity as measured, 0-1"),
    ("tis_from_diagnosis", pa.float64(), "Total Improvement Score (0-100) against the diagnosis baseline"),
    ("tis_from_line_start", pa.float64(), "Total Improvement Score (0-100) against the current line's baseline"),
    ("improvement", pa.string(), "none, minimal, moderate or major: tis_from_line_start by the patient's thresholds"),
    ("imacs_improvement", pa.bool_(), "IMACS definition of improvement met against the line's baseline"),
    ("printo20", pa.bool_(), "PRINTO20 met against the line's baseline"),
    ("damage", pa.float64(), "muscle damage, 0-1"),
    ("prednisone_eq_mg_per_day", pa.float64(), "glucocorticoid dose on the day, prednisone-equivalent mg/day"),
    ("decision", pa.string(), "what followed: a machine trigger (respond, fail, flare, withdraw, relapse), "
                              "taper (goes on), hold (dose kept), observe, or baseline"),
    ("reason", pa.string(), "the rule the decision followed (pathway/clinic.py): remission, flare, second_flare, "
                            "flare_after_failure_assessment, below_minimal (TIS since the line began below minimal "
                            "after its early window), below_moderate_at_failure_assessment, "
                            "not_improving_at_failure_assessment, a_year_without_remission, improving, stalled, "
                            "withdrawal_due, relapse, observe or baseline"),
]

# Only with an [infusion_unit]: calendar days, days since the start of the horizon (day 0 a Monday).
INFUSION_VISIT_COLUMNS: list[Column] = [
    *_ID,
    ("drug", pa.string(), "drug infused (methylprednisolone for an IV pulse)"),
    ("visit", pa.int32(), "visit number within the course, from 1"),
    ("planned_day", pa.float64(), "calendar day the visit was due"),
    ("ready_day", pa.float64(), "calendar day it could first have started in an empty unit (opening hours)"),
    ("start_day", pa.float64(), "calendar day its first session started; empty if none did"),
    ("end_day", pa.float64(), "calendar day its last session ended; empty if none started"),
    ("sessions_planned", pa.int32(), "whole-day sessions in the visit (an IVIG course's days, a pulse's days)"),
    ("sessions_given", pa.int32(), "sessions completed before the course stopped or follow-up ended"),
    ("chair_hours", pa.float64(), "chair-hours the visit used (a session cut short by death or the "
                                  "horizon counts its hours so far)"),
    ("wait_days", pa.float64(), "start_day - planned_day: the whole delay, closed hours included"),
    ("queue_wait_days", pa.float64(), "start_day - ready_day: the delay caused by busy chairs"),
]

INFUSION_UNIT_DAY_COLUMNS: list[Column] = [
    ("replication", pa.int32(), "replication number, from 0"),
    ("day", pa.int32(), "calendar day"),
    ("weekday", pa.int8(), "0 Monday ... 6 Sunday"),
    ("open", pa.bool_(), "the unit opens this day"),
    ("chair_hours_available", pa.float64(), "chairs x opening hours, chair-hours"),
    ("chair_hours_used", pa.float64(), "session hours started this day, chair-hours"),
    ("sessions_started", pa.int32(), "sessions started this day"),
    ("mean_queue_sessions", pa.float64(), "mean number of sessions queueing for a chair during opening "
                                          "hours; empty on closed days"),
]

# Cost categories of the patient_costs table (reports/costs.py prices each): the payer's, whose sum is
# total_cost, and the costs beyond it that a societal perspective adds (societal_total_cost).
COST_CATEGORIES = ("drugs", "ivig", "infusion_chair", "monitoring", "prophylaxis", "states", "clinic_visits",
                   "transitions", "adverse_events", "care", "scig", "scig_training")
SOCIETAL_COST_CATEGORIES = ("productivity", "informal_care")
_COST_MEANING = {
    "scig": "subcutaneous immunoglobulin at home: product and the pump's consumables",
    "scig_training": "nurse visits training patients to give subcutaneous immunoglobulin at home",
    "productivity": "paid work lost to treatment (infusion days, clinic visits, doses at home), patients of "
                    "working age in paid work",
    "informal_care": "carers' time: accompanying patients to treatment (a parent with a child) and help at home",
}
COST_COLUMNS = ([f"{c}_cost" for c in COST_CATEGORIES] + ["total_cost"]
                + [f"{c}_cost" for c in SOCIETAL_COST_CATEGORIES] + ["societal_total_cost"])

PATIENT_COST_COLUMNS: list[Column] = [
    *_ID,
    *[(f"{c}_cost", pa.float64(), f"cost of {_COST_MEANING.get(c, c.replace('_', ' '))} over follow-up, in the "
                                  "scenario's currency") for c in COST_CATEGORIES],
    ("total_cost", pa.float64(), "the payer's cost over follow-up, in the scenario's currency: the categories "
                                 "above summed"),
    *[(f"{c}_cost", pa.float64(), f"societal perspective: {_COST_MEANING[c]} over follow-up, in the scenario's "
                                  "currency (0 without [costs.societal])") for c in SOCIETAL_COST_CATEGORIES],
    ("societal_total_cost", pa.float64(), "the societal perspective's cost over follow-up: total_cost plus "
                                          "productivity and informal care"),
    *[(f"{name}_discounted", pa.float64(), "the same, discounted to diagnosis at the scenario's rate")
      for name in COST_COLUMNS],
]

PATIENT_OUTCOME_COLUMNS: list[Column] = [
    *_ID,
    ("total_cost", pa.float64(), "the payer's cost over follow-up, in the scenario's currency (as "
                                 "patient_costs.parquet): what cost-effectiveness uses"),
    ("total_cost_discounted", pa.float64(), "the same, discounted to diagnosis at the scenario's rate"),
    ("societal_total_cost", pa.float64(), "cost over follow-up from the societal perspective: total_cost plus "
                                          "productivity and informal care (as patient_costs.parquet)"),
    ("societal_total_cost_discounted", pa.float64(), "the same, discounted to diagnosis"),
    ("life_years", pa.float64(), "years from diagnosis to death or the end of follow-up"),
    ("life_years_discounted", pa.float64(), "the same, discounted to diagnosis"),
    ("qalys", pa.float64(), "quality-adjusted life-years over follow-up: health-state utility (from activity "
                            "and damage) minus adverse-event losses; empty without [utilities]"),
    ("qalys_discounted", pa.float64(), "the same, discounted to diagnosis"),
    ("ae_qaly_loss", pa.float64(), "QALYs lost to adverse events (already taken off qalys)"),
    ("ae_qaly_loss_discounted", pa.float64(), "the same, discounted to diagnosis"),
    ("glucocorticoid_qaly_loss", pa.float64(), "QALYs lost to being on glucocorticoid, beyond its named adverse "
                                               "events (already taken off qalys)"),
    ("glucocorticoid_qaly_loss_discounted", pa.float64(), "the same, discounted to diagnosis"),
]

CORE_TABLES = ("patients", "events", "doses", "assessments")
UNIT_TABLES = ("infusion_visits", "infusion_unit_days")
TABLES: dict[str, list[Column]] = {"patients": PATIENT_COLUMNS, "events": EVENT_COLUMNS, "doses": DOSE_COLUMNS,
                                   "assessments": ASSESSMENT_COLUMNS,
                                   "infusion_visits": INFUSION_VISIT_COLUMNS,
                                   "infusion_unit_days": INFUSION_UNIT_DAY_COLUMNS,
                                   "patient_outcomes": PATIENT_OUTCOME_COLUMNS, "patient_costs": PATIENT_COST_COLUMNS}


def build_table(name: str, columns: dict) -> pa.Table:
    """Table `name` from its columns (arrays, or sequences where NaN means empty), in contract order and types."""
    return pa.Table.from_arrays([values if isinstance(values := columns[f.name], pa.Array)
                                 else pa.array(values, f.type, from_pandas=True) for f in SCHEMAS[name]],
                                schema=SCHEMAS[name])


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


def arrow_column(values, dtype: pa.DataType):
    """Python values as an Arrow column of `dtype` (None as null)."""
    if dtype == pa.string():
        return arrow_strings(values)
    return pa.array(values, dtype, from_pandas=True)


def arrow_strings(values) -> pa.Array:
    """Python strings as Arrow through codes: ten times faster than converting each one."""
    codes: dict = {}
    indices = np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int64, count=len(values))
    return pa.array(list(codes), pa.string()).take(indices)


if __name__ == "__main__":
    print(markdown_reference())
