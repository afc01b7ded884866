"""One patient's story for teaching: a week-by-week narrative and a timeline figure.

Built from one patient's rows of the tidy tables (patients, events, doses,
assessments), so the story says exactly what the simulation did and what the
clinician saw at each visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from iimsim.pathway.care import CARE_STEPS  # noqa: E402
from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS  # noqa: E402
from iimsim.reports.figures import STATE_COLOURS, save_figure  # noqa: E402
from iimsim.reports.report import TEMPLATES  # noqa: E402
from iimsim.scenarios.schema import SUBTYPE_NAMES  # noqa: E402
from iimsim.simulation.tables import YEAR_DAYS  # noqa: E402

INFUSED = ("rituximab", "cyclophosphamide", "tocilizumab")
STATE_WORDS = {
    "iv_pulse": "IV pulse", "first_line": "first-line induction", "second_line": "second-line therapy",
    "third_line": "third-line therapy", "refractory_combination": "refractory disease: combination therapy",
    "refractory_alternative": "refractory disease: alternative immunosuppressant", "maintenance": "maintenance",
    "drug_free_remission": "drug-free remission", "supportive_care": "supportive care", "dead": "death",
}
TRIGGER_WORDS = {
    "respond": "Assessment: remission", "fail": "Assessment: not responding",
    "intolerance": "Agent not tolerated", "flare": "Flare", "withdraw": "Stable: all treatment withdrawn",
    "rebound": "Steroid-dependent",
    "relapse": "Relapse after withdrawal", "die": "Died",
}


@dataclass(frozen=True)
class Entry:
    day: float
    text: str


def _amount(dose: float, unit: str) -> str:
    if unit == "mg/week":
        return f"{dose:g} mg weekly"
    if unit == "mg/48h":
        return f"{dose:g} mg on alternate days"
    return f"{dose:g} {unit}"


def _dose_entries(doses: pd.DataFrame, followup_days: float) -> list[Entry]:
    """Starts, changes and stops of each drug, read from its constant-rate rows."""
    entries = []
    for drug, rows in doses.sort_values("start_day").groupby("drug", sort=False):
        previous = None
        for row in rows.itertuples():
            if drug == "ivig":
                days = row.end_day - row.start_day
                entries.append(Entry(row.start_day, f"IVIG {row.dose * days:g} g over {days:g} days"))
            elif drug in INFUSED:
                entries.append(Entry(row.start_day, f"{drug} {row.dose * (row.end_day - row.start_day):g} mg IV"))
            elif drug == "methylprednisolone":
                entries.append(Entry(row.start_day, f"methylprednisolone {row.dose:g} mg IV daily for "
                                                    f"{row.end_day - row.start_day:g} days"))
            elif previous is None or row.start_day > previous.end_day + 1e-9:
                entries.append(Entry(row.start_day, f"{drug} {_amount(row.dose, row.dose_unit)} started"))
            elif row.dose != previous.dose or row.dose_unit != previous.dose_unit:
                change = "raised" if row.dose > previous.dose else "reduced"
                entries.append(Entry(row.start_day, f"{drug} {change} to {_amount(row.dose, row.dose_unit)}"))
            previous = row
        courses_of_infusions = drug in INFUSED or drug == "methylprednisolone"
        if previous is not None and not courses_of_infusions and previous.end_day < followup_days - 1e-9:
            entries.append(Entry(previous.end_day, f"{'IVIG' if drug == 'ivig' else drug} stopped"))
    return entries


def _event_entries(events: pd.DataFrame) -> list[Entry]:
    entries = []
    for e in events.itertuples():
        if e.is_transition and e.event != "pulse_complete":
            if e.event == "triage":
                continue
            words = TRIGGER_WORDS[e.event]
            if e.event in ("respond", "withdraw", "die"):
                entries.append(Entry(e.day, f"{words}."))
            elif e.event == "rebound":
                entries.append(Entry(e.day, f"{words}: {e.detail.split(': ', 1)[-1]}."))
            else:
                entries.append(Entry(e.day, f"{words}: {STATE_WORDS[e.to_state]} ({e.detail})."))
        elif e.event == "pjp_prophylaxis_start":
            entries.append(Entry(e.day, f"PJP prophylaxis started ({e.detail})."))
        elif e.event == "pjp_prophylaxis_stop":
            entries.append(Entry(e.day, "PJP prophylaxis stopped."))
        elif e.event == "bone_protection_start":
            entries.append(Entry(e.day, f"Bone protection: {e.detail}."))
        elif e.event in CARE_STEPS:
            entries.append(Entry(e.day, f"{e.detail[0].upper()}{e.detail[1:]}."))
        elif e.event.startswith("ae_"):
            entries.append(Entry(e.day, f"Adverse event: {e.detail}."))
    return entries


IMPROVEMENT_WORDS = {"none": "no improvement", "minimal": "minimal improvement", "moderate": "moderate improvement",
                     "major": "major improvement"}
LINE_STATES = ("first_line", "second_line", "third_line", "refractory_combination", "refractory_alternative")
# What a decision was judged against, in words (the assessments table's `reason`, pathway/clinic.py).
REASON_WORDS = {
    "remission": "judged: remission (activity low enough on a low enough glucocorticoid dose)",
    "second_flare": "judged: a second flare on this line (activity {rise:.2f} above its lowest on the line), "
                    "so the line has failed",
    "flare_after_failure_assessment": "judged: a flare (activity {rise:.2f} above its lowest on the line) after the "
                                      "line's failure assessment, so the line has failed",
    "flare": "judged: a flare (activity {rise:.2f} above its lowest since the line began): the glucocorticoid is "
             "stepped back up on the same line",
    "below_minimal": "judged against the line's start: less than minimal improvement {weeks} weeks into the line, "
                     "past its early window, so the line has failed",
    "below_moderate_at_failure_assessment": "judged at the line's failure assessment, {weeks} weeks into it: not in "
                                            "remission and less than moderate improvement since the line began",
    "not_improving_at_failure_assessment": "judged at the line's failure assessment, {weeks} weeks into it: {category} "
                                           "since the line began but no longer improving (activity {previous:.2f} "
                                           "at the last visit) and not in remission, so the line has failed",
    "flare@maintenance": "judged: a flare in remission (activity {rise:.2f} above its lowest since remission), so "
                         "treatment escalates beyond the line that brought remission",
    "a_year_without_remission": "judged: a year on the line without remission, so the line has failed",
    "flare_on_high_dose": "judged: a flare (activity {rise:.2f} above its lowest on the line) on a high dose of "
                          "glucocorticoid, so the line is not controlling the disease and has failed",
    "steroid_resistant": "judged at 4 weeks: no response to high-dose glucocorticoid since the line began",
    "high_dose_not_held": "judged: improvement stalled, but a high dose is not held past its first weeks",
    "rebound": "judged: a mild flare as the glucocorticoid came off (activity {rise:.2f} above its lowest in "
               "remission): steroid-dependent",
    "glucocorticoid_stop_due": "judged: in stable remission on the low maintenance dose long enough",
    "withdrawal_due": "judged: in stable remission off glucocorticoid long enough, treatment withdrawn",
    "relapse": "judged: the disease back off treatment (activity {rise:.2f} above its lowest in remission)",
}


def episode_starts(events: pd.DataFrame) -> tuple[list[float], list[float]]:
    """The days lines began (the pulse with the first line), where improvement is judged from; and the days flares
    are judged from: every new episode (a line, remission, withdrawal) and each flare stepping the dose back up."""
    t = events[events.is_transition & (events.event != "pulse_complete")]
    switch = (t.event == "intolerance") & (t.from_state == t.to_state)
    flare = (t.event == "flare") & (t.from_state == t.to_state)
    lines = t[~switch & ~flare & t.to_state.isin((*LINE_STATES, "iv_pulse"))]
    return sorted(lines.day), sorted(t.loc[~switch, "day"])


def _latest(days: list[float], day: float, inclusive: bool) -> float:
    """The latest of `days` before `day` (or at it, `inclusive`: a baseline belongs to the episode it opens)."""
    return max((d for d in days if d < day - 1e-9 or (inclusive and d <= day + 1e-9)), default=0.0)


def _assessment_entries(assessments: pd.DataFrame, starts: tuple[list[float], list[float]] | None = None
                        ) -> list[Entry]:
    """What the clinician saw at each visit, what it was judged against and what it meant for the taper."""
    entries = []
    lines, resets = starts or ([], [])
    previous, lowest, episode = None, None, None
    for a in assessments.itertuples():
        opening = a.decision == "baseline"
        started = _latest(lines, a.day, opening)
        reset = _latest(resets, a.day, opening)
        if episode != reset:
            lowest, episode = previous if previous is not None and not opening else a.activity_measured, reset
        weeks = (a.day - started) / 7.0
        since = (f"TIS {a.tis_from_line_start:g} since the line began in week {started / 7.0:.0f} "
                 f"({IMPROVEMENT_WORDS[a.improvement]}), {a.tis_from_diagnosis:g} since diagnosis"
                 if a.state in LINE_STATES else f"TIS {a.tis_from_diagnosis:g} since diagnosis")
        seen = f"activity {a.activity_measured:.2f}, {since}"
        seen_as = "Seen early (worse)" if a.visit == "early" else "Assessment"
        dose = f"{a.prednisone_eq_mg_per_day:g} mg/day"
        why = getattr(a, "reason", None)
        judged = REASON_WORDS.get(f"{why}@{a.state}", REASON_WORDS.get(why, "")).format(
            weeks=f"{weeks:.0f}", rise=a.activity_measured - (lowest if lowest is not None else a.activity_measured),
            previous=previous if previous is not None else a.activity_measured,
            category=IMPROVEMENT_WORDS[a.improvement])
        judged = f"; {judged}" if judged else ""
        text = {
            "baseline": f"Baseline assessment: activity {a.activity_measured:.2f} on a 0-1 scale",
            "taper": (f"{seen_as}: controlled, {seen}, on {dose}" if a.state in ("maintenance", "drug_free_remission")
                      else f"{seen_as}: improving or controlled, {seen}; taper continues from {dose}"),
            "hold": f"{seen_as}: improvement stalled, {seen}; dose held at {dose}",
            "respond": f"{seen_as}: {seen}, on {dose}{judged}",
            "fail": f"{seen_as}: {seen}{judged}",
            "flare": f"{seen_as}: worse, {seen}{judged}",
            "withdraw": f"{seen_as}: in stable remission off glucocorticoid, {seen}; remaining treatment withdrawn",
            "stop_glucocorticoid": (f"{seen_as}: in stable remission, {seen}, on {dose}; the glucocorticoid is "
                                    "tapered off, the steroid-sparing agent goes on"),
            "rebound": f"{seen_as}: the disease returns as the glucocorticoid comes off, {seen}{judged}",
            "add_ivig": (f"{seen_as}: no response to high-dose glucocorticoid by 4 weeks, {seen} (steroid-resistant "
                         f"disease): IVIG added; the taper goes on from {dose}"),
            "relapse": f"{seen_as}: disease back off treatment, activity {a.activity_measured:.2f}",
            "observe": f"{seen_as}: activity {a.activity_measured:.2f}, TIS {a.tis_from_diagnosis:g} since diagnosis",
        }[a.decision]
        entries.append(Entry(a.day, text))
        previous = a.activity_measured
        lowest = min(lowest, a.activity_measured) if lowest is not None else a.activity_measured
    return entries


def introduction(patient: pd.Series) -> str:
    extras = [name for name, flag in (("rapidly progressive interstitial lung disease (anti-MDA5)", patient.rp_ild),
                                      ("interstitial lung disease", patient.has_ild and not patient.rp_ild),
                                      ("an associated cancer", patient.cancer_associated),
                                      ("diabetes", patient.has_diabetes), ("osteoporosis", patient.has_osteoporosis),
                                      ("glaucoma", patient.has_glaucoma)) if flag]
    severity = "severe" if patient.severity == "severe" else "non-severe"
    text = (f"{severity} {SUBTYPE_NAMES[patient.subtype]}, {patient.sex}, {patient.age_years:g} years, "
            f"{patient.weight_kg:g} kg")
    return text + (f", with {', '.join(extras)}" if extras else "")


def narrative(patient: pd.Series, events: pd.DataFrame, doses: pd.DataFrame,
              assessments: pd.DataFrame | None = None) -> list[tuple[int, list[str]]]:
    """(week, sentences) for every week in which something happened."""
    seen = [] if assessments is None else _assessment_entries(assessments, episode_starts(events))
    # Within a day: what the clinician saw, then what followed from it.
    entries = seen + _event_entries(events) + _dose_entries(doses, patient.followup_days)
    entries.sort(key=lambda entry: entry.day)
    opening = introduction(patient)
    weeks: dict[int, list[str]] = {0: [opening[0].upper() + opening[1:] + "."]}  # not .capitalize(): anti-SRP
    for entry in entries:
        text = entry.text[0].upper() + entry.text[1:]
        weeks.setdefault(int(entry.day // 7), []).append(text if text.endswith(".") else text + ".")
    if not patient.died:
        weeks.setdefault(int(patient.followup_days // 7), []).append(
            f"End of follow-up ({patient.followup_days / YEAR_DAYS:.1f} years): {STATE_WORDS.get(patient.final_state, patient.final_state)}.")
    return sorted(weeks.items())


def to_markdown(title: str, weeks: list[tuple[int, list[str]]]) -> str:
    lines = [f"# {title}", ""]
    lines += [f"**Week {week}:** {' '.join(sentences)}" + "\n" for week, sentences in weeks]
    return "\n".join(lines)


DECISION_MARKERS = {"baseline": ("o", "#636363"), "taper": ("o", "#31a354"), "hold": ("s", "#fd8d3c"),
                    "respond": ("*", "#08519c"), "fail": ("X", "#d62728"), "flare": ("^", "#d62728"),
                    "withdraw": ("P", "#6baed6"), "relapse": ("^", "#a50f15"), "observe": ("o", "#bdbdbd"),
                    "stop_glucocorticoid": ("P", "#9ecae1"), "rebound": ("^", "#fd8d3c"), "add_ivig": ("D", "#756bb1")}


def _activity_panel(ax, assessments: pd.DataFrame, end: float, remission_activity: float | None,
                    unit_days: float) -> None:
    """The true activity between visits (joined at each visit) and what each visit measured and decided."""
    a = assessments.sort_values("day")
    ax.plot(a.day / unit_days, a.activity, color="#756bb1", linewidth=1.2, label="disease activity (true)")
    for decision, rows in a.groupby("decision"):
        marker, colour = DECISION_MARKERS[decision]
        ax.scatter(rows.day / unit_days, rows.activity_measured, marker=marker, color=colour, s=28, zorder=3,
                   label=f"assessed: {decision}")
    if remission_activity is not None:
        ax.axhline(remission_activity, color="#08519c", linestyle="--", linewidth=0.8)
        ax.text(end, remission_activity, " remission", fontsize=7, color="#08519c", va="center")
    ax.set(ylim=(0, 1), ylabel="activity (0-1)", xlim=(0, end))
    ax.legend(fontsize=7, ncol=5, loc="upper right", frameon=False)


def up_to(day: float, events: pd.DataFrame, doses: pd.DataFrame, assessments: pd.DataFrame | None = None
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The patient's rows before `day` (days since diagnosis), dose rows cut off at it: the course so far."""
    doses = doses[doses["start_day"] < day].assign(end_day=lambda rows: rows["end_day"].clip(upper=day))
    return (events[events["day"] < day], doses,
            None if assessments is None else assessments[assessments["day"] < day])


def timeline(patient: pd.Series, events: pd.DataFrame, doses: pd.DataFrame,
             assessments: pd.DataFrame | None = None, remission_activity: float | None = None,
             until_day: float | None = None) -> Figure:
    """The whole course in years, or with `until_day` the course so far in weeks on axes that end at that day
    (for teaching: step through the weeks and the axis grows with them, so neither what comes next nor when
    follow-up ends shows), a dashed line marking the end of the course drawn."""
    with_activity = assessments is not None and len(assessments) > 0  # the same panels at every step
    drawn_to = patient.followup_days if until_day is None else min(until_day, patient.followup_days)
    unit_days, unit = (YEAR_DAYS, "years") if until_day is None else (7.0, "weeks")
    if until_day is not None:
        events, doses, assessments = up_to(until_day, events, doses, assessments)
    rows = 3 if with_activity else 2
    fig, axes = plt.subplots(rows, 1, figsize=(11, 9.0 if with_activity else 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [1.1, 1.0, 1][:rows] if with_activity else [1.1, 1]})
    dose_ax, bar_ax = axes[0], axes[-1]
    end = (patient.followup_days if until_day is None else until_day) / unit_days
    gc = doses[doses.drug.isin(GLUCOCORTICOIDS)].sort_values("start_day")
    xs, ys = [], []
    for row in gc.itertuples():
        xs += [row.start_day / unit_days, row.end_day / unit_days]
        ys += [row.prednisone_eq_mg_per_day] * 2
    dose_ax.plot(xs, ys, color="#08519c", drawstyle="steps-post")
    oral_max = gc.loc[gc.drug == "prednisolone", "prednisone_eq_mg_per_day"].max()
    top = max(20.0, (oral_max if oral_max == oral_max else 20.0) * 1.2)
    dose_ax.set(ylim=(0, top), ylabel="prednisone-equivalent mg/day", xlim=(0, end),
                title=f"Patient timeline: {introduction(patient)}")
    pulses = gc[gc.drug == "methylprednisolone"]
    for row in pulses.itertuples():
        dose_ax.annotate(f"IV pulse {row.prednisone_eq_mg_per_day:g} mg/day", xy=(row.start_day / unit_days, top),
                         xytext=(row.start_day / unit_days + 0.05 * end, 0.9 * top), fontsize=8,
                         arrowprops={"arrowstyle": "->"})
    harms = events[events.event.str.startswith("ae_")]
    dose_ax.plot(harms.day / unit_days, [0.93 * top] * len(harms), "X", color="#8c510a", markersize=7,
                 linestyle="none", label="adverse event")
    for e in harms.itertuples():
        dose_ax.text(e.day / unit_days, 0.88 * top, e.event.removeprefix("ae_").replace("_", " "), fontsize=7,
                     color="#8c510a", rotation=90, va="top")
    for e in events.itertuples():
        if e.event in ("flare", "relapse"):
            dose_ax.axvline(e.day / unit_days, color="#d62728", linestyle=":", linewidth=1)
            dose_ax.text(e.day / unit_days, 0.97 * top, e.event, color="#d62728", fontsize=8, rotation=90, va="top")
    pjp = events[events.event.str.startswith("pjp_")]
    starts = pjp[pjp.event == "pjp_prophylaxis_start"].day.to_numpy()
    stops = list(pjp[pjp.event == "pjp_prophylaxis_stop"].day.to_numpy()) + [drawn_to] * len(starts)
    for start, stop in zip(starts, stops):
        dose_ax.axvspan(start / unit_days, stop / unit_days, ymax=0.04, color="#9467bd", alpha=0.6)
    dose_ax.text(0.995, 0.06, "purple band: PJP prophylaxis", transform=dose_ax.transAxes, ha="right", fontsize=8,
                 color="#9467bd")
    if with_activity:
        _activity_panel(axes[1], assessments, end, remission_activity, unit_days)

    lanes: list[str] = []
    transitions = events[events.is_transition]
    days = list(transitions.day) + [drawn_to]
    for (start, state), stop in zip(zip(transitions.day, transitions.to_state), days[1:]):
        if stop > start and state != "dead":
            bar_ax.barh("pathway state", (stop - start) / unit_days, left=start / unit_days,
                        color=STATE_COLOURS[state], edgecolor="white")
            if (stop - start) / unit_days > 0.12 * end:
                bar_ax.text((start + stop) / 2 / unit_days, "pathway state", state.replace("_", " "),
                            ha="center", va="center", fontsize=7)
    lanes.append("pathway state")
    for drug, rows in doses[~doses.drug.isin(GLUCOCORTICOIDS)].groupby("drug", sort=False):
        for row in rows.itertuples():
            bar_ax.barh(drug, max(row.end_day - row.start_day, 2) / unit_days, left=row.start_day / unit_days,
                        color="#fd8d3c" if row.route == "iv" else "#74c476", height=0.5)
        infusions = rows[rows.route == "iv"]
        bar_ax.plot(infusions.start_day / unit_days, [drug] * len(infusions), "v", color="#a63603", markersize=5)
    for e in transitions.itertuples():
        if e.event in ("respond", "fail"):
            bar_ax.plot(e.day / unit_days, "pathway state", "D", color="black", markersize=5)
    if until_day is not None:
        for ax in axes:
            ax.axvline(drawn_to / unit_days, color="black", linestyle="--", linewidth=1)
    bar_ax.invert_yaxis()
    bar_ax.set(xlabel=f"{unit} since diagnosis", title="Lines of therapy and drugs (triangles: infusions; "
                                                      "diamonds: assessments that changed the plan)")
    fig.tight_layout()
    return fig


def write_story(tables: dict[str, pd.DataFrame], scenario_name: str, out_dir: Path,
                remission_activity: float | None = None) -> dict[str, Path]:
    """Write timeline.png/.svg, story.md and story.html for the one patient in `tables`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    patient = tables["patients"].iloc[0]
    events, doses, assessments = tables["events"], tables["doses"], tables.get("assessments")
    weeks = narrative(patient, events, doses, assessments)
    title = f"One patient's story ({scenario_name}): {introduction(patient)}"
    paths = {"markdown": out_dir / "story.md", "html": out_dir / "story.html",
             "png": out_dir / "timeline.png", "svg": out_dir / "timeline.svg"}
    paths["markdown"].write_text(to_markdown(title, weeks), "utf-8")
    png_base64 = save_figure(timeline(patient, events, doses, assessments, remission_activity), out_dir, "timeline")
    html = TEMPLATES.get_template("patient.html.j2").render(title=title, weeks=weeks, png_base64=png_base64)
    paths["html"].write_text(html, "utf-8")
    for name, frame in tables.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
    return paths
