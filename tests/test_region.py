"""An open cohort: patients arriving over the horizon in a region, reported per calendar year."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from iimsim.cli import main
from iimsim.scenarios import load_scenario
from iimsim.simulation.arrivals import diagnosis_days
from tests.conftest import simulate

YEAR = 365.25


def test_arrivals_follow_the_incidence_and_prevalence():
    scenario = load_scenario("region_1m", {"simulation": {"replications": 40}})
    counts, rate = [], 1_000_000 * 1.1 / 100_000 * 5
    for rep in range(40):
        days = diagnosis_days(scenario, rep)
        prevalent, incident = days[days < 0], days[days >= 0]
        assert len(prevalent) == 140 and prevalent.min() >= -10 * YEAR
        assert incident.max() < 5 * YEAR and (np.diff(incident) >= 0).all()
        counts.append(len(incident))
    assert np.mean(counts) == pytest.approx(rate, rel=0.1)  # Poisson mean 55; 40 draws
    assert np.var(counts) == pytest.approx(rate, rel=0.6)  # Poisson: variance = mean
    again = diagnosis_days(scenario, 3)
    assert np.array_equal(again, diagnosis_days(scenario, 3))


def test_each_patient_is_followed_from_diagnosis_to_the_horizon_or_death():
    p = simulate("region_1m", patients=1, seed=4, overrides={"simulation": {"replications": 1}})["patients"]
    assert (p.diagnosis_day < 0).sum() == 140
    end = p.diagnosis_day + p.followup_days
    assert (end <= 5 * YEAR + 1e-6).all()
    assert np.allclose(end[~p.died], 5 * YEAR)


def test_a_closed_cohort_is_diagnosed_on_day_0():
    assert (simulate(patients=20)["patients"].diagnosis_day == 0).all()


def test_region_table_counts_from_the_tables(tmp_path):
    out = tmp_path / "region"
    result = CliRunner().invoke(main, ["run", "region_1m", "--replications", "2", "--seed", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "figures" / "region_by_year.csv")
    patients = pd.read_parquet(out / "patients.parquet")
    doses = pd.read_parquet(out / "doses.parquet")
    years = (patients.diagnosis_day // YEAR)
    for row in table.itertuples():
        assert row.new_patients == ((years == row.year - 1) & (patients.diagnosis_day >= 0)).sum() / 2
    ivig = doses[doses.drug == "ivig"].merge(patients[["replication", "patient_id", "diagnosis_day"]])
    start, end = ivig.start_day + ivig.diagnosis_day, ivig.end_day + ivig.diagnosis_day
    inside = (np.minimum(end, 5 * YEAR) - np.maximum(start, 0)).clip(lower=0)
    assert table.ivig_g.sum() == pytest.approx((inside * ivig.dose).sum() / 2)
    assert "The region per calendar year" in (out / "report.html").read_text()
    assert f"region_1m: {len(patients)} patients" in result.output
