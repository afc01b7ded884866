"""Cost-effectiveness figures: the plane, the acceptability curve and the value of perfect information."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def ce_plane(points: pd.DataFrame, currency: str, thresholds: list[float], what: str) -> plt.Figure:
    """Incremental QALYs (x) against incremental cost (y) per point (a replication or a parameter draw), one
    colour per scenario against the reference, the means as large markers, dashed lines at the thresholds.
    `points` has scenario, reference, incremental_qalys, incremental_cost."""
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    colours = plt.cm.tab10.colors
    for i, (name, group) in enumerate(points.groupby("scenario", sort=False)):
        colour = colours[(i + 1) % len(colours)]
        ax.scatter(group["incremental_qalys"], group["incremental_cost"], s=14, alpha=0.5, color=colour,
                   label=f"{name} - {group['reference'].iloc[0]} ({len(group)} {what})")
        ax.scatter(group["incremental_qalys"].mean(), group["incremental_cost"].mean(), s=110, marker="D",
                   color=colour, edgecolor="black", zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(0, color="grey", linewidth=0.8)
    span = max(float(points["incremental_qalys"].abs().max()), 1e-9) * 1.15
    x = np.array([-span, span])
    for threshold, style in zip(thresholds, ("--", ":", "-.")):
        ax.plot(x, threshold * x, style, color="black", linewidth=0.9, label=f"{threshold:,.0f} {currency} per QALY")
    costs = points["incremental_cost"]
    low, high = float(costs.min()), float(costs.max())
    pad = max(high - low, abs(high), abs(low), 1e-9) * 0.15
    ax.set(xlim=(-span, span), ylim=(min(low, 0) - pad, max(high, 0) + pad),
           xlabel="incremental QALYs per patient (discounted)",
           ylabel=f"incremental cost per patient ({currency}, discounted)",
           title="Cost-effectiveness plane (diamonds: means; below a line: cost-effective at that threshold)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def ceac(curve: pd.DataFrame, currency: str, thresholds: list[float]) -> plt.Figure:
    """Probability each strategy is the most cost-effective, by threshold; the frontier marked."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, group in curve.groupby("strategy", sort=False):
        line, = ax.plot(group["threshold_per_qaly"], group["probability_most_cost_effective"], label=name)
        front = group[group["on_frontier"]]
        ax.scatter(front["threshold_per_qaly"], front["probability_most_cost_effective"], s=10,
                   color=line.get_color())
    for threshold in thresholds:
        ax.axvline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.set(ylim=(-0.02, 1.02), xlabel=f"willingness to pay ({currency} per QALY)",
           ylabel="probability most cost-effective",
           title="Cost-effectiveness acceptability curve (dots: highest expected net benefit)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def evpi(table: pd.DataFrame, currency: str, thresholds: list[float], population: float | None) -> plt.Figure:
    """Expected value of perfect information per patient (and for the population when there is one)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(table["threshold_per_qaly"], table["evpi_per_patient"], color="#08519c")
    for threshold in thresholds:
        ax.axvline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.set(xlabel=f"willingness to pay ({currency} per QALY)", ylabel=f"EVPI per patient ({currency})",
           title="Expected value of perfect information")
    if population:
        right = ax.secondary_yaxis("right", functions=(lambda v: v * population / 1e6,
                                                       lambda v: v * 1e6 / population))
        right.set_ylabel(f"for the region's {population:,.0f} patients (million {currency})")
    fig.tight_layout()
    return fig
