"""Shared helpers: simulate a small cohort and return its tables as pandas frames; a headless browser."""

from __future__ import annotations

import os
import shutil

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


def headless_chromium(window_size: str = "1200,1600"):
    """A selenium driver on Debian's chromium and chromedriver, headless; skips without them (fails in CI)."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium and chromium-driver: tests/setup.sh installs them")
        pytest.skip("chromium and chromedriver not installed (bash tests/setup.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--window-size={window_size}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)
