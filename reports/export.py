"""Writing a run's output folder atomically, tables streamed batch by batch.

Everything is written into a hidden sibling folder and renamed into place at the
end, under a lock on the folder (`iimsim.reports.staging`), so an interrupted run
leaves no half-written output and two runs never write one folder; an existing
folder is replaced only with `force`.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from iimsim.reports.staging import (OutputBusyError, OutputExistsError, OutputWriteError, StagedFolder,  # noqa: F401
                                    staged_folder)
from iimsim.simulation.tables import CORE_TABLES, SCHEMAS

FORMATS = ("parquet", "csv")


def schema_of(name: str) -> pa.Schema:
    """A table's schema: the simulation's tables, or those the reports add to a run (patient outcomes, costs)."""
    return SCHEMAS[name]


class RunFolderError(OSError):
    """A file of a run folder that cannot be read (damaged, truncated, not its format); the message names it."""


class MissingRunFileError(RunFolderError, FileNotFoundError):
    """A run folder without a file it needs; the message names the file expected."""


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def unreadable(path: Path, err: BaseException) -> RunFolderError:
    """The error to raise for a file that failed to read, naming it."""
    return RunFolderError(f"{path}: cannot be read, damaged or not a {path.suffix.lstrip('.')} file "
                          f"({_first_line(err)})")


class RunOutput:
    """`with RunOutput(dir, "parquet", force) as out: out.write_batch(tables) ...`"""

    def __init__(self, out_dir: Path | str, table_format: str = "parquet", force: bool = False) -> None:
        if table_format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {table_format!r}")
        self.target = Path(out_dir)
        self._folder = StagedFolder(self.target, force)  # refuses an existing folder now, before any work
        self.staging = self._folder.staging
        self.format = table_format
        self._writers: dict[str, Any] = {}
        self.rows = {name: 0 for name in CORE_TABLES}

    def __enter__(self) -> RunOutput:
        self._folder.__enter__()
        try:
            for name in CORE_TABLES:
                self._open_writer(name)
        except BaseException as err:
            self.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def _open_writer(self, name: str) -> None:
        """The core tables are always written; the infusion unit's only by runs that have one."""
        path = self.staging / f"{name}.{self.format}"
        if self.format == "parquet":
            self._writers[name] = pq.ParquetWriter(path, schema_of(name), compression="zstd")
        else:
            self._writers[name] = pacsv.CSVWriter(path, schema_of(name))
        self.rows.setdefault(name, 0)

    def write_batch(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if name not in self._writers:
                self._open_writer(name)
            self._writers[name].write_table(table)
            self.rows[name] += table.num_rows

    def path(self, filename: str) -> Path:
        """Where to write another file of the run (inside the staging folder until committed)."""
        return self.staging / filename

    def close_tables(self) -> None:
        """Finish the table files (so the run's report can read them before the folder is committed)."""
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def write_json(self, filename: str, data: Any) -> None:
        self.path(filename).write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            with suppress(Exception):  # a failed run's files are removed anyway (on a full disk they fail to close)
                self.close_tables()
            self._folder.__exit__(exc_type, exc, tb)
            return
        try:
            self.close_tables()
        except BaseException as err:
            self._folder.__exit__(type(err), err, err.__traceback__)
            raise
        self._folder.__exit__(None, None, None)


def table_path(run_dir: Path | str, name: str) -> Path:
    """Where a run's table is, in whichever format it was written; `MissingRunFileError` if in none."""
    run_dir = Path(run_dir)
    for table_format in FORMATS:
        path = run_dir / f"{name}.{table_format}"
        if path.exists():
            return path
    raise MissingRunFileError(f"{run_dir / f'{name}.parquet'}: missing (the run has no {name} table, "
                            f"{' or '.join(FORMATS)})")


def has_table(run_dir: Path | str, name: str) -> bool:
    """Whether the run saved table `name`, in any format."""
    return any((Path(run_dir) / f"{name}.{table_format}").exists() for table_format in FORMATS)


def table_dataset(run_dir: Path | str, name: str) -> ds.Dataset:
    """A saved table of a run as a pyarrow dataset, whichever format it was written in."""
    path = table_path(run_dir, name)
    try:
        if path.suffix == ".parquet":
            return ds.dataset(path, format="parquet")
        # An empty field is null; an empty string is written quoted ("").
        options = pacsv.ConvertOptions(column_types=schema_of(name), strings_can_be_null=True,
                                       quoted_strings_can_be_null=False)
        return ds.dataset(path, format=ds.CsvFileFormat(convert_options=options))
    except (pa.ArrowException, OSError) as err:
        raise unreadable(path, err) from None


def read_table(run_dir: Path | str, name: str, filter: pc.Expression | None = None,
               columns: list[str] | None = None) -> pa.Table:
    """A saved table of a run; optionally only some rows and columns. A damaged file raises `RunFolderError`."""
    dataset = table_dataset(run_dir, name)
    try:
        return dataset.to_table(columns=columns, filter=filter)
    except (pa.ArrowException, OSError) as err:
        raise unreadable(table_path(run_dir, name), err) from None


RUN_TABLES = ("patients", "events", "doses", "assessments", "patient_outcomes", "patient_costs",
              "infusion_visits", "infusion_unit_days")


def check_complete(run_dir: Path | str) -> None:
    """Every saved table of the run ends as its format ends (a Parquet footer; a CSV's last line break), so a
    file cut short, even one a report does not read, raises `RunFolderError` naming it. Reads no rows."""
    run_dir = Path(run_dir)
    for name in RUN_TABLES:
        if not has_table(run_dir, name):
            continue
        path = table_path(run_dir, name)
        try:
            if path.suffix == ".parquet":
                pq.read_metadata(path)
            elif path.stat().st_size:
                with path.open("rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        raise ValueError("the file ends in the middle of a row (cut short?)")
        except (pa.ArrowException, OSError, ValueError) as err:
            raise unreadable(path, err) from None


def first_unreadable(run_dir: Path | str) -> RunFolderError | None:
    """Read every table, the manifest and the summary of a run in full: the first that fails, as an error naming
    it (None if all read). For saying which file broke a report, after the fact."""
    import pandas as pd

    run_dir = Path(run_dir)
    try:
        json.loads((run_dir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as err:
        return unreadable(run_dir / "manifest.json", err)
    try:
        pd.read_csv(run_dir / "summary.csv")
    except (OSError, ValueError) as err:
        return unreadable(run_dir / "summary.csv", err)
    for name in RUN_TABLES:
        if not has_table(run_dir, name):
            continue
        try:
            read_table(run_dir, name)
        except RunFolderError as err:
            return err
    return None
