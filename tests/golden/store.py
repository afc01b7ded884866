"""Store the golden run's tables (tests/golden/*.csv) from the code as it is now.

    python -m tests.golden.store

Only when the model's output is meant to change: commit the new tables with a message saying why they changed
(tests/test_golden.py compares them exactly and fails on any other change).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from iimsim.scenarios import load_scenario
from iimsim.simulation.runner import collect_tables

FOLDER = Path(__file__).resolve().parent
COMMAND = "python -m tests.golden.store"
# The run: the built-in baseline, small enough to store (well under 1 MB) and to simulate in seconds.
SCENARIO = "baseline"
RUN = {"simulation": {"patients": 40, "horizon_years": 2.0, "seed": 20261122, "replications": 1}}


def golden_tables(workers: int = 1, chunk_size: int = 2000) -> dict[str, pa.Table]:
    return collect_tables(load_scenario(SCENARIO, RUN), workers=workers, chunk_size=chunk_size)


def csv_text(table: pa.Table) -> str:
    """A table as CSV: every column in contract order, floats as Arrow writes them (shortest round trip)."""
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    return out.getvalue().decode("utf-8")


def stored_path(name: str) -> Path:
    return FOLDER / f"{name}.csv"


def main() -> None:
    for name, table in golden_tables().items():
        partial = FOLDER / f".{name}.csv.partial"
        partial.write_text(csv_text(table), "utf-8")
        partial.replace(stored_path(name))
        print(f"stored {stored_path(name).relative_to(FOLDER.parent.parent)}: {table.num_rows} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
