"""Writing a run's output folder atomically, tables streamed batch by batch.

Everything is written into a hidden sibling folder and renamed into place at the
end, so an interrupted run leaves no half-written output; an existing folder is
replaced only with `force`.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from iimsim.simulation.tables import CORE_TABLES, SCHEMAS

FORMATS = ("parquet", "csv")


def schema_of(name: str) -> pa.Schema:
    """A table's schema: the simulation's tables, or those the reports add to a run (patient_outcomes)."""
    if name in SCHEMAS:
        return SCHEMAS[name]
    from iimsim.reports.patient_outcomes import PATIENT_OUTCOME_SCHEMA

    return {"patient_outcomes": PATIENT_OUTCOME_SCHEMA}[name]


class OutputExistsError(FileExistsError):
    pass


@contextmanager
def staged_folder(out_dir: Path | str, force: bool = False):
    """Yield a hidden sibling folder to write into; it becomes `out_dir` only if the block succeeds."""
    target = Path(out_dir)
    if target.exists() and not force:
        raise OutputExistsError(f"{target} exists: choose another --out or pass --force to replace it")
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


class RunOutput:
    """`with RunOutput(dir, "parquet", force) as out: out.write_batch(tables) ...`"""

    def __init__(self, out_dir: Path | str, table_format: str = "parquet", force: bool = False) -> None:
        if table_format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {table_format!r}")
        self.target = Path(out_dir)
        if self.target.exists() and not force:
            raise OutputExistsError(f"{self.target} exists: choose another --out or pass --force to replace it")
        if self.target.exists() and not self.target.is_dir():
            raise OutputExistsError(f"{self.target} exists and is not a folder")
        self.format = table_format
        self.staging = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        self._writers: dict[str, Any] = {}
        self.rows = {name: 0 for name in CORE_TABLES}

    def __enter__(self) -> RunOutput:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        for name in CORE_TABLES:
            self._open_writer(name)
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
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def write_json(self, filename: str, data: Any) -> None:
        self.path(filename).write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close_tables()
        if exc_type is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.replaced-{os.getpid()}"
            self.target.rename(old)
            self.staging.rename(self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.staging.rename(self.target)


def table_dataset(run_dir: Path | str, name: str) -> ds.Dataset:
    """A saved table of a run as a pyarrow dataset, whichever format it was written in."""
    run_dir = Path(run_dir)
    for table_format in FORMATS:
        path = run_dir / f"{name}.{table_format}"
        if path.exists():
            if table_format == "parquet":
                return ds.dataset(path, format="parquet")
            # An empty field is null; an empty string is written quoted ("").
            options = pacsv.ConvertOptions(column_types=schema_of(name), strings_can_be_null=True,
                                           quoted_strings_can_be_null=False)
            return ds.dataset(path, format=ds.CsvFileFormat(convert_options=options))
    raise FileNotFoundError(f"{run_dir} has no {name} table ({' or '.join(FORMATS)})")


def read_table(run_dir: Path | str, name: str, filter: pc.Expression | None = None,
               columns: list[str] | None = None) -> pa.Table:
    """A saved table of a run; optionally only some rows and columns."""
    return table_dataset(run_dir, name).to_table(columns=columns, filter=filter)
