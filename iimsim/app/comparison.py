"""Two scenarios on the same patients: paired differences with 95% intervals and the cost-effectiveness verdict,
for the Plan page, signed as `iimsim compare REFERENCE ALTERNATIVE` signs them (the alternative minus the
reference)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iimsim.api import compare
from iimsim.reports.compare_cea import describe
from iimsim.reports.labels import Money, label
from iimsim.scenarios import Scenario

# The metrics the Plan page shows, for a run and for a comparison; their labels are the reports' labels.
KEY_METRICS = ("patients", "share_reached_remission", "median_time_to_remission_days", "share_died",
               "mean_pred_cum_mg_first_year", "mean_pred_cum_mg", "mean_days_pred_ge_20mg", "ivig_g_total",
               "infusion_chair_days_total", "mean_total_cost_discounted", "mean_qalys_discounted",
               "infusion_unit_utilisation")


def compare_runs(scenarios: list[Scenario], *, replications: int, out: Path) -> pd.DataFrame:
    """Each scenario minus the first, replication by replication on the same patients (common random numbers):
    one row per scenario and metric with the difference and its 95% interval (the columns of comparison.csv).
    The first scenario's seed, patients and horizon apply to all (a planner edits one scenario's clinic, not
    its cohort). Writes `out` as `iimsim compare` does: comparison.csv, comparison.html, figures/ and each
    scenario's run with its report.
    """
    first = scenarios[0].simulation
    aligned = [scenario.model_copy(update={"simulation": first}) for scenario in scenarios]
    return compare(aligned, replications=replications, out=out)


def order(mine: Scenario, other: Scenario, other_is_unedited: bool) -> list[Scenario]:
    """[reference, alternative]: the planner's scenario is the reference and the one chosen to compare with the
    alternative, as `iimsim compare MINE OTHER`; against its own unedited self, the unedited one is the reference,
    so that the difference is what the edits change."""
    return [other, mine] if other_is_unedited else [mine, other]


def comparison_table(differences: pd.DataFrame, money: Money) -> pd.DataFrame:
    """The key metrics' paired differences as a planner reads them: label, both means, the difference (shares in
    percentage points) and its 95% CI."""
    key = differences[differences["metric"].isin(KEY_METRICS)]
    first = differences.iloc[0]
    rows = []
    for row in key.itertuples():
        entry = label(row.metric)
        rows.append({"metric": entry.text, first["reference"]: entry.shown(row.reference_value, money),
                     first["scenario"]: entry.shown(row.scenario_value, money),
                     "difference": entry.shown(row.difference, money, difference=True),
                     "95% CI": entry.interval(row.ci_low, row.ci_high, money, difference=True).removeprefix("95% CI ")})
    return pd.DataFrame(rows)


def cost_effectiveness_sentences(folder: Path, reference: Scenario) -> list[str]:
    """The verdict, incremental cost and QALYs and net monetary benefit in words (cost_effectiveness.csv, written
    when the reference has [utilities]); [] without it."""
    path = Path(folder) / "cost_effectiveness.csv"
    if reference.utilities is None or not path.exists():
        return []
    thresholds = list(reference.utilities.thresholds_per_qaly)
    return [describe(row, thresholds) for _, row in pd.read_csv(path).iterrows()]
