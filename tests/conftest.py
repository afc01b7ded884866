"""Shared helpers: simulate a small cohort and return its tables as pandas frames."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import settings

from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import deep_merge
from iimsim.simulation.runner import collect_tables


# CI explores the same examples every time (a failure there is reproducible); local runs explore anew.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def simulate(scenario: str = "baseline", patients: int = 200, seed: int = 1, years: float = 5.0,
             overrides: dict | None = None, workers: int = 1, chunk_size: int = 2000) -> dict[str, pd.DataFrame]:
    changes = {"simulation": {"patients": patients, "seed": seed, "horizon_years": years}}
    resolved = load_scenario(scenario, deep_merge(changes, overrides or {}))
    tables = collect_tables(resolved, workers=workers, chunk_size=chunk_size)
    return {name: table.to_pandas() for name, table in tables.items()}


@pytest.fixture(scope="session")
def baseline_run() -> dict[str, pd.DataFrame]:
    return simulate("baseline", patients=1500, seed=7)


@pytest.fixture(scope="session")
def monotherapy_run() -> dict[str, pd.DataFrame]:
    return simulate("steroid_monotherapy", patients=400, seed=7)
