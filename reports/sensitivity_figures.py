"""Sensitivity analysis outputs, drawn from the tables `iimsim.experiments.sensitivity` computes: the tornado of
a one-way analysis, the spread of outcomes across a PSA's draws, and the files of each."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from iimsim.reports.figures import save_figure  # noqa: E402

PSA_FIGURE_METRICS = ["share_reached_remission", "mean_pred_cum_mg", "ivig_g_total"]


def tornado(table: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(table) + 1.5))
    base = table["outcome_baseline"].iloc[0]
    rows = table.iloc[::-1]
    y = np.arange(len(rows))
    ax.barh(y, rows["outcome_at_low"] - base, left=base, color="#6baed6", label="parameter at 2.5th percentile")
    ax.barh(y, rows["outcome_at_high"] - base, left=base, color="#fd8d3c", label="parameter at 97.5th percentile")
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(y, rows["parameter"], fontsize=8)
    ax.set(xlabel=table["outcome"].iloc[0], title="One-way sensitivity (others at baseline)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def psa_figure(spread_table: pd.DataFrame, draws: pd.DataFrame, metrics: list[str]) -> plt.Figure:
    """Each outcome's spread across draws, one colour per scenario (dashed: 2.5th and 97.5th percentiles)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5))
    names = list(dict.fromkeys(draws["scenario"]))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for i, name in enumerate(names):
            colour = plt.cm.tab10.colors[i % 10]
            ax.hist(draws.loc[draws["scenario"] == name, metric], bins=20, color=colour, alpha=0.5,
                    edgecolor="white", label=name)
            row = spread_table[spread_table["scenario"] == name].set_index("metric").loc[metric]
            for q in ("p2_5", "p97_5"):
                ax.axvline(row[q], color=colour, linestyle="--")
        ax.set(title=metric, ylabel="draws")
        ax.title.set_fontsize(9)
    if len(names) > 1:
        np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("Outcomes across parameter draws (dashed: 2.5th and 97.5th percentiles)")
    fig.tight_layout()
    return fig


def write_psa(folder: Path, draws: pd.DataFrame, spread: pd.DataFrame) -> None:
    """psa_draws.csv, psa_summary.csv and psa.png/.svg into `folder`."""
    draws.to_csv(folder / "psa_draws.csv", index=False)
    spread.to_csv(folder / "psa_summary.csv", index=False)
    save_figure(psa_figure(spread, draws, PSA_FIGURE_METRICS), folder, "psa")


def write_one_way(folder: Path, table: pd.DataFrame) -> None:
    """oneway.csv and tornado.png/.svg into `folder`."""
    table.to_csv(folder / "oneway.csv", index=False)
    save_figure(tornado(table), folder, "tornado")
