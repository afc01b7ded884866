"""The validation table: its arithmetic, its measures, its trial arms."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from iimsim.cli import main
from reports import validation as v
from reports.summary import mean_and_interval
from scenarios import load_scenario
from scenarios.loader import deep_merge
from simulation.runner import collect_tables


@pytest.fixture(scope="module")
def table():
    return v.validate("baseline", patients=150, replications=3, seed=5)


def test_every_target_has_a_row_with_its_provenance(table):
    assert list(table.target) == [t.target for t in v.TARGETS]
    for row in table.itertuples():
        assert row.published_definition and row.population and row.source and row.simulated_as
        if row.simulated_as == "not simulated":
            assert math.isnan(row.simulated_mean) and row.note and row.within_tolerance is None


def test_table_arithmetic(table):
    for target, row in zip(v.TARGETS, table.itertuples()):
        if target.measure is None:
            continue
        assert row.ci_low <= row.simulated_mean <= row.ci_high
        if target.published_range is not None:
            low, high = target.published_range
            assert row.within_tolerance == (low <= row.simulated_mean <= high)
        else:
            assert row.within_tolerance == (abs(row.simulated_mean - row.published_value) <= target.tolerance)


def test_mean_and_interval_are_over_replications():
    target = v.TARGETS[0]  # non-response: the share never in remission
    scenario = load_scenario("baseline", {"simulation": {"patients": 150, "replications": 3, "seed": 5}})
    tables = {name: t.to_pandas() for name, t in collect_tables(scenario).items()}
    values = [target.measure({"cohort": run}) for run in v._replications(tables, 3)]
    expected_half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    mean, low, high = mean_and_interval(values)
    assert mean == pytest.approx(np.mean(values)) and high - mean == pytest.approx(expected_half)
    for value, (_, rep) in zip(values, tables["patients"].groupby("replication")):
        assert value == pytest.approx(rep.time_to_remission_days.isna().mean())


def test_responders_within_counts_from_entry_into_the_line():
    events = pd.DataFrame({
        "patient_id": [1, 1, 1, 2, 2, 2, 3, 3],
        "day": [0.0, 180.0, 250.0, 0.0, 180.0, 400.0, 0.0, 180.0],
        "event": ["triage", "fail", "respond", "triage", "fail", "respond", "triage", "fail"],
        "from_state": ["diagnosis", "first_line", "second_line", "diagnosis", "first_line", "second_line",
                       "diagnosis", "first_line"],
        "to_state": ["first_line", "second_line", "maintenance", "first_line", "second_line", "maintenance",
                     "first_line", "second_line"],
        "is_transition": [True] * 8,
    })
    # patient 1 responds 70 days after entry, patient 2 after 220, patient 3 never
    assert v.responders_within("second_line", 112)({"events": events}) == pytest.approx(1 / 3)
    assert v.responders_within("second_line", 300)({"events": events}) == pytest.approx(2 / 3)


def test_trial_arms_are_the_same_patients():
    base = {"simulation": {"patients": 100, "seed": 3}}
    arms = {arm: collect_tables(load_scenario("baseline", deep_merge(base, overrides)))["patients"].to_pandas()
            for arm, overrides in v.PRODERM_ARMS.items()}
    ivig, placebo = arms["ivig"], arms["placebo"]
    assert (ivig.subtype == "DM").all()
    for column in ("age_years", "weight_kg", "severity", "has_ild"):
        assert (ivig[column] == placebo[column]).all()
    assert ivig.ivig_g.sum() > placebo.ivig_g.sum()


def test_validate_command_writes_the_table_and_the_report_shows_it(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    assert runner.invoke(main, ["run", "--patients", "60", "--out", str(run)]).exit_code == 0
    result = runner.invoke(main, ["validate", "--patients", "60", "--replications", "2", "--out", str(run)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(run / "validation.csv")
    assert len(written) == len(v.TARGETS)
    assert (run / "validation.md").read_text().startswith("Produced by `iimsim validate baseline --patients 60")
    assert "Validation against published results" in (run / "report.html").read_text()
    assert runner.invoke(main, ["validate", "--replications", "1"]).exit_code == 2
