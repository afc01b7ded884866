"""A comparison of scenarios' runs, from their saved summaries: paired differences with 95% CIs, the
comparison page and its figures, and cost-effectiveness when the runs have QALYs.

Replication r of every run saw the same patients and chance events (common random numbers, the same seed), so
a metric's difference is taken within each replication, then averaged with a t-interval. What runs the
scenarios is `iimsim.experiments.compare`; this module only reads their folders and draws.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from iimsim.reports.cea_figures import ce_plane  # noqa: E402
from iimsim.reports.compare_cea import cost_effectiveness, describe, paired_increments  # noqa: E402
from iimsim.reports.figures import save_figure  # noqa: E402
from iimsim.reports.labels import Money, label  # noqa: E402
from iimsim.reports.report import TEMPLATES  # noqa: E402
from iimsim.reports.summary import INTERVAL_METHOD, combine_replications  # noqa: E402
from iimsim.scenarios.schema import Scenario  # noqa: E402
from iimsim.simulation.tables import YEAR_DAYS  # noqa: E402

KEY_METRICS = ("share_reached_remission", "median_time_to_remission_days", "mean_pred_cum_mg",
               "mean_pred_cum_mg_first_year", "mean_days_pred_ge_20mg", "share_reached_line_3", "share_died",
               "ivig_g_total", "infusion_chair_days_total")
DIFFERENCE_COLUMNS = ["scenario", "reference", "metric", "unit", "reference_value", "scenario_value", "difference",
                      "ci_low", "ci_high", "replications", "interval_method", "description"]


def unique_names(names: list[str]) -> list[str]:
    """Folder names for the scenarios' runs, unique even when two share a name (`baseline`, `baseline-2`)."""
    out, seen = [], {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def by_replication(run_dir: Path) -> pd.DataFrame:
    """A run's summary_by_replication.csv: one row per metric and replication."""
    return pd.read_csv(Path(run_dir) / "summary_by_replication.csv")


def paired_differences(by_replication: dict[str, pd.DataFrame], reference: str) -> pd.DataFrame:
    """Each scenario minus the reference, replication by replication, as mean and 95% CI per metric."""
    ref = by_replication[reference].set_index(["metric", "replication"])["value"]
    rows = []
    for name, table in by_replication.items():
        if name == reference:
            continue
        other = table.set_index(["metric", "replication"])
        diff = (other["value"] - ref.reindex(other.index)).rename("value").reset_index()
        diff = diff.merge(table[["metric", "unit", "description"]].drop_duplicates("metric"), on="metric")
        combined = combine_replications(diff[["replication", "metric", "value", "unit", "description"]])
        means = {n: t.groupby("metric", sort=False)["value"].mean() for n, t in ((reference, by_replication[reference]),
                                                                               (name, table))}
        combined = combined.rename(columns={"value": "difference"}).assign(
            scenario=name, reference=reference,
            reference_value=lambda f: f["metric"].map(means[reference]),
            scenario_value=lambda f: f["metric"].map(means[name]))
        rows.append(combined)
    return pd.concat(rows, ignore_index=True)[DIFFERENCE_COLUMNS] if rows else pd.DataFrame(columns=DIFFERENCE_COLUMNS)


def metrics_figure(summaries: dict[str, pd.DataFrame]):
    fig, axes = plt.subplots(3, 3, figsize=(12, 9))
    names = list(summaries)
    for ax, metric in zip(axes.flat, KEY_METRICS):
        rows = [summaries[n].set_index("metric").loc[metric] for n in names]
        values = np.array([r["value"] for r in rows])
        low = np.array([r["ci_low"] for r in rows])
        high = np.array([r["ci_high"] for r in rows])
        errors = np.vstack([values - low, high - values]) if not np.isnan(low).all() else None
        ax.bar(range(len(names)), values, yerr=errors, capsize=4, color=plt.cm.tab10.colors[: len(names)])
        ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
        ax.set_title(label(metric).heading().replace(" (", "\n("), fontsize=9)
    fig.suptitle("Key metrics per scenario (mean per replication, 95% CI)")
    fig.tight_layout()
    return fig


def dose_figure(run_dirs: dict[str, Path]):
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, run_dir in run_dirs.items():
        curve = pd.read_csv(run_dir / "figures" / "dose_over_time.csv")
        ax.step(curve["day"] / YEAR_DAYS, curve["mean_mg_per_day"], where="post", label=name)
    oral = max(pd.read_csv(d / "figures" / "dose_over_time.csv").query("day >= 7")["mean_mg_per_day"].max()
               for d in run_dirs.values())
    ax.set(ylim=(0, oral * 1.2), xlabel="years since diagnosis", ylabel="mean prednisone-equivalent mg/day",
           title="Glucocorticoid dose over time (week 0 IV pulses off scale)")
    ax.legend()
    fig.tight_layout()
    return fig


def difference_figure(differences: pd.DataFrame):
    shown = differences[differences["metric"].isin(KEY_METRICS)]
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(len(shown), 4) + 1))
    labels = [f"{r.scenario}: {label(r.metric).text}" for r in shown.itertuples()]
    y = np.arange(len(shown))
    scale = np.where(shown["reference_value"].abs() > 0, shown["reference_value"].abs(), 1.0)
    ax.errorbar(100 * shown["difference"] / scale, y, xerr=[100 * (shown["difference"] - shown["ci_low"]) / scale,
                100 * (shown["ci_high"] - shown["difference"]) / scale], fmt="o", capsize=3)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set(xlabel="paired difference, % of the reference value (95% CI)",
           title="Each scenario minus the reference, replication by replication")
    fig.tight_layout()
    return fig


def write_comparison(folder: Path, scenarios: dict[str, Scenario], replications: int, seed: int,
                     independent_seeds: bool) -> pd.DataFrame:
    """From the runs in folder/NAME (each with its report), write comparison.csv, comparison.html, figures/
    and, when the reference has [utilities], cost_effectiveness.csv; returns the paired differences.
    `scenarios` maps each run's folder name to its scenario, the reference first."""
    names = list(scenarios)
    run_dirs = {name: folder / name for name in names}
    summaries = {name: pd.read_csv(run_dir / "summary.csv") for name, run_dir in run_dirs.items()}
    per_replication = {name: by_replication(run_dir) for name, run_dir in run_dirs.items()}
    differences = paired_differences(per_replication, names[0])
    differences.to_csv(folder / "comparison.csv", index=False)
    figures_dir = folder / "figures"
    figures_dir.mkdir()
    figures = [("Key metrics", save_figure(metrics_figure(summaries), figures_dir, "key_metrics")),
               ("Glucocorticoid dose over time", save_figure(dose_figure(run_dirs), figures_dir, "dose_over_time")),
               ("Paired differences", save_figure(difference_figure(differences), figures_dir, "differences"))]
    reference = scenarios[names[0]]
    increments = paired_increments(per_replication, names[0])
    statements = []
    if reference.utilities is not None and len(increments):
        thresholds = list(reference.utilities.thresholds_per_qaly)
        money = Money.of(reference.costs)
        effectiveness = cost_effectiveness(per_replication, names[0], money, thresholds)
        effectiveness.to_csv(folder / "cost_effectiveness.csv", index=False)
        increments.to_csv(figures_dir / "ce_plane.csv", index=False)
        statements = [describe(row, thresholds) for _, row in effectiveness.iterrows()]
        figures.append(("Cost-effectiveness plane", save_figure(
            ce_plane(increments, money.heading, thresholds, "replications"), figures_dir, "ce_plane")))
    html = TEMPLATES.get_template("compare.html.j2").render(
        names=names, scenarios=scenarios, figures=figures, differences=differences.to_dict("records"),
        replications=replications, seed=seed, independent=independent_seeds, interval=INTERVAL_METHOD,
        statements=statements, money=Money.of(reference.costs))
    (folder / "comparison.html").write_text(html, "utf-8")
    return differences
