"""The parameters a planner changes most, as dotted scenario paths: read from a scenario, edited, validated.

A form shows `planner_values(scenario)`; what comes back goes through `edits` (only what changed, plain Python
numbers) and `edited_scenario` (the scenario's own validation: a bad value raises `ScenarioError` naming the
field and the value, as `iimsim run` does).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

import iimsim
from iimsim.scenarios import Scenario, ScenarioError
from iimsim.scenarios.schema import Lines

LINES: tuple[str, ...] = tuple(Lines.model_fields)
UNIT_FIELDS = ("chairs", "opens_at_hour", "hours_per_day", "days_per_week")
PRICE_FIELDS = ("ivig_price_per_g", "infusion_chair_day", "clinic_visit")
IVIG_COLUMNS = {"p_ivig_severe": "severe", "p_ivig_non_severe": "non_severe"}

# A room's run: small enough to finish in seconds, replicated for 95% intervals.
ROOM_PATIENTS = 200
ROOM_REPLICATIONS = 3
# The app's own caps, lower than a scenario's: any run started from the page (and one left running when its
# browser closes) ends within a few minutes on a shared laptop. `iimsim run` runs larger scenarios.
APP_MAX_PATIENT_YEARS = 100_000  # patients (a region's expected patients) x replications x years
APP_MAX_REPLICATIONS = 20
APP_MAX_YEARS = 20.0
APP_CAPS = (f"The app runs at most {APP_MAX_PATIENT_YEARS:,} patient-years (patients x replications x "
            f"years), {APP_MAX_REPLICATIONS} replications and {APP_MAX_YEARS:g} years; `iimsim run` runs larger "
            "scenarios.")


def size_path(scenario: Scenario) -> str:
    """What sets a run's size: the region's population for an open cohort, else the patients simulated."""
    return "region.population" if scenario.region is not None else "simulation.patients"


def room_sized(scenario: Scenario) -> Scenario:
    """The scenario with at most ROOM_PATIENTS patients and ROOM_REPLICATIONS replications (a region keeps its
    population: its size is the patients it diagnoses)."""
    patients = min(scenario.simulation.patients, ROOM_PATIENTS) if scenario.region is None else None
    return iimsim.resolve(scenario, patients=patients, replications=ROOM_REPLICATIONS)


def check_app_caps(scenario: Scenario, label: str) -> None:
    """`ScenarioError` naming the field, its value and the cap, if the scenario is larger than the app runs;
    `label` names the scenario (as the planner chose it, before edits)."""
    sim, region = scenario.simulation, scenario.region
    if sim.replications > APP_MAX_REPLICATIONS:
        raise ScenarioError(f"{label}: simulation.replications = {sim.replications:,}: the app runs at most "
                            f"{APP_MAX_REPLICATIONS} (`iimsim run` runs more)")
    if sim.horizon_years > APP_MAX_YEARS:
        raise ScenarioError(f"{label}: simulation.horizon_years = {sim.horizon_years:g}: the app runs at most "
                            f"{APP_MAX_YEARS:g} years (`iimsim run` runs more)")
    if region is None:
        patients = sim.patients
    else:
        patients = (region.population * region.incidence_per_100k_person_years / 100_000 * sim.horizon_years
                    + region.prevalent_patients)
    patient_years = patients * sim.replications * sim.horizon_years
    if patient_years > APP_MAX_PATIENT_YEARS:
        path = size_path(scenario)
        value = region.population if region is not None else sim.patients
        raise ScenarioError(f"{label}: {path} = {value:,}: about {patient_years:,.0f} patient-years, and the "
                            f"app runs at most {APP_MAX_PATIENT_YEARS:,} (patients x replications x years; "
                            "`iimsim run` runs more)")


def planner_values(scenario: Scenario) -> dict[str, Any]:
    """Every value the Plan page edits, by dotted scenario path."""
    sim = scenario.simulation
    size = scenario.region.population if scenario.region is not None else sim.patients
    values: dict[str, Any] = {size_path(scenario): size, "simulation.horizon_years": sim.horizon_years,
                              "simulation.replications": sim.replications, "simulation.seed": sim.seed}
    for name in LINES:
        line = getattr(scenario.lines, name)
        for field in IVIG_COLUMNS:
            values[f"lines.{name}.{field}"] = getattr(line, field)
        for option, weight in line.options.items():
            values[f"lines.{name}.options.{option}"] = weight
    if scenario.infusion_unit is not None:
        for field in UNIT_FIELDS:
            values[f"infusion_unit.{field}"] = getattr(scenario.infusion_unit, field)
    for field in PRICE_FIELDS:
        values[f"costs.{field}"] = getattr(scenario.costs, field)
    for drug, price in scenario.costs.price_per_mg.items():
        values[f"costs.price_per_mg.{drug}"] = price
    return values


def _plain(value: Any) -> Any:
    """A form's number as a plain Python number (numpy's int64 is no int to a strict schema)."""
    return value.item() if hasattr(value, "item") else value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def edits(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from the scenario's, by path; an emptied field raises `ScenarioError` naming it."""
    before = planner_values(scenario)
    unknown = sorted(set(values) - set(before))
    if unknown:
        raise ScenarioError(f"{scenario.name}: not a field the Plan page edits: {', '.join(unknown)}")
    changed = {}
    for path, value in values.items():
        value = _plain(value)
        if _missing(value):
            raise ScenarioError(f"{scenario.name}: {path}: missing")
        if value != before[path] or type(value) is not type(before[path]):
            changed[path] = value
    return changed


def edited_scenario(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """The scenario with `changes` (from `edits`), validated; renamed NAME-edited, its description saying what
    changed, when anything did. Raises `ScenarioError` naming the field and the value."""
    if not changes:
        return scenario
    edited = iimsim.resolve(scenario, **changes)
    before = planner_values(scenario)
    said = "; ".join(f"{path} {before[path]!r} -> {value!r}" for path, value in changes.items())
    return edited.model_copy(update={"name": f"{scenario.name}-edited",
                                     "description": f"{scenario.description} Edited in iimsim app: {said}."})


def ivig_table(values: dict[str, Any]) -> pd.DataFrame:
    """Share of patients given IVIG at each line: one row per line, columns severe and non_severe."""
    return pd.DataFrame({column: [values[f"lines.{line}.{field}"] for line in LINES]
                         for field, column in IVIG_COLUMNS.items()}, index=pd.Index(LINES, name="line"))


def ivig_values(table: pd.DataFrame) -> dict[str, Any]:
    return {f"lines.{line}.{field}": table.loc[line, column]
            for line in table.index for field, column in IVIG_COLUMNS.items()}


def keyed_table(values: dict[str, Any], prefix: str, column: str) -> pd.DataFrame:
    """The values under `prefix` (e.g. lines.first_line.options) as one column, keyed by what follows it."""
    start = prefix + "."
    keys = [path.removeprefix(start) for path in values if path.startswith(start)]
    return pd.DataFrame({column: [values[start + key] for key in keys]}, index=pd.Index(keys, name="name"))


def keyed_values(table: pd.DataFrame, prefix: str, column: str) -> dict[str, Any]:
    return {f"{prefix}.{key}": table.loc[key, column] for key in table.index}
