"""The golden back-test: a small fixed run of the baseline (tests/golden/store.py) gives exactly the stored tables,
with one worker and with two. Any change to what the model does shows here, row by row; a change that is meant
re-stores the tables in a commit saying why."""

from __future__ import annotations

import pytest

from tests.golden.store import COMMAND, csv_text, golden_tables, stored_path
from iimsim.simulation.tables import CORE_TABLES


def first_difference(stored: str, now: str) -> str:
    old, new = stored.splitlines(), now.splitlines()
    for line, (a, b) in enumerate(zip(old, new), start=1):
        if a != b:
            return f"line {line}:\n  stored: {a}\n  now:    {b}\n  header: {old[0]}"
    return f"{len(old)} stored lines, {len(new)} now"


def assert_same_as_stored(tables) -> None:
    assert sorted(tables) == sorted(CORE_TABLES)
    for name in CORE_TABLES:
        stored, now = stored_path(name).read_text("utf-8"), csv_text(tables[name])
        assert now == stored, (
            f"the golden run's {name} table changed ({first_difference(stored, now)}). If the change is meant, "
            f"re-store the tables with `{COMMAND}` and commit them in a commit whose message says why they "
            "changed; if not, the change is a regression.")


@pytest.fixture(scope="module")
def one_worker():
    return golden_tables(workers=1)


def test_the_golden_run_gives_the_stored_tables(one_worker):
    assert_same_as_stored(one_worker)


def test_the_golden_run_is_the_same_on_two_workers():
    """Same seed, same tables, whatever the worker count: chunks of 10 patients spread over two processes."""
    assert_same_as_stored(golden_tables(workers=2, chunk_size=10))


def test_the_stored_tables_are_a_real_run_and_stay_small(one_worker):
    """The stored run is not empty or degenerate (every table has rows for every patient), and small."""
    patients = one_worker["patients"].to_pandas()
    assert len(patients) == 40 and patients["patient_id"].tolist() == list(range(40))
    for name in ("events", "doses", "assessments"):
        assert set(one_worker[name].column("patient_id").to_pylist()) == set(range(40))
    assert sum(stored_path(name).stat().st_size for name in CORE_TABLES) < 1_000_000
