"""The patient_outcomes table: per patient discounted cost, life-years and QALYs, built batch by batch.

A run computes it chunk by chunk as the tables stream to disk (a patient never spans chunks), keeping only
running sums per replication for the summary metrics, so memory does not grow with the cohort. Costs are
those of `reports.costs` (the same total as patient_costs.parquet); QALYs those of `reports.qalys` (empty
without a [utilities] section).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from iimsim.reports.costs import COST_COLUMNS_READ, PATIENT_COST_SCHEMA, compute_costs
from iimsim.reports.discounting import daily_discount, discounted_days
from iimsim.reports.qalys import QALY_PATIENT_COLUMNS, compute_qalys
from iimsim.reports.resources import add_by_year
from iimsim.scenarios.schema import Scenario
from iimsim.simulation.tables import PATIENT_OUTCOME_COLUMNS, SCHEMAS, YEAR_DAYS

OUTCOME_COLUMNS = PATIENT_OUTCOME_COLUMNS
PATIENT_OUTCOME_SCHEMA = SCHEMAS["patient_outcomes"]
VALUE_COLUMNS = [name for name, _, _ in OUTCOME_COLUMNS[2:]]
COST_VALUE_COLUMNS = ["total_cost", "total_cost_discounted", "societal_total_cost", "societal_total_cost_discounted"]
LIFE_YEAR_COLUMNS = ["life_years", "life_years_discounted"]
QALY_VALUE_COLUMNS = [name for name in VALUE_COLUMNS if name not in COST_VALUE_COLUMNS + LIFE_YEAR_COLUMNS]
ASSESSMENT_COLUMNS = ["replication", "patient_id", "day", "activity", "damage"]


def patient_outcomes(tables: dict[str, pd.DataFrame], scenario: Scenario,
                     costs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per patient of a batch (patients, events, doses, assessments frames): cost, life-years, QALYs. `costs`:
    the batch's patient costs (`reports.costs.compute_costs`) if already computed."""
    if costs is None:
        horizon = scenario.simulation.horizon_years * YEAR_DAYS
        costs, _ = compute_costs(tables, scenario.costs, horizon, by_year=False)
    out = costs[["replication", "patient_id", *COST_VALUE_COLUMNS]].reset_index(drop=True)
    if scenario.utilities is not None:
        qalys = compute_qalys(tables, scenario.utilities, scenario.costs.discount_rate_per_year)
        for column in LIFE_YEAR_COLUMNS + QALY_VALUE_COLUMNS:
            out[column] = qalys[column].to_numpy()
    else:
        followup = tables["patients"]["followup_days"].to_numpy(dtype=float)
        delta = daily_discount(scenario.costs.discount_rate_per_year)
        out["life_years"] = followup / YEAR_DAYS
        out["life_years_discounted"] = discounted_days(np.zeros(len(followup)), followup, delta) / YEAR_DAYS
        for column in QALY_VALUE_COLUMNS:
            out[column] = np.nan
    return out[[name for name, _, _ in OUTCOME_COLUMNS]]


def _frames(tables: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    """The columns costs and QALYs read, strings as categoricals (a price is looked up once per distinct name)."""
    columns = {**COST_COLUMNS_READ, "assessments": ASSESSMENT_COLUMNS,
               "doses": list(dict.fromkeys(COST_COLUMNS_READ["doses"] + ["prednisone_eq_mg_per_day"])),
               "patients": list(dict.fromkeys(COST_COLUMNS_READ["patients"] + QALY_PATIENT_COLUMNS))}
    return {name: tables[name].select(names).to_pandas(strings_to_categorical=True)
            for name, names in columns.items()}


class OutcomeTally:
    """Each batch's patient outcomes as Arrow tables to write, and running sums per replication.

    With `by_year` (a run), each batch's costs are worked out once, by category and by calendar year:
    the patient_costs table is written beside patient_outcomes and the cohort's cost per year summed
    (`cost_by_year`), so a report of a large run reads them rather than costing every row again."""

    def __init__(self, scenario: Scenario, by_year: bool = False) -> None:
        self.scenario = scenario
        self.sums: dict[int, np.ndarray] = {}
        self.counts: dict[int, int] = {}
        self.by_year = by_year
        self.cost_by_year: pd.DataFrame | None = None  # year, category: cost, cost_discounted (all batches)

    def add(self, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
        """The batch's patient_outcomes (and, with `by_year`, patient_costs) tables."""
        frames = _frames(tables)
        horizon = self.scenario.simulation.horizon_years * YEAR_DAYS
        costs, by_year = compute_costs(frames, self.scenario.costs, horizon, by_year=self.by_year)
        frame = patient_outcomes(frames, self.scenario, costs)
        for replication, rows in frame.groupby("replication", sort=True):
            values = rows[VALUE_COLUMNS].to_numpy(dtype=float)
            self.sums[int(replication)] = self.sums.get(int(replication), 0.0) + values.sum(axis=0)
            self.counts[int(replication)] = self.counts.get(int(replication), 0) + len(rows)
        out = {"patient_outcomes": pa.Table.from_pandas(frame, schema=PATIENT_OUTCOME_SCHEMA, preserve_index=False)}
        if by_year is not None:
            out["patient_costs"] = pa.Table.from_pandas(costs, schema=PATIENT_COST_SCHEMA, preserve_index=False)
            self.cost_by_year = add_by_year(self.cost_by_year, by_year)
        return out

    def means(self) -> pd.DataFrame:
        """Mean per patient of every outcome, one row per replication."""
        rows = [dict(zip(VALUE_COLUMNS, self.sums[r] / self.counts[r]), replication=r) for r in sorted(self.sums)]
        return pd.DataFrame(rows, columns=["replication", *VALUE_COLUMNS])

    def by_replication(self) -> pd.DataFrame:
        """Summary metrics per replication (summary_by_replication.csv's columns)."""
        return outcome_metrics(self.means(), self.scenario)


def outcome_metrics(means: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Cost, life-years, QALYs and net monetary benefit per patient, one row per replication and metric."""
    currency = scenario.costs.currency
    per_patient = f"{currency}/patient"
    specs = [
        ("mean_total_cost", "total_cost", per_patient, "mean cost per patient over follow-up"),
        ("mean_total_cost_discounted", "total_cost_discounted", per_patient,
         "mean cost per patient, discounted to diagnosis"),
        ("mean_societal_cost", "societal_total_cost", per_patient,
         "mean cost per patient over follow-up from the societal perspective: the payer's plus paid work lost to "
         "treatment and carers' time"),
        ("mean_societal_cost_discounted", "societal_total_cost_discounted", per_patient,
         "mean societal cost per patient, discounted to diagnosis"),
        ("mean_life_years", "life_years", "years/patient", "mean life-years per patient over follow-up"),
        ("mean_life_years_discounted", "life_years_discounted", "years/patient",
         "mean life-years per patient, discounted"),
    ]
    if scenario.utilities is not None:
        specs += [
            ("mean_qalys", "qalys", "QALYs/patient", "mean quality-adjusted life-years per patient"),
            ("mean_qalys_discounted", "qalys_discounted", "QALYs/patient", "mean QALYs per patient, discounted"),
            ("mean_ae_qaly_loss_discounted", "ae_qaly_loss_discounted", "QALYs/patient",
             "mean QALYs lost to adverse events per patient, discounted"),
            ("mean_glucocorticoid_qaly_loss_discounted", "glucocorticoid_qaly_loss_discounted", "QALYs/patient",
             "mean QALYs lost to being on glucocorticoid per patient (beyond its adverse events), discounted"),
        ]
    rows = []
    for row in means.itertuples(index=False):
        values = row._asdict()
        for metric, column, unit, description in specs:
            rows.append({"replication": values["replication"], "metric": metric, "value": values[column],
                         "unit": unit, "description": description})
        if scenario.utilities is not None:
            for threshold in scenario.utilities.thresholds_per_qaly:
                rows.append({"replication": values["replication"], "metric": nmb_metric(threshold),
                             "value": threshold * values["qalys_discounted"] - values["total_cost_discounted"],
                             "unit": per_patient,
                             "description": f"net monetary benefit per patient at {threshold:,.0f} {currency} "
                                            "per QALY: threshold x discounted QALYs - discounted cost"})
    return pd.DataFrame(rows, columns=["replication", "metric", "value", "unit", "description"])


def nmb_metric(threshold: float) -> str:
    """The summary metric's name for net monetary benefit at a threshold (per QALY)."""
    return f"net_monetary_benefit_at_{threshold:.0f}"
