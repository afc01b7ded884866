"""Checking a run folder before anything is read from it or drawn: it may come from anyone, damaged or not.

The manifest must have a run manifest's shape and hold a valid scenario; every table must end as its format ends,
hold the columns of its schema with their types and the rows the manifest records; every CSV file the manifest
records (summary.csv, ...) its rows and columns, numbers where it recorded numbers. Any failure raises
`RunFolderError` (`MissingRunFileError` for a missing file) naming the file. A folder saved by an earlier version,
whose manifest records no CSV files, has its summary's columns checked; the sums a report can work out again from
the tables (patient_costs, costs and resources by year) may be missing, as in a folder saved before runs made them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iimsim.reports.export import (RUN_TABLES, MissingRunFileError, RunFolderError, check_complete, has_table,
                                   schema_of, table_dataset, table_path, unreadable)
from iimsim.reports.manifest import MAX_MANIFEST_BYTES, manifest_model
from iimsim.reports.resources import COSTS_BY_YEAR_FILE, RESOURCES_BY_YEAR_FILE
from iimsim.scenarios.loader import ScenarioError, shown, too_deep, validate

MANIFEST = "manifest.json"
SUMMARY = "summary.csv"
SUMMARY_COLUMNS = ("metric", "value", "ci_low", "ci_high", "unit", "description")  # what a report shows
# What a report works out again from the tables when a folder lacks it.
DERIVED_TABLES = ("patient_costs",)
DERIVED_FILES = (COSTS_BY_YEAR_FILE, RESOURCES_BY_YEAR_FILE)
VALIDATION_COLUMNS = ("target", "published_value", "unit", "published_definition", "simulated_mean", "ci_low",
                      "ci_high", "tolerance", "within_tolerance", "population", "source", "simulated_as", "note")


@dataclass(frozen=True)
class CheckedRun:
    manifest: dict[str, Any]
    scenario: Any  # the validated Scenario the run simulated


def read_manifest(run_dir: Path) -> CheckedRun:
    """The run's manifest, checked for its shape, and its scenario validated."""
    from pydantic import ValidationError

    path = run_dir / MANIFEST
    if not path.is_file():
        raise MissingRunFileError(f"{path}: missing (not a run folder?)")
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than a manifest may be ({MAX_MANIFEST_BYTES:,} bytes)")
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise unreadable(path, err) from None
    deep = too_deep(data)
    if not isinstance(data, dict) or deep is not None:
        raise RunFolderError(f"{path}: not a run manifest ({'a JSON object expected' if deep is None else deep})")
    try:
        manifest_model().model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        value = f" = {shown(first['input'])}" if first["type"] != "missing" else ""
        raise RunFolderError(f"{path}: not a run manifest: {field}{value}: {first['msg']}") from None
    try:
        scenario = validate(data["scenario"], f"{path}: scenario")
    except ScenarioError as err:
        raise RunFolderError(str(err)) from None
    return CheckedRun(data, scenario)


def _check_table(run_dir: Path, name: str, rows: int | None) -> None:
    """A table has its schema's columns with their types, and `rows` rows if given."""
    path = table_path(run_dir, name)
    try:
        expected = schema_of(name)
    except KeyError:
        raise RunFolderError(f"{run_dir / MANIFEST}: run.rows names an unknown table {shown(name)}") from None
    try:
        if path.suffix == ".parquet":
            schema, count = pq.read_schema(path), pq.read_metadata(path).num_rows
        else:  # CSV: converting every row to the schema's types is the check of its types
            dataset = table_dataset(run_dir, name)
            schema, count = dataset.schema, sum(batch.num_rows for batch in dataset.to_batches())
    except (pa.ArrowException, OSError) as err:
        raise unreadable(path, err) from None
    columns = {field.name: field.type for field in schema}
    missing = [field.name for field in expected if field.name not in columns]
    if missing:
        raise RunFolderError(f"{path}: columns missing: {', '.join(missing)}")
    wrong = [f"{field.name} is {columns[field.name]}, not {field.type}" for field in expected
             if columns[field.name] != field.type]
    if wrong:
        raise RunFolderError(f"{path}: column types differ from the table's: {'; '.join(wrong)}")
    if rows is not None and count != rows:
        raise RunFolderError(f"{path}: {count:,} rows, the manifest records {rows:,} (cut short or replaced?)")


def read_checked_csv(path: Path, facts: dict[str, Any] | None = None,
                     required: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV file of the run, with the rows and columns (and numbers where numbers) its manifest records, or at
    least the `required` columns."""
    if not path.is_file():
        raise MissingRunFileError(f"{path}: missing")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise unreadable(path, err) from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise RunFolderError(f"{path}: columns missing: {', '.join(missing)}")
    if facts is None:
        return frame
    if list(frame.columns) != list(facts["columns"]):
        raise RunFolderError(f"{path}: columns {shown(list(frame.columns))}, the manifest records "
                             f"{shown(list(facts['columns']))}")
    if len(frame) != facts["rows"]:
        raise RunFolderError(f"{path}: {len(frame):,} rows, the manifest records {facts['rows']:,} (cut short?)")
    not_numbers = [column for column, kind in facts["columns"].items()
                   if kind == "number" and not pd.api.types.is_numeric_dtype(frame[column])]
    if not_numbers:
        raise RunFolderError(f"{path}: not numbers where the manifest records numbers: {', '.join(not_numbers)}")
    return frame


def check_run(run_dir: Path | str) -> CheckedRun:
    """Check the whole run folder as the module says; returns its manifest and scenario."""
    run_dir = Path(run_dir)
    checked = read_manifest(run_dir)
    facts = checked.manifest["run"]
    check_complete(run_dir)
    rows = facts["rows"]
    for name in ("patients", "events", "doses"):
        table_path(run_dir, name)  # every run has them
    for name in sorted(set(rows) | {name for name in RUN_TABLES if has_table(run_dir, name)}):
        if name in DERIVED_TABLES and not has_table(run_dir, name):
            continue
        _check_table(run_dir, name, rows.get(name))
    files = facts.get("files")
    if files is None:  # saved by an earlier version
        read_checked_csv(run_dir / SUMMARY, required=SUMMARY_COLUMNS)
    else:
        if SUMMARY not in files:
            raise RunFolderError(f"{run_dir / MANIFEST}: run.files does not record {SUMMARY}")
        for name, recorded in files.items():
            if Path(name).name != name or not name.endswith(".csv"):
                raise RunFolderError(f"{run_dir / MANIFEST}: run.files names {shown(name)}, not a CSV file of the run")
            if name in DERIVED_FILES and not (run_dir / name).exists():
                continue
            read_checked_csv(run_dir / name, recorded, SUMMARY_COLUMNS if name == SUMMARY else ())
    if (run_dir / "validation.csv").exists():
        read_checked_csv(run_dir / "validation.csv", required=VALIDATION_COLUMNS)
    return checked
