"""The cohort report: figures (PNG and SVG), their data (CSV) and one self-contained HTML file.

Built from a run folder's saved tables, summary and manifest alone, so
`iimsim report DIR` rebuilds it from saved output with no simulation objects.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.pathway.definition import TREATMENT_LINE_STATES
from iimsim.reports import figure_data as data
from iimsim.reports import figures
from iimsim.reports.bad_years import bad_years
from iimsim.reports.costs import CATEGORIES, SOCIETAL_CATEGORIES, budget_within_horizon, run_costs
from iimsim.reports.export import MissingRunFileError, RunFolderError, first_unreadable, has_table, read_table, table_dataset, unreadable
from iimsim.reports.run_check import CheckedRun, check_run
from iimsim.reports.staging import OutputExistsError, OutputWriteError, folder_lock, write_error
from iimsim.reports.resources import COSTS_BY_YEAR_FILE, IV_DOSE_COLUMNS, RESOURCES_BY_YEAR_FILE, ResourceYears
from iimsim.reports.labels import Money, label
from iimsim.reports.summary import first_year_mortality, means_per_replication, waits_by_drug
from iimsim.scenarios.schema import Scenario
from iimsim.simulation.tables import YEAR_DAYS


def format_number(value: float, unit: str = "") -> str:
    """A metric for people: shares as percentages, large numbers with thousands separators."""
    if value != value:  # NaN
        return ""
    if unit == "share":
        return f"{100 * value:.1f}%"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("iimsim.reports", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["number"] = format_number
TEMPLATES.globals["label"] = label  # every metric and column shown is named by the one table of labels


@dataclass(frozen=True)
class ReportFigure:
    name: str
    title: str
    caption: str
    png_base64: str


PATIENT_COLUMNS = ["replication", "patient_id", "subtype", "tis_6_months", "tis_12_months",
                   "diagnosis_day", "followup_days", "time_to_remission_days", "pred_cum_mg",
                   "pred_cum_mg_first_year", "days_to_pred_le_5mg", *AUDIT_COLUMNS, "died", "death_cause",
                   "ae_new_diabetes", "ae_serious_infection", "ae_pjp", "ae_fracture", "ae_cataract",
                   *(f"days_in_{state}" for state in ("iv_pulse", *TREATMENT_LINE_STATES))]
EVENT_COLUMNS = ["replication", "patient_id", "day", "event", "from_state", "to_state", "is_transition", "detail"]
DOSE_COLUMNS = ["replication", "patient_id", "drug", "route", "start_day", "end_day", "dose",
                "prednisone_eq_mg_per_day"]


def costs_summary(patient_cost: pd.DataFrame, patients: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Mean cost per patient by category, undiscounted and discounted, and per patient-year: the payer's
    categories and their total, then what the societal perspective adds and its total."""
    years = patients["followup_days"].sum() / YEAR_DAYS
    perspective = {**dict.fromkeys((*CATEGORIES, "total"), "payer"),
                   **dict.fromkeys((*SOCIETAL_CATEGORIES, "societal_total"), "societal")}
    rows = [{"category": c, "perspective": view, "mean_per_patient": patient_cost[f"{c}_cost"].mean(),
             "mean_per_patient_discounted": patient_cost[f"{c}_cost_discounted"].mean(),
             "per_patient_year": patient_cost[f"{c}_cost"].sum() / years if years else float("nan"),
             "currency": currency} for c, view in perspective.items()]
    return pd.DataFrame(rows)


def _frame(table) -> pd.DataFrame:
    """Arrow to pandas freeing Arrow buffers as it goes, strings as categories (memory)."""
    return table.to_pandas(strings_to_categorical=True, split_blocks=True, self_destruct=True)


def _per_replication(path: Path) -> pd.DataFrame | None:
    """A saved per-year file, if it is per replication (a run saved before they were is summed anew)."""
    if not path.exists():
        return None
    frame = _read_csv(path)
    return frame if "replication" in frame.columns else None


def _resources_by_year(run_dir: Path, horizon: float, patients: pd.DataFrame) -> pd.DataFrame:
    """Resource use per replication and calendar year: as the run summed it, or (a run saved without the sums)
    summed over batches of IV dose rows (a large run never loads them all)."""
    saved = _per_replication(run_dir / RESOURCES_BY_YEAR_FILE)
    if saved is not None:
        return saved
    total = ResourceYears(horizon)
    diagnosis = patients.set_index(["replication", "patient_id"])["diagnosis_day"]
    scanner = table_dataset(run_dir, "doses").scanner(filter=pc.field("route") == "iv", columns=IV_DOSE_COLUMNS)
    for batch in scanner.to_batches():
        total.add_rows(batch.to_pandas(), diagnosis)
    return total.total()


def _costs(run_dir: Path, out: Path, scenario: Scenario, horizon: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per patient and per year: as the run worked them out, or (a run saved without them) costed now from the
    tables, patient_costs.parquet written into `out`."""
    saved = _per_replication(run_dir / COSTS_BY_YEAR_FILE)
    if saved is not None and has_table(run_dir, "patient_costs"):
        return _frame(read_table(run_dir, "patient_costs")), saved
    patient_cost, cost_by_year = run_costs(run_dir, scenario.costs, horizon)
    patient_cost.to_parquet(out / "patient_costs.parquet", index=False)
    return patient_cost, cost_by_year


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise unreadable(path, err) from None


def _time_course_filter(patients: pd.DataFrame) -> pc.Expression | None:
    """Events and doses of the first patients only, when the run is larger than the figures need."""
    if len(patients) <= data.MAX_TIME_COURSE_PATIENTS:
        return None
    first = patients.iloc[: data.MAX_TIME_COURSE_PATIENTS]
    replication = int(first["replication"].iloc[-1])
    last_id = int(first["patient_id"].iloc[-1])
    return (pc.field("replication") < replication) | (
        (pc.field("replication") == replication) & (pc.field("patient_id") <= last_id))


def _parameter_sections(scenario: dict) -> list[dict]:
    """Scenario sections with their numbers and sources, for the model description."""
    sections = []

    def walk(path: str, node: dict) -> None:
        if "source" in node:
            values = {k: v for k, v in node.items() if k not in ("source", "sources") and not
                      (isinstance(v, dict) and "source" in v)}
            sections.append({"name": path, "source": node["source"], "sources": node.get("sources", {}),
                             "values": {k: json.dumps(v) for k, v in values.items()}})
        for key, value in node.items():
            if isinstance(value, dict) and key != "sources":
                walk(f"{path}.{key}" if path else key, value)

    walk("", scenario)
    return sections


REPORT_FILES = ("patient_costs.parquet", "report.html")  # with the folder figures/
# In figures/: the report's figures in the order it shows them, each with its title and caption, for whatever
# else shows them (the app's Plan page), so no second list of figures is kept anywhere.
FIGURE_INDEX = "figures.json"


def figure_index(run_dir: Path | str) -> list[dict[str, str]]:
    """The report's figures as it shows them: `name` (figures/NAME.png, .svg, .csv), `title` and `caption` of
    each, in order; [] for a folder without a report."""
    path = Path(run_dir) / "figures" / FIGURE_INDEX
    return json.loads(path.read_text("utf-8")) if path.is_file() else []


def build_report(run_dir: Path | str) -> Path:
    """Write figures/ and report.html into `run_dir` (and patient_costs.parquet for a run saved without it);
    returns the report's path.

    The folder is checked first (`check_run`: the manifest's shape, every table and CSV file against it), under
    the folder's lock (`OutputBusyError` while a run writes it). The report is built in a hidden folder inside
    `run_dir` and moved into place only when all is written, so a failure leaves the folder as it was. A missing
    or damaged file raises `RunFolderError` naming it; a failure to write, `OutputWriteError` naming the folder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingRunFileError(f"{run_dir}: missing (not a run folder)")
    try:
        with folder_lock(run_dir):
            checked = check_run(run_dir)  # under the lock: no run replaces the folder meanwhile
            _remove_leftovers(run_dir)
            staging = run_dir / f".report.partial-{os.getpid()}"
            staging.mkdir()
            try:
                _write_report(run_dir, staging, checked)
            except BaseException as err:
                shutil.rmtree(staging, ignore_errors=True)
                if isinstance(err, (pa.ArrowException, OSError, ValueError)) and not isinstance(err, RunFolderError):
                    culprit = first_unreadable(run_dir)
                    if culprit is not None:
                        raise culprit from err
                raise
            _move_into_place(staging, run_dir)
    except OSError as err:
        if isinstance(err, (RunFolderError, OutputExistsError, OutputWriteError)):
            raise
        raise write_error(run_dir, err) from None
    return run_dir / "report.html"


def _remove_leftovers(run_dir: Path) -> None:
    """What a report killed while it wrote left (this process holds the folder's lock: no live one is writing)."""
    for entry in run_dir.iterdir():
        if entry.is_dir() and (entry.name.startswith(".report.partial-") or entry.name.startswith(".figures.replaced-")):
            shutil.rmtree(entry, ignore_errors=True)


def _move_into_place(staging: Path, run_dir: Path) -> None:
    """The new figures/ replaces the old in one rename; then the files, report.html last."""
    figures_dir, old = run_dir / "figures", run_dir / f".figures.replaced-{os.getpid()}"
    if figures_dir.exists():
        figures_dir.rename(old)
    (staging / "figures").rename(figures_dir)
    for name in REPORT_FILES:
        if (staging / name).exists():  # patient_costs.parquet only for a run saved without it
            os.replace(staging / name, run_dir / name)
    shutil.rmtree(old, ignore_errors=True)
    staging.rmdir()


def _write_report(run_dir: Path, out: Path, checked: CheckedRun) -> None:
    """Read `run_dir`'s tables, write figures/ and report.html (and, if costed here, patient_costs.parquet) into
    `out`."""
    manifest, scenario = checked.manifest, checked.scenario
    summary = _read_csv(run_dir / "summary.csv")
    # Only what the figures need, strings as categories: a report of a large run stays small in memory.
    patients = _frame(read_table(run_dir, "patients", columns=PATIENT_COLUMNS))
    # a region's calendar table counts every patient; regions are small, so nothing is sampled there
    subset = None if scenario.region is not None else _time_course_filter(patients)
    sample = patients if subset is None else patients.iloc[: data.MAX_TIME_COURSE_PATIENTS]
    # time courses are in days since diagnosis: for a region, of the patients diagnosed within the horizon
    if scenario.region is not None:
        sample = sample[sample["diagnosis_day"] >= 0]
    events = _frame(read_table(run_dir, "events", filter=subset, columns=EVENT_COLUMNS))
    gc_rows = pc.field("prednisone_eq_mg_per_day").is_valid()
    doses_gc = _frame(read_table(run_dir, "doses", filter=gc_rows if subset is None else gc_rows & subset,
                                 columns=DOSE_COLUMNS))

    folder = out / "figures"
    folder.mkdir()
    grid = data.time_grid(sample)
    dose_time = data.dose_over_time(doses_gc, sample, grid)
    lines = data.time_in_lines(patients)
    occupancy = data.occupancy(events, sample, grid)
    curves = {name: data.kaplan_meier(times) for name, times in data.event_times(events, sample).items()}
    flows = data.flows(events[events["patient_id"].isin(sample["patient_id"])]
                       if scenario.region is not None else events)
    horizon = scenario.simulation.horizon_years * YEAR_DAYS
    replications = sorted(patients["replication"].unique())
    # per replication and year as the run saved them; shown as each year's mean per replication with its CI
    resources_each = _resources_by_year(run_dir, horizon, patients)
    resources = means_per_replication(resources_each, ["year"], replications)
    audit = data.audit_table(patients, manifest["scenario"]["name"])
    patient_cost, cost_each = _costs(run_dir, out, scenario, horizon)
    cost_by_year = means_per_replication(cost_each, ["year", "category"], replications)
    budget_each = cost_each.groupby(["replication", "year"], as_index=False)[["cost", "cost_discounted"]].sum()
    budget = means_per_replication(budget_each, ["year"], replications)
    budget_total = budget_within_horizon(cost_each, replications)
    years_table = bad_years(resources_each, replications, horizon)
    years_table.to_csv(folder / "bad_years.csv", index=False)
    region = None
    if scenario.region is not None:
        region_each = data.calendar_years(patients, events, resources_each, cost_each, horizon)
        region = means_per_replication(region_each, ["year"], replications)
        region.to_csv(folder / "region_by_year.csv", index=False)
    cost_summary = costs_summary(patient_cost, patients, scenario.costs.currency)
    exposure = data.dose_histogram(patients)
    for name, frame in {"costs_by_year": cost_by_year, "costs_summary": cost_summary,
                        "cumulative_dose": exposure, "dose_over_time": dose_time, "time_in_lines": lines, "occupancy": occupancy,
                        "flows": flows, "resources_by_year": resources, "audit": audit}.items():
        frame.to_csv(folder / f"{name}.csv", index=name == "flows")
    pd.concat({name: curve for name, curve in curves.items()}, names=["event"]).reset_index(level=0).to_csv(
        folder / "time_to_event.csv", index=False)

    money = Money.of(scenario.costs)
    assessment = scenario.assessment
    categories = data.improvement_categories(patients, tuple(assessment.adult_thresholds),
                                             tuple(assessment.juvenile_thresholds))
    flare_days = data.first_flare_days(events[events["patient_id"].isin(sample["patient_id"])]
                                       if scenario.region is not None else events)
    harms_table = data.harms_by_exposure(patients)
    harms_by_dose = data.harms_by_dose_band(doses_gc, events, sample)
    survival = data.survival_curve(patients)
    harms_table.to_csv(folder / "harms.csv", index=False)
    harms_by_dose.to_csv(folder / "harms_by_dose.csv", index=False)
    survival.to_csv(folder / "survival.csv", index=False)
    categories.to_csv(folder / "disease_course.csv", index=False)
    flare_days.to_csv(folder / "first_flares.csv", index=False)
    note = "" if subset is None else f" (first {len(sample):,} patients)"
    specs = [
        ("cumulative_dose", "Steroid exposure", "Cumulative prednisone-equivalent dose per patient, whole "
         "follow-up and first year; methylprednisolone pulses count x 1.25.", figures.cumulative_dose(exposure)),
        ("dose_over_time", "Glucocorticoid dose over time", "Weekly mean and 10th-90th percentile of "
         f"prednisone-equivalent mg/day, and the share of patients at >= 20 and > 7.5 mg/day{note}.",
         figures.dose_over_time(dose_time)),
        ("time_in_lines", "Time at each line of therapy", "Mean days per patient with 95% confidence interval "
         "(normal approximation), and the spread among patients who entered each line.",
         figures.time_in_lines(lines, patients)),
        ("occupancy", "State occupancy", f"Share of patients in each pathway state, weekly{note}.",
         figures.occupancy(occupancy)),
        ("time_to_event", "Time to event", "Kaplan-Meier (lifelines), censored at death or the end of "
         f"follow-up, shown as the cumulative share reaching each event{note}.", figures.time_to_event(curves)),
        ("disease_course", "The disease course", "Left: improvement since diagnosis at the assessment nearest "
         "6 and 12 months (2016 ACR/EULAR TIS; adults 20/40/60, JDM 30/45/70), among patients followed that "
         f"long. Right: when each patient's first flare or relapse came, and where{note}; numbers in "
         "figures/disease_course.csv and figures/first_flares.csv.", figures.disease_course(categories, flare_days)),
        ("harms", "Glucocorticoid harms and survival", "Left: adverse events per 100 patient-years by the "
         "prednisone-equivalent dose on the day they came (person-time in each band from the dose rows"
         f"{note}; low up to 7.5, medium up to 30, high above 30 mg/day). Middle: the same in thirds of the "
         "cohort by cumulative dose per year of follow-up. The rates follow the dose and the weighted recent "
         "dose as the scenario's [adverse_events] sources define them; PJP also counts as a serious infection. "
         "Right: survival from diagnosis; numbers in figures/harms_by_dose.csv, figures/harms.csv and "
         "figures/survival.csv.",
         figures.harms(harms_by_dose, harms_table, survival, first_year_mortality(patients),
                       int((patients["death_cause"] == "serious_infection").sum()), int(patients["died"].sum()))),
        ("flows", "Flows between states", f"Number of transitions from each state to each other{note}.",
         figures.flows(flows)),
        ("resources_by_year", "Resource use per year", "IVIG, infusions and IV pulses by calendar year of the "
         "horizon (years since diagnosis in a cohort diagnosed on day 0), mean per replication.",
         figures.resources_by_year(resources)),
        ("costs_by_year", "Costs per year", f"The cost per calendar year of the horizon by category, mean per "
         f"replication, in {money.unit} (undiscounted; prices from the scenario's [costs] table).",
         figures.costs_by_year(cost_by_year, money.heading)),
    ]
    waits = None
    if scenario.infusion_unit is not None:
        unit = scenario.infusion_unit
        weeks = data.unit_by_week(read_table(run_dir, "infusion_unit_days").to_pandas())
        waits = waits_by_drug(read_table(run_dir, "infusion_visits").to_pandas())
        weeks.to_csv(folder / "infusion_unit_by_week.csv", index=False)
        waits.to_csv(folder / "infusion_waits.csv", index=False)
        specs += [
            ("infusion_unit", "Infusion unit: queue and utilisation",
             f"{unit.chairs} chair(s), {unit.hours_per_day:g} hours a day from {unit.opens_at_hour:g}:00, "
             f"{unit.days_per_week} days a week; weekly, all replications together.",
             figures.infusion_unit(weeks, unit.chairs)),
            ("infusion_waits", "Waits per infusion type", "Days from a visit being due to its first session "
             "(grey: with nights and closed days; orange: waiting for a free chair only).",
             figures.infusion_waits(waits)),
        ]
    report_figures = [ReportFigure(name, title, caption, figures.save_figure(fig, folder, name))
                      for name, title, caption, fig in specs]
    (folder / FIGURE_INDEX).write_text(json.dumps(
        [{"name": name, "title": title, "caption": caption} for name, title, caption, _ in specs], indent=1), "utf-8")
    validation_path = run_dir / "validation.csv"
    validation = _read_csv(validation_path).to_dict("records") if validation_path.exists() else None
    html = TEMPLATES.get_template("report.html.j2").render(
        validation=validation, costs=cost_summary.to_dict("records"), money=money,
        discount=scenario.costs.discount_rate_per_year, budget=budget.to_dict("records"), budget_total=budget_total,
        bad_years=years_table.to_dict("records"),
        region=None if region is None else region.to_dict("records"), region_spec=scenario.region,
        unit=scenario.infusion_unit, waits=None if waits is None else waits.to_dict("records"),
        manifest=manifest, scenario=manifest["scenario"], summary=summary.to_dict("records"),
        metrics=summary.set_index("metric").to_dict("index"),
        before=summary[summary["metric"].str.endswith("_before_horizon")].to_dict("records"),
        figures=report_figures, audit=audit.to_dict("records"), resources=resources.to_dict("records"),
        parameters=_parameter_sections(manifest["scenario"]), patients=len(patients),
    )
    (out / "report.html").write_text(html, "utf-8")
