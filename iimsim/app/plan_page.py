"""Plan: choose or upload a scenario, edit what planners change most, run it or compare it with another, look at
the key metrics with their 95% intervals and the report's figures, download tables, scenario and report."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

import iimsim
from iimsim.app import downloads
from iimsim.app.comparison import (KEY_METRICS, compare_runs, comparison_table, cost_effectiveness_sentences,
                                   order)
from iimsim.app.figure_lock import FIGURE_LOCK
from iimsim.app.plan_fields import (APP_CAPS, LINES, PRICE_FIELDS, UNIT_FIELDS, check_app_caps, edited_scenario, edits,
                                    ivig_table, ivig_values, keyed_table, keyed_values, planner_values, room_sized,
                                    size_path)
from iimsim.app.shown_text import as_text
from iimsim.app.uploads import scenario_from_upload
from iimsim.reports.labels import Money, label
from iimsim.reports.printed import median_and_bad_year
from iimsim.reports.report import figure_index
from iimsim.reports.staging import OutputWriteError
from iimsim.scenarios import Scenario, ScenarioError, builtin_names, load_scenario, to_toml
from iimsim.scenarios.names import folder_name
from iimsim.simulation.tables import YEAR_DAYS

RUN = "plan_run"
COMPARISON = "plan_comparison"


def _choose_scenario() -> tuple[Scenario | None, str]:
    """The scenario to start from, sized for a room, and a key naming it (widgets start anew when it changes)."""
    source = st.radio("Start from", ["a built-in scenario", "a scenario file (TOML)"], horizontal=True)
    if source == "a built-in scenario":
        names = builtin_names()
        name = st.selectbox("Built-in scenario", names, index=names.index("baseline"),
                            help="`iimsim scenario show NAME` prints one as TOML to copy and edit.")
        original, key = load_scenario(name), f"builtin-{name}"
    else:
        upload = st.file_uploader("Scenario file", type=["toml"],
                                  help="Read as data, never run: the same checks and messages as `iimsim run FILE`.")
        if upload is None:
            st.info("Upload a scenario file, for example one written by `iimsim scenario show baseline > mine.toml`.")
            return None, ""
        try:
            original = scenario_from_upload(upload.name, upload.getvalue())
        except ScenarioError as err:
            _show_error(err)
            return None, ""
        key = f"upload-{upload.file_id}"
    st.caption(f"**{as_text(original.name)}**: {as_text(original.description)}")
    scenario = room_sized(original)
    sim, said = scenario.simulation, original.simulation
    if scenario.region is not None and sim.replications != said.replications:
        st.caption(f"Sized for a room: {sim.replications} replications of the region (the scenario says "
                   f"{said.replications}); change it below.")
    elif scenario.region is None and sim != said:
        st.caption(f"Sized for a room: {sim.patients:,} patients x {sim.replications} replications (the scenario "
                   f"says {said.patients:,} x {said.replications}); change it below.")
    return scenario, key


def _number(column, label: str, values: dict, path: str, key: str, step: float, help: str | None = None):
    value = values[path]
    return column.number_input(label, value=value, step=float(step) if isinstance(value, float) else int(step),
                               key=f"{key}:{path}", help=help)


def _form(scenario: Scenario, key: str) -> tuple[dict, str, bool, bool]:
    """The planner's values by path, the scenario to compare with, and which button was pressed."""
    values = planner_values(scenario)
    new: dict = {}
    with st.form("plan-form"):
        st.subheader("Size and time")
        st.caption(APP_CAPS)
        columns = st.columns(4)
        size = size_path(scenario)
        if scenario.region is not None:
            new[size] = _number(columns[0], "Region population", values, size, key, 100_000,
                                "People in the region; its patients are those diagnosed in it.")
        else:
            new[size] = _number(columns[0], "Patients per replication", values, size, key, 100)
        new["simulation.horizon_years"] = _number(columns[1], "Years", values, "simulation.horizon_years", key, 0.5)
        new["simulation.replications"] = _number(columns[2], "Replications", values, "simulation.replications", key,
                                                 1, "Independent replications: the 95% intervals are across them.")
        new["simulation.seed"] = _number(columns[3], "Seed", values, "simulation.seed", key, 1)

        st.subheader("IVIG: share of patients given it at each line")
        new.update(ivig_values(st.data_editor(ivig_table(values), key=f"{key}:ivig")))

        st.subheader("Agent choice weights at each line")
        st.caption("Relative weights of the options chosen at each line (patients without ILD, unless their "
                   "subtype has its own options).")
        for tab, line in zip(st.tabs(list(LINES)), LINES):
            prefix = f"lines.{line}.options"
            with tab:
                new.update(keyed_values(st.data_editor(keyed_table(values, prefix, "weight"), key=f"{key}:{prefix}"),
                                        prefix, "weight"))
        if scenario.infusion_unit is not None:
            st.subheader("Infusion unit")
            labels = {"chairs": "Chairs", "opens_at_hour": "Opens at (hour)", "hours_per_day": "Hours open a day",
                      "days_per_week": "Days open a week"}
            for column, field in zip(st.columns(len(UNIT_FIELDS)), UNIT_FIELDS):
                path = f"infusion_unit.{field}"
                new[path] = _number(column, labels[field], values, path, key, 1)
        currency = scenario.costs.currency
        st.subheader(f"Prices (in {as_text(currency)})")
        labels = {"ivig_price_per_g": "IVIG per g", "infusion_chair_day": "Infusion chair-day",
                  "clinic_visit": "Clinic visit"}
        for column, field in zip(st.columns(len(PRICE_FIELDS)), PRICE_FIELDS):
            new[f"costs.{field}"] = _number(column, labels[field], values, f"costs.{field}", key, 1.0)
        with st.expander("Drug prices per mg"):
            new.update(keyed_values(st.data_editor(keyed_table(values, "costs.price_per_mg", "price_per_mg"),
                                                   key=f"{key}:prices"), "costs.price_per_mg", "price_per_mg"))
        others = [f"{scenario.name} as loaded (unedited)"] + [n for n in builtin_names() if n != scenario.name]
        columns = st.columns([1, 1, 3])
        run_clicked = columns[0].form_submit_button("Run", type="primary", width="stretch")
        compare_clicked = columns[1].form_submit_button("Compare", width="stretch")
        other = columns[2].selectbox("Compare with", others, label_visibility="collapsed",
                                     help="Compare runs both on the same patients: this one minus yours, as `iimsim compare "
                                          "YOURS THIS`; against the unedited scenario, your edits minus it.")
    return new, other, run_clicked, compare_clicked


def _run(scenario: Scenario, bar, result) -> None:
    """Simulate with a progress bar, show the key metrics in `result` at once, then draw the report (three
    quarters of the time at a room's size) and show its figures and the downloads."""
    started = time.perf_counter()

    def simulated(done: int, total: int) -> None:
        bar.progress(0.7 * done / total, text=f"Simulated {done:,} of {total:,} patients")

    st.session_state.pop(RUN, None)  # a failed run leaves no earlier run's results standing as if they were its own
    run = iimsim.simulate(scenario, progress=simulated)
    st.session_state[RUN] = run
    with result:
        _show_run_metrics(run)
    bar.progress(0.75, text=f"Simulated in {time.perf_counter() - started:.1f} s; drawing the report's figures")
    with FIGURE_LOCK:
        run.report()
    bar.progress(1.0, text=f"Done in {time.perf_counter() - started:.1f} s")
    with result:
        _show_run_files(run)


def _show_run_metrics(run: iimsim.Run) -> None:
    st.header(f"Run: {as_text(run.scenario_name)}")
    _show_metrics(run)


def _show_run_files(run: iimsim.Run) -> None:
    _show_figures(run.folder)
    _show_downloads(run)


def _metric_grid(summary: pd.DataFrame, shown: list[str], money: Money) -> None:
    for start in range(0, len(shown), 4):
        for column, metric in zip(st.columns(4), shown[start:start + 4]):
            row, entry = summary.loc[metric], label(metric)
            column.metric(entry.text, entry.shown(row["value"], money), help=row["description"])
            column.caption(entry.interval(row["ci_low"], row["ci_high"], money))


def _show_metrics(run: iimsim.Run) -> None:
    summary, money = run.summary.set_index("metric"), Money.of(run.scenario.costs)
    replications = int(summary.loc["patients", "replications"])
    _metric_grid(summary, [metric for metric in KEY_METRICS if metric in summary.index], money)
    horizon = run.scenario.simulation.horizon_years
    st.caption(f"Means per replication over {replications} replication(s), within the {horizon:g}-year horizon. "
               f"Run folder: `{run.folder}`")
    before = [metric for metric in summary.index if metric.endswith("_before_horizon")]
    if before:
        st.subheader("Before the horizon")
        st.caption("The history of patients diagnosed before day 0: not counted above.")
        _metric_grid(summary, before, money)
    said, years = median_and_bad_year(run.folder, replications, horizon * YEAR_DAYS)
    if years:
        st.subheader("A median and a bad year")
        st.caption(f"Per calendar year, {said}.")
        for column, (text, value) in zip(st.columns(len(years)), years):
            column.metric(text, value)
    with st.expander("All summary metrics"):
        st.dataframe(run.summary, hide_index=True)


def _show_figures(folder: Path) -> None:
    """Every figure of the folder's report, in its order, with its caption (the report's own list of them); a
    folder without that list (a comparison's) shows each figure it holds, by file name."""
    shown = figure_index(folder) or [{"name": path.stem, "title": path.stem.replace("_", " ").capitalize(),
                                      "caption": ""} for path in sorted((folder / "figures").glob("*.png"))]
    for tab, figure in zip(st.tabs([as_text(figure["title"]) for figure in shown]), shown):
        tab.image(str(folder / "figures" / f"{figure['name']}.png"))
        if figure["caption"]:
            tab.caption(as_text(figure["caption"], whole=True))


def _show_downloads(run: iimsim.Run) -> None:
    st.subheader("Download")
    columns = st.columns([2, 1, 2, 2, 2])
    name = columns[0].selectbox("Table", downloads.table_names(run.folder))
    table_format = columns[1].radio("Format", downloads.FORMATS)
    columns[0].download_button(f"{name}.{table_format}", downloads.table_bytes(run.folder, name, table_format),
                               file_name=f"{name}.{table_format}", on_click="ignore")
    columns[2].download_button("summary.csv", (run.folder / "summary.csv").read_bytes(), file_name="summary.csv",
                               mime="text/csv", on_click="ignore")
    file_name = f"{folder_name(run.scenario_name)}.toml"
    columns[3].download_button(as_text(file_name), to_toml(run.scenario), file_name=file_name,
                               mime="application/toml", on_click="ignore")
    if (run.folder / "report.html").is_file():
        columns[4].download_button("report.html", (run.folder / "report.html").read_bytes(), file_name="report.html",
                                   mime="text/html", on_click="ignore")


def _compare(scenario: Scenario, other: Scenario, unedited: bool) -> None:
    folder = tempfile.TemporaryDirectory(prefix="iimsim-app-compare-")  # removed with the session's state
    with st.spinner(f"Running {other.name} and {scenario.name} on the same patients, each with its report"), \
            FIGURE_LOCK:
        sides = order(scenario, other, unedited)
        differences = compare_runs(sides, replications=max(2, scenario.simulation.replications),
                                   out=Path(folder.name) / "comparison")
    st.session_state[COMPARISON] = {"differences": differences, "folder": folder, "reference": sides[0]}


def _show_comparison(comparison: dict) -> None:
    differences, folder = comparison["differences"], Path(comparison["folder"].name) / "comparison"
    row = differences.iloc[0]
    reference = comparison["reference"]
    st.header(f"Comparison: {as_text(row['scenario'])} minus {as_text(row['reference'])}")
    st.caption(as_text(f"As iimsim compare {row['reference']} {row['scenario']} signs it: paired on the same "
                       f"patients and chance events over {int(row['replications'])} replications, mean per "
                       f"replication; {row['interval_method']}."))
    table = comparison_table(differences, Money.of(reference.costs))
    st.dataframe(table, hide_index=True, height=36 * (len(table) + 1) + 2)
    sentences = cost_effectiveness_sentences(folder, reference)
    if sentences:
        st.subheader(f"Cost-effectiveness against {as_text(row['reference'])} (discounted, per patient)")
        for sentence in sentences:
            st.markdown(as_text(sentence))
    _show_figures(folder)
    columns = st.columns(3)
    columns[0].download_button("comparison.csv", (folder / "comparison.csv").read_bytes(), file_name="comparison.csv",
                               mime="text/csv", on_click="ignore")
    columns[1].download_button("comparison.html", (folder / "comparison.html").read_bytes(),
                               file_name="comparison.html", mime="text/html", on_click="ignore")


def _show_error(err: BaseException) -> None:
    """One line, as text (a message may quote the scenario's values)."""
    st.error(as_text(f"error: {err}" if not isinstance(err, MemoryError) else "error: out of memory: simulate fewer "
                     "patients"))


def page() -> None:
    st.title("Plan: run and compare scenarios")
    scenario, key = _choose_scenario()
    if scenario is None:
        return
    values, other_name, run_clicked, compare_clicked = _form(scenario, key)
    progress = st.empty()
    result = st.container(key="plan-result")
    if run_clicked or compare_clicked:
        try:
            edited = edited_scenario(scenario, edits(scenario, values))
            check_app_caps(edited, scenario.name)
            if run_clicked:
                _run(edited, progress.progress(0.0, text="Simulating"), result)
            else:
                other = scenario if other_name.endswith("(unedited)") else load_scenario(other_name)
                if other == edited:
                    st.warning("Nothing was edited: both sides are the same scenario, so every difference is 0.")
                # the same patients, horizon and seed on both sides: the edited scenario's
                _compare(edited, other.model_copy(update={"simulation": edited.simulation}),
                         other_name.endswith("(unedited)"))
        except (ScenarioError, OutputWriteError, MemoryError) as err:
            _show_error(err)
            return
    if RUN in st.session_state and not run_clicked:
        with result:
            _show_run_metrics(st.session_state[RUN])
            _show_run_files(st.session_state[RUN])
    if COMPARISON in st.session_state:
        with st.container(key="plan-comparison"):
            _show_comparison(st.session_state[COMPARISON])
