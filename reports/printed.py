"""What the command line (and the app) says about a run, a comparison and a PSA: labelled numbers with their units,
every total a mean per replication with its 95% interval, within the horizon, money in the scenario's currency and
price year. Built from a run folder's saved files and the one table of labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iimsim.reports.bad_years import bad_years, header
from iimsim.reports.costs import budget_within_horizon
from iimsim.reports.labels import Money, label
from iimsim.reports.resources import COSTS_BY_YEAR_FILE, RESOURCES_BY_YEAR_FILE
from iimsim.simulation.tables import YEAR_DAYS

RUN_METRICS = ("patients", "patient_years", "share_reached_remission", "share_died", "mean_pred_cum_mg",
               "ivig_g_total", "infusion_chair_days_total", "mean_total_cost_discounted", "mean_qalys_discounted",
               "mean_life_years_discounted", "infusion_unit_utilisation", "infusion_unit_mean_queue_sessions")
COMPARED_METRICS = ("share_reached_remission", "mean_pred_cum_mg", "ivig_g_total", "infusion_chair_days_total")
PSA_METRICS = ("share_reached_remission", "mean_pred_cum_mg", "ivig_g_total", "infusion_chair_days_total",
               "share_died", "mean_total_cost_discounted", "mean_qalys_discounted")
PSA_COLUMNS = {"mean": "mean", "sd": "sd", "p2_5": "2.5th pct", "median": "median", "p97_5": "97.5th pct"}


def _line(metric: str, row, money: Money, replicated: bool, width: int) -> str:
    entry = label(metric)
    text = f"    {entry.text:<{width}}  {entry.shown(row['value'], money)}"
    return text + (f" ({entry.interval(row['ci_low'], row['ci_high'], money)})" if replicated else "")


def run_lines(folder: Path, summary: pd.DataFrame, scenario) -> list[str]:
    """The lines after a run's first: its key metrics, the history before the horizon, the budget within it,
    and a median and a bad year."""
    money = Money.of(scenario.costs)
    rows = summary.set_index("metric")
    replications = int(rows.loc["patients", "replications"])
    replicated = replications > 1
    horizon = scenario.simulation.horizon_years
    shown = [m for m in RUN_METRICS if m in rows.index] + [m for m in rows.index if m.startswith("mean_queue_wait_days_")]
    before = [m for m in rows.index if m.endswith("_before_horizon")]
    width = max(len(label(m).text) for m in [*shown, *before, "infusion_chair_days_per_year_p90"])
    said = (f"mean per replication over {replications} replications (95% CI)" if replicated
            else "one replication (no interval)")
    lines = [f"  {said}, within the {horizon:g}-year horizon:"]
    if replications == 2:  # t = 12.7 on one degree of freedom: intervals that say little, even below zero
        lines.append("  (an interval from 2 replications is very wide; 5 or more give a usable one)")
    lines += [_line(m, rows.loc[m], money, replicated, width) for m in shown]
    per_year = Path(folder) / COSTS_BY_YEAR_FILE
    if per_year.exists():
        for key, (mean, low, high) in budget_within_horizon(pd.read_csv(per_year), range(replications)).items():
            lines.append(_line(key, {"value": mean, "ci_low": low, "ci_high": high}, money, replicated, width))
    if before:
        lines.append("  before the horizon: the history of patients diagnosed before day 0 (not counted above):")
        lines += [_line(m, rows.loc[m], money, replicated, width) for m in before]
    said, years = median_and_bad_year(folder, replications, horizon * YEAR_DAYS)
    if years:
        lines.append(f"  per calendar year, a median and a bad year, {said}:")
        lines += [f"    {text:<{width}}  {value}" for text, value in years]
    return lines


def median_and_bad_year(folder: Path, replications: int, horizon_days: float) -> tuple[str, list[tuple[str, str]]]:
    """(what they rest on, [(label, value with unit)]) for chair-days and IVIG per calendar year at the median and
    the 90th percentile across replication-years; ("", []) without whole years or the run's resources file."""
    resources = Path(folder) / RESOURCES_BY_YEAR_FILE
    if not resources.exists():
        return "", []
    table = bad_years(pd.read_csv(resources), range(replications), horizon_days)
    if not table["replication_years"].iloc[0]:
        return "", []
    shown = [(label(f"{row.measure}_per_year_{kind}").text, label(f"{row.measure}_per_year_{kind}").shown(value))
             for row in table.itertuples() for kind, value in (("median", row.median), ("p90", row.p90))]
    return header(table), shown


def difference_line(row, money: Money) -> str:
    """One paired difference: "severe_ivig - baseline: IVIG given +16,600 g (95% CI +8,834 to +24,360 g)"."""
    entry = label(row.metric)
    return (f"{row.scenario} - {row.reference}: {entry.text} {entry.shown(row.difference, money, difference=True)} "
            f"({entry.interval(row.ci_low, row.ci_high, money, difference=True)})")


def psa_table(spread: pd.DataFrame, money: Money) -> str:
    """The PSA's spread of the key outcomes per scenario, each labelled with its unit."""
    rows = []
    for row in spread[spread["metric"].isin(PSA_METRICS)].itertuples():
        entry = label(row.metric)
        rows.append([row.scenario, entry.text, entry.unit_text(money),
                     *(entry.number(getattr(row, column)) for column in PSA_COLUMNS)])
    return aligned(["scenario", "outcome", "unit", *PSA_COLUMNS.values()], rows, text_columns=3)


def aligned(headings: list[str], rows: list[list[str]], text_columns: int) -> str:
    """A plain-text table: the first `text_columns` columns to the left, the numbers after them to the right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headings, *rows)]
    return "\n".join("  ".join(str(cell).ljust(w) if i < text_columns else str(cell).rjust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
                     for line in [headings, *rows])
