"""The Python API: what simulate, load_run, compare, psa and oneway return, and the docs' example, executed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import iimsim
from iimsim.reports.comparison import DIFFERENCE_COLUMNS
from iimsim.scenarios import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_run():
    return iimsim.simulate("baseline", patients=60, seed=5, years=2)


def test_simulate_returns_the_tables_the_summary_counts(small_run):
    assert len(small_run.patients) == 60 and small_run.metric("patients") == 60
    assert small_run.metric("mean_pred_cum_mg") == pytest.approx(small_run.patients.pred_cum_mg.mean())
    assert set(small_run.doses.patient_id) <= set(small_run.patients.patient_id)
    assert small_run.scenario.simulation.horizon_years == 2.0
    with pytest.raises(KeyError, match="no_such_metric"):
        small_run.metric("no_such_metric")


def test_the_same_seed_gives_the_same_tables_and_an_override_changes_the_scenario(small_run):
    again = iimsim.simulate(load_scenario("baseline"), patients=60, seed=5, years=2)
    pd.testing.assert_frame_equal(again.patients, small_run.patients)
    pd.testing.assert_frame_equal(again.events, small_run.events)
    changed = iimsim.resolve("baseline", **{"cohort.comorbidity.p_diabetes": 0.5}, years=1)
    assert changed.cohort.comorbidity.p_diabetes == 0.5 and changed.simulation.horizon_years == 1.0
    with pytest.raises(ScenarioError, match="disease.p_refractory.DM"):
        iimsim.resolve("baseline", disease__p_refractory__DM=1.5)


def test_a_saved_run_loads_back_as_the_same_run(small_run, tmp_path):
    small_run.save(tmp_path / "saved")
    loaded = iimsim.load_run(tmp_path / "saved")
    pd.testing.assert_frame_equal(loaded.patients, small_run.patients)
    pd.testing.assert_frame_equal(loaded.summary, small_run.summary)
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        iimsim.load_run(tmp_path)


def test_compare_returns_paired_differences_and_writes_the_folder_only_with_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "copy.toml"
    copy.write_text('extends = "baseline"\nname = "copy"\n')
    differences = iimsim.compare(["baseline", copy], patients=40, replications=2, seed=4)
    assert list(differences.columns) == DIFFERENCE_COLUMNS
    assert set(differences.scenario) == {"copy"} and set(differences.reference) == {"baseline"}
    assert (differences.difference.fillna(0) == 0).all()  # the same scenario on the same patients
    assert [p.name for p in tmp_path.iterdir()] == ["copy.toml"]  # nothing written without out
    severe = iimsim.compare(["baseline", "severe_ivig"], patients=40, replications=2, seed=4)
    written = iimsim.compare(["baseline", "severe_ivig"], patients=40, replications=2, seed=4, out=tmp_path / "cmp")
    pd.testing.assert_frame_equal(severe, written)
    assert severe.set_index("metric").loc["ivig_g_total", "difference"] > 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cmp" / "comparison.csv"), written, check_dtype=False)
    assert (tmp_path / "cmp" / "cost_effectiveness.csv").exists()
    with pytest.raises(ValueError, match="at least two"):
        iimsim.compare(["baseline"])


def test_psa_and_oneway_return_their_tables(tmp_path):
    result = iimsim.psa(["baseline", "severe_ivig"], draws=2, patients=30)
    assert set(result.draws.scenario) == {"baseline", "severe_ivig"} and len(result.draws) == 4
    spread = result.summary.set_index(["scenario", "metric"])
    cost = result.draws.groupby("scenario")["mean_total_cost"].mean()
    assert spread.loc[("baseline", "mean_total_cost"), "mean"] == pytest.approx(cost["baseline"])
    assert set(result.cost_effectiveness.plane.scenario) == {"severe_ivig"}
    table = iimsim.oneway(outcome="mean_total_cost", parameters=["costs.ivig_price_per_g"], patients=30,
                          out=tmp_path / "ow")
    assert list(table.parameter) == ["costs.ivig_price_per_g"] and table.swing.iloc[0] > 0
    assert (tmp_path / "ow" / "oneway.csv").exists()
    with pytest.raises(ValueError, match="not in the scenario's"):
        iimsim.oneway(parameters=["disease.nothing"], patients=10)


def test_the_docs_example_runs_as_written(tmp_path):
    saved = tmp_path / "saved"
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "api_example.py"), str(saved)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "share_reached_remission" in done.stdout and "ivig_g_total" in done.stdout
    assert len(iimsim.load_run(saved).patients) == 300
