"""Cohort figures, drawn from `reports.figure_data` frames only."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from iimsim.pathway.definition import STATE_NAMES  # noqa: E402
from iimsim.reports.figure_data import TIME_TO_EVENT  # noqa: E402
from iimsim.simulation.tables import YEAR_DAYS  # noqa: E402

STATE_COLOURS = {
    "diagnosis": "#bbbbbb", "iv_pulse": "#6baed6", "first_line": "#9ecae1", "second_line": "#fdae6b",
    "third_line": "#fd8d3c", "refractory_combination": "#e6550d", "refractory_alternative": "#a63603",
    "maintenance": "#74c476", "drug_free_remission": "#31a354", "supportive_care": "#9e9ac8", "dead": "#525252",
}


def save_figure(fig: Figure, folder: Path, name: str) -> str:
    """Write folder/name.svg and .png, close the figure; returns the PNG as base64 (to embed in HTML)."""
    fig.savefig(folder / f"{name}.svg")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    (folder / f"{name}.png").write_bytes(buffer.getvalue())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _years(days):
    return np.asarray(days) / YEAR_DAYS


def cumulative_dose(histogram: pd.DataFrame) -> Figure:
    """The bars of `figure_data.dose_histogram`, whole follow-up and first year."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, title in zip(axes, ("whole follow-up", "first year")):
        bars = histogram[histogram["period"] == title]
        ax.bar(bars["low_g"], bars["patients"], width=bars["high_g"] - bars["low_g"], align="edge",
               color="#6baed6", edgecolor="white")
        mean = bars["mean_g"].iloc[0]
        ax.axvline(mean, color="#08519c", linestyle="--", label=f"mean {mean:.1f} g")
        ax.set(title=f"Cumulative prednisone-equivalent, {title}", xlabel="g (prednisone-equivalent)")
        ax.legend()
    axes[0].set_ylabel("patients")
    fig.tight_layout()
    return fig


def dose_over_time(data: pd.DataFrame) -> Figure:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    years = _years(data["day"])
    top.fill_between(years, data["p10_mg_per_day"], data["p90_mg_per_day"], color="#c6dbef",
                     label="10th-90th percentile", step="post")
    top.step(years, data["mean_mg_per_day"], where="post", color="#08519c", label="mean")
    # Scale to the oral doses: a week-0 IV pulse (1,250 mg/day prednisone-equivalent) would flatten them.
    oral = data.loc[data["day"] >= 7, "p90_mg_per_day"]
    top_mg = max(20.0, float(oral.max()) * 1.15) if len(oral) else 100.0
    top.set(ylabel="prednisone-equivalent mg/day", ylim=(0, top_mg),
            title="Glucocorticoid dose over time (every patient diagnosed; deaths count as 0)")
    if data["p90_mg_per_day"].max() > top_mg:
        top.annotate(f"week 0: IV pulses, up to {data['p90_mg_per_day'].max():,.0f} mg/day (off scale)",
                     xy=(0, top_mg), xytext=(0.03 * years.max(), 0.92 * top_mg), fontsize=8,
                     arrowprops={"arrowstyle": "->"})
    top.legend(loc="upper right")
    bottom.step(years, 100 * data["share_ge_20mg"], where="post", label=">= 20 mg/day", color="#e6550d")
    bottom.step(years, 100 * data["share_gt_7_5mg"], where="post", label="> 7.5 mg/day", color="#fdae6b")
    bottom.set(ylabel="% of patients", xlabel="years since diagnosis", ylim=(0, 100),
               title="Patients on higher glucocorticoid doses")
    bottom.legend(loc="upper right")
    fig.tight_layout()
    return fig


def time_in_lines(lines: pd.DataFrame, patients: pd.DataFrame) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(lines))
    errors = np.vstack([lines["mean_days"] - lines["ci_low_days"], lines["ci_high_days"] - lines["mean_days"]])
    left.bar(x, lines["mean_days"], yerr=errors, capsize=4, color=[STATE_COLOURS[s] for s in lines["state"]])
    left.set_xticks(x, [s.replace("_", "\n") for s in lines["state"]], fontsize=8)
    left.set(ylabel="days per patient", title="Mean time at each line of therapy (95% CI)")
    per_patient = [patients.loc[patients[f"days_in_{s}"] > 0, f"days_in_{s}"] for s in lines["state"]]
    right.boxplot(per_patient, showfliers=False)
    right.set_xticks(x + 1, [s.replace("_", "\n") for s in lines["state"]], fontsize=8)
    right.set(ylabel="days", title="Time at each line, patients who entered it")
    fig.tight_layout()
    return fig


def occupancy(data: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 4.5))
    states = [s for s in STATE_NAMES if data[s].max() > 0]
    ax.stackplot(_years(data["day"]), *(100 * data[s] for s in states), labels=states,
                 colors=[STATE_COLOURS[s] for s in states], step="post")
    ax.set(xlabel="years since diagnosis", ylabel="% of patients", ylim=(0, 100), xlim=(0, _years(data["day"]).max()),
           title="Where patients are in the pathway over time")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return fig


def time_to_event(curves: dict[str, pd.DataFrame]) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for name, curve in curves.items():
        years = _years(curve["day"])
        line, = ax.step(years, 100 * curve["share_reached"], where="post", label=TIME_TO_EVENT[name])
        ax.fill_between(years, 100 * curve["ci_low"], 100 * curve["ci_high"], step="post", alpha=0.15,
                        color=line.get_color())
    ax.set(xlabel="years since diagnosis", ylabel="% reached (1 - Kaplan-Meier)", ylim=(0, 100),
           title="Time to event, censored at death or the end of follow-up (95% CI)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


IMPROVEMENT_COLOURS = {"none": "#bdbdbd", "minimal": "#c7e9c0", "moderate": "#74c476", "major": "#238b45"}


def disease_course(categories: pd.DataFrame, flares: pd.DataFrame) -> Figure:
    """Improvement categories at 6 and 12 months; when first flares happen, by where."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    bottom = np.zeros(2)
    for category, colour in IMPROVEMENT_COLOURS.items():
        shares = categories[categories["category"] == category].sort_values("months")["share"].to_numpy() * 100
        left.bar(["6 months", "12 months"], shares, bottom=bottom, color=colour, label=category)
        bottom += np.nan_to_num(shares)
    left.set(ylabel="% of patients assessed", ylim=(0, 100), title="Improvement since diagnosis (TIS)")
    left.legend(fontsize=8, loc="lower right")
    weeks = np.arange(0, max(flares["day"].max() / 7 if len(flares) else 52, 52) + 4, 4)
    groups = [(where, flares.loc[flares["where"] == where, "day"] / 7)
              for where in ("during the taper", "on maintenance", "after withdrawal")]
    right.hist([g for _, g in groups], bins=weeks, stacked=True, label=[w for w, _ in groups],
               color=["#fd8d3c", "#d62728", "#756bb1"])
    right.set(xlabel="weeks since diagnosis (4-week bins)", ylabel="patients",
              title="Time to first flare or relapse")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def harms(by_band: pd.DataFrame, by_exposure: pd.DataFrame, survival: pd.DataFrame, first_year_mortality: float,
          infection_deaths: int, deaths: int) -> Figure:
    """Adverse events per 100 patient-years by the day's glucocorticoid dose and by the cohort's exposure thirds;
    survival from diagnosis."""
    fig, (by_dose, left, right) = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1.6, 1.6, 1]})
    shown = list(dict.fromkeys(by_band["harm"]))
    bands = list(dict.fromkeys(by_band["dose_band"]))
    width = 0.8 / max(len(bands), 1)
    for k, (band, colour) in enumerate(zip(bands, ["#f0f0f0", "#fcbba1", "#fb6a4a", "#a50f15"])):
        rates = by_band[by_band["dose_band"] == band].set_index("harm").reindex(shown)
        by_dose.bar(np.arange(len(shown)) + (k - 1.5) * width, rates["per_100_patient_years"], width, color=colour,
                    edgecolor="#636363", linewidth=0.5, label=band)
    by_dose.set_xticks(range(len(shown)), shown, fontsize=8)
    by_dose.set(ylabel="events per 100 patient-years", title="By the day's prednisone-equivalent dose")
    by_dose.legend(fontsize=8, title="dose on the day", title_fontsize=8)
    harms_shown = list(dict.fromkeys(by_exposure["harm"]))
    thirds = list(dict.fromkeys(by_exposure["exposure"]))
    width = 0.8 / max(len(thirds), 1)
    for k, (third, colour) in enumerate(zip(thirds, ["#c6dbef", "#6baed6", "#08519c"])):
        rates = by_exposure[by_exposure["exposure"] == third].set_index("harm").reindex(harms_shown)
        left.bar(np.arange(len(harms_shown)) + (k - 1) * width, rates["per_100_patient_years"], width,
                 color=colour, label=third)
    left.set_xticks(range(len(harms_shown)), harms_shown, fontsize=8)
    left.set(ylabel="events per 100 patient-years", title="By each patient's cumulative dose per year")
    left.legend(fontsize=8, title="patients by prednisone-equivalent", title_fontsize=8)
    right.step(survival["day"] / YEAR_DAYS, (1 - survival["share_reached"]) * 100, where="post", color="#333333")
    right.set(xlabel="years since diagnosis", ylabel="% alive", ylim=(0, 100), title="Survival (Kaplan-Meier)")
    right.text(0.03, 0.05, f"first-year mortality {first_year_mortality:.1%}\n"
                           f"deaths: {deaths:,}, of them {infection_deaths:,} from infection",
               transform=right.transAxes, fontsize=8)
    fig.tight_layout()
    return fig


def flows(table: pd.DataFrame) -> Figure:
    used = [s for s in STATE_NAMES if table.loc[s].sum() > 0 or table[s].sum() > 0]
    matrix = table.loc[used, used]
    fig, ax = plt.subplots(figsize=(8.5, 7))
    image = ax.imshow(np.log1p(matrix.to_numpy()), cmap="Blues")
    for i in range(len(used)):
        for j in range(len(used)):
            count = int(matrix.iloc[i, j])
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if image.norm(np.log1p(count)) > 0.6 else "black")
    ax.set_xticks(range(len(used)), used, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(used)), used, fontsize=8)
    ax.set(xlabel="to state", ylabel="from state", title="Transitions between states (counts)")
    fig.tight_layout()
    return fig


def resources_by_year(data: pd.DataFrame) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    years = data["year"].to_numpy()
    left.bar(years, data["ivig_g"] / 1000, color="#6baed6")
    left.set(xlabel="year of the horizon", ylabel="kg", title="IVIG given per year (mean per replication)")
    width = 0.25
    for k, (column, label) in enumerate((("rituximab_infusions", "rituximab infusions"),
                                         ("cyclophosphamide_infusions", "cyclophosphamide infusions"),
                                         ("iv_pulse_courses", "IV pulse courses"))):
        right.bar(years + (k - 1) * width, data[column], width, label=label)
    right.set(xlabel="year of the horizon", ylabel="count", title="Infusions and pulses per year (mean per replication)")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def costs_by_year(data: pd.DataFrame, currency: str) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 4.2))
    table = data.pivot_table(index="year", columns="category", values="cost", aggfunc="sum", sort=False)
    bottom = np.zeros(len(table))
    for category in table.columns:
        ax.bar(table.index, table[category], bottom=bottom, label=category.replace("_", " "))
        bottom += table[category].to_numpy()
    ax.set(xlabel="year of the horizon", ylabel=f"cost ({currency})", title="Costs per year (mean per replication)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def infusion_unit(weeks: pd.DataFrame, chairs: int) -> Figure:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    years = _years(weeks["day"])
    top.step(years, weeks["mean_queue_sessions"], where="post", color="#e6550d")
    top.set(ylabel="sessions queueing", title="Queue for a chair (mean over opening hours, by week)")
    bottom.step(years, 100 * weeks["utilisation"], where="post", color="#3182bd")
    bottom.axhline(100, color="#999999", linewidth=0.8)
    bottom.set(ylabel="% of chair-hours used", xlabel="calendar year of the horizon",
               title=f"Utilisation of the unit's {chairs} chair{'s' if chairs != 1 else ''}, by week")
    bottom.set_ylim(0, 105)
    fig.tight_layout()
    return fig


def infusion_waits(waits: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 3.8))
    x = np.arange(len(waits))
    ax.bar(x - 0.27, waits["mean_wait_days"], width=0.27, color="#bdbdbd", label="mean wait, closed hours included")
    ax.bar(x, waits["mean_queue_wait_days"], width=0.27, color="#fd8d3c", label="mean wait for a free chair")
    ax.bar(x + 0.27, waits["p95_queue_wait_days"], width=0.27, color="#a63603",
           label="95th percentile wait for a free chair")
    ax.set_xticks(x, waits["drug"])
    ax.set(ylabel="days", title="Waits per infusion type (visits given)")
    ax.legend()
    fig.tight_layout()
    return fig
