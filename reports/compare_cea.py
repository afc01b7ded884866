"""Cost-effectiveness of compared scenarios: incremental cost and QALYs, the ICER and what it means, net
monetary benefit, each paired within replications (common random numbers) with 95% intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iimsim.reports.cea import fieller_interval, verdict
from iimsim.reports.labels import Money
from iimsim.reports.patient_outcomes import nmb_metric
from iimsim.reports.summary import mean_and_interval

COST, QALYS = "mean_total_cost_discounted", "mean_qalys_discounted"
INCREMENT_COLUMNS = ["scenario", "reference", "replication", "incremental_cost", "incremental_qalys"]


def _per_replication(table: pd.DataFrame, metric: str) -> pd.Series:
    return table[table["metric"] == metric].set_index("replication")["value"].astype(float)


def paired_increments(by_replication: dict[str, pd.DataFrame], reference: str) -> pd.DataFrame:
    """Per replication and scenario: incremental discounted cost and QALYs per patient against the
    reference (empty when a run has no QALYs)."""
    ref = by_replication[reference]
    if QALYS not in set(ref["metric"]):
        return pd.DataFrame(columns=INCREMENT_COLUMNS)
    rows = []
    for name, table in by_replication.items():
        if name == reference or QALYS not in set(table["metric"]):
            continue
        cost = _per_replication(table, COST) - _per_replication(ref, COST)
        qalys = _per_replication(table, QALYS) - _per_replication(ref, QALYS)
        rows.append(pd.DataFrame({"scenario": name, "reference": reference, "replication": cost.index,
                                  "incremental_cost": cost.to_numpy(), "incremental_qalys": qalys.to_numpy()}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=INCREMENT_COLUMNS)


def cost_effectiveness(by_replication: dict[str, pd.DataFrame], reference: str, money: Money,
                       thresholds: list[float]) -> pd.DataFrame:
    """One row per scenario against the reference: incremental cost and QALYs with 95% CIs, the verdict in
    words, the ICER where it is a trade-off (with Fieller's 95% interval), incremental net monetary benefit
    at each threshold with its 95% CI."""
    increments = paired_increments(by_replication, reference)
    rows = []
    for name, group in increments.groupby("scenario", sort=False):
        cost, low_c, high_c = mean_and_interval(group["incremental_cost"])
        qalys, low_q, high_q = mean_and_interval(group["incremental_qalys"])
        said = verdict(cost, qalys, name, reference, money.unit)
        icer_low, icer_high = (fieller_interval(group["incremental_cost"], group["incremental_qalys"])
                               if said.quadrant in ("more_costly_more_effective", "cheaper_less_effective")
                               else (np.nan, np.nan))
        row = {"scenario": name, "reference": reference, "replications": len(group), "currency": money.currency,
               "price_year": money.price_year,
               "incremental_cost_per_patient": cost, "incremental_cost_ci_low": low_c,
               "incremental_cost_ci_high": high_c, "incremental_qalys_per_patient": qalys,
               "incremental_qalys_ci_low": low_q, "incremental_qalys_ci_high": high_q,
               "quadrant": said.quadrant, "icer_per_qaly": said.icer_per_qaly,
               "icer_fieller_ci_low": icer_low, "icer_fieller_ci_high": icer_high, "statement": said.statement}
        for threshold in thresholds:
            nmb = threshold * group["incremental_qalys"] - group["incremental_cost"]
            mean, low, high = mean_and_interval(nmb)
            key = f"incremental_{nmb_metric(threshold)}"
            row.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def describe(row: pd.Series, thresholds: list[float]) -> str:
    """The verdict and its numbers, for a terminal or a page; money in the row's currency and price year."""
    unit = Money(row["currency"], int(row["price_year"])).unit
    text = (f"{row['statement']}. Incremental cost {row['incremental_cost_per_patient']:+,.0f} {unit} per patient "
            f"(95% CI {row['incremental_cost_ci_low']:+,.0f} to {row['incremental_cost_ci_high']:+,.0f}), "
            f"incremental QALYs {row['incremental_qalys_per_patient']:+.4f} "
            f"({row['incremental_qalys_ci_low']:+.4f} to {row['incremental_qalys_ci_high']:+.4f})")
    if row["quadrant"] in ("more_costly_more_effective", "cheaper_less_effective"):
        if np.isnan(row["icer_fieller_ci_low"]):
            text += "; the ICER's 95% interval is unbounded (the QALY difference's interval is not clear of 0)"
        else:
            text += (f"; ICER 95% interval (Fieller) {row['icer_fieller_ci_low']:,.0f} to "
                     f"{row['icer_fieller_ci_high']:,.0f} {unit} per QALY")
            if row["icer_fieller_ci_low"] < 0 or row["icer_fieller_ci_high"] < 0:
                text += " (a negative bound: the cost difference's interval crosses 0)"
    for threshold in thresholds:
        key = f"incremental_{nmb_metric(threshold)}"
        text += (f"; incremental net monetary benefit at {threshold:,.0f} {unit} per QALY {row[key]:+,.0f} "
                 f"(95% CI {row[key + '_ci_low']:+,.0f} to {row[key + '_ci_high']:+,.0f})")
    return text + "."
