"""One run of a scenario: simulate, stream the tables to disk, write summary and manifest."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from iimsim.reports.export import RunOutput
from iimsim.reports.manifest import csv_facts, manifest
from iimsim.reports.patient_outcomes import OutcomeTally
from iimsim.reports.resources import COSTS_BY_YEAR_FILE, RESOURCES_BY_YEAR_FILE, ResourceYears
from iimsim.reports.summary import ResourceTally, combine_replications, summarize_replications
from iimsim.scenarios.schema import Scenario
from iimsim.simulation.tables import YEAR_DAYS
from iimsim.simulation.runner import DEFAULT_CHUNK_SIZE, cohort_size, run_cohort


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: pd.DataFrame
    wall_seconds: float
    cpu_seconds: float
    patient_years: float
    patients: int


def execute_run(scenario: Scenario, out_dir: Path, workers: int = 1, table_format: str = "parquet",
                force: bool = False, chunk_size: int = DEFAULT_CHUNK_SIZE, command: list[str] | None = None,
                progress: bool | Callable[[int, int], None] | None = None, report: bool = False,
                backend: str = "processes", scheduler: str | None = None) -> RunResult:
    """Simulate `scenario` into `out_dir`. Raises `OutputExistsError` before any work if it exists.

    `progress=None` shows a progress bar only on a terminal; a callable is called instead with (patients
    done, patients in all) after each batch (the app's progress bar); `report` also writes the HTML
    report and figures (from the saved tables, inside the same atomic commit).
    """
    on_batch = progress if callable(progress) else None
    if on_batch is not None:
        progress = False
    total = cohort_size(scenario)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    tallies: dict[int, ResourceTally] = {}
    # cost (by category and calendar year), life-years and QALYs per patient, batch by batch
    outcomes = OutcomeTally(scenario, by_year=True)
    resources = ResourceYears(scenario.simulation.horizon_years * YEAR_DAYS)
    patient_batches, done = [], 0
    output = RunOutput(out_dir, table_format, force)
    with output, tqdm(total=total, unit="patient", disable=None if progress is None else not progress,
                      file=sys.stderr) as bar:
        for chunk, tables in run_cohort(scenario, workers=workers, chunk_size=chunk_size, backend=backend,
                                        scheduler=scheduler):
            output.write_batch({**tables, **outcomes.add(tables)})
            tallies.setdefault(chunk.replication, ResourceTally()).add(tables)
            resources.add(tables)
            patient_batches.append(tables["patients"])
            bar.update(chunk.patients)
            done += chunk.patients
            if on_batch is not None:
                on_batch(done, total)
        patients = pa.concat_tables(patient_batches).to_pandas(strings_to_categorical=True)
        del patient_batches
        _, by_replication = summarize_replications(patients, tallies)
        by_replication = pd.concat([by_replication, outcomes.by_replication()], ignore_index=True)
        summary = combine_replications(by_replication)
        # The cohort's costs and IV resources per year, for the report (summed as the batches went by).
        csv_files = {"summary.csv": summary, "summary_by_replication.csv": by_replication,
                     COSTS_BY_YEAR_FILE: outcomes.cost_by_year, RESOURCES_BY_YEAR_FILE: resources.total()}
        for filename, frame in csv_files.items():
            frame.to_csv(output.path(filename), index=False)
        patient_years = float(patients["followup_days"].sum() / YEAR_DAYS)  # all replications
        wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
        output.write_json("manifest.json", manifest(
            scenario.model_dump(mode="json"), command or sys.argv,
            {"wall_seconds": round(wall, 3), "main_process_cpu_seconds": round(cpu, 3), "workers": workers,
             "backend": backend, "scheduler": scheduler,
             "chunk_size": chunk_size, "format": table_format, "rows": dict(output.rows),
             # what a report checks the CSV files against (the tables are checked against `rows`)
             "files": {filename: csv_facts(frame) for filename, frame in csv_files.items()},
             "patient_years": patient_years},
        ))
        if report:
            from iimsim.reports.report import build_report

            del patients  # the report reads what it needs from the saved tables
            output.close_tables()
            build_report(output.staging)
    return RunResult(Path(out_dir), summary, wall, cpu, patient_years, total)
