"""The infusion unit as a capacity constraint: queues, waits, what a wait does, and the tables' sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import ScenarioError, deep_merge
from iimsim.simulation.runner import collect_tables
from tests.conftest import simulate

YEARS = 3.0
# A busy region: about 44 new patients a year plus 140 already treated.
BUSY = {"region": {"population": 4_000_000}, "simulation": {"replications": 1}}


def unit_run(chairs: int, days_per_week: int, delay_effect: str = "postpone", seed: int = 3,
             hours_per_day: float = 8.0) -> dict[str, pd.DataFrame]:
    unit = {"chairs": chairs, "days_per_week": days_per_week, "delay_effect": delay_effect,
            "hours_per_day": hours_per_day}
    return simulate("infusion_unit", seed=seed, years=YEARS, overrides={**BUSY, "infusion_unit": unit})


@pytest.fixture(scope="module")
def one_chair() -> dict[str, pd.DataFrame]:
    return unit_run(chairs=1, days_per_week=1)


@pytest.fixture(scope="module")
def one_chair_waits_recorded_only() -> dict[str, pd.DataFrame]:
    return unit_run(chairs=1, days_per_week=1, delay_effect="none")


@pytest.fixture(scope="module")
def large_unit() -> dict[str, pd.DataFrame]:
    return unit_run(chairs=30, days_per_week=7)


def test_one_chair_makes_waits_grow(one_chair):
    days, visits = one_chair["infusion_unit_days"], one_chair["infusion_visits"]
    year = days["day"] // 365.25
    queue = days[days["open"]].groupby(year)["mean_queue_sessions"].mean()
    # the queue builds up year on year
    assert queue.iloc[0] > 1 and queue.is_monotonic_increasing and queue.iloc[-1] > 1.5 * queue.iloc[0]
    given = visits.dropna(subset=["start_day"])
    first_year = given[given["planned_day"] < 365.25]["queue_wait_days"].mean()
    second_year = given[given["planned_day"].between(365.25, 2 * 365.25)]["queue_wait_days"].mean()
    assert first_year > 14 and second_year > first_year
    assert visits["start_day"].isna().sum() > 10  # still queueing when the course stopped or follow-up ended
    used = days[days["open"]]
    assert (used["chair_hours_used"].sum() / used["chair_hours_available"].sum()) > 0.8


def test_a_large_unit_makes_waits_for_a_chair_vanish(large_unit):
    visits, days = large_unit["infusion_visits"], large_unit["infusion_unit_days"]
    assert len(visits) > 200 and visits["start_day"].notna().all()
    assert (visits["queue_wait_days"] == 0).all()
    assert (days.loc[days["open"], "mean_queue_sessions"] == 0).all()
    # what waiting remains is the unit's hours: never more than a night (the unit opens every day)
    assert visits["wait_days"].max() < 1


def test_waiting_for_a_pulse_puts_off_the_glucocorticoid_and_the_next_decision(one_chair):
    patients, visits, doses, events = (one_chair[k] for k in ("patients", "infusion_visits", "doses", "events"))
    pulse_days = load_scenario("infusion_unit").glucocorticoids.pulse_days
    diagnosed = patients.set_index("patient_id")["diagnosis_day"]
    first_pulses = visits[(visits["drug"] == "methylprednisolone") & (visits["visit"] == 1)
                          & (visits["wait_days"] > 1) & (visits["planned_day"] == visits["patient_id"].map(diagnosed))]
    assert len(first_pulses) >= 5
    for pulse in first_pulses.itertuples():
        start = pulse.start_day - diagnosed[pulse.patient_id]  # days since diagnosis
        gc = doses[(doses["patient_id"] == pulse.patient_id) & doses["prednisone_eq_mg_per_day"].notna()]
        assert gc["start_day"].min() == pytest.approx(start)  # no glucocorticoid while waiting
        completed = events[(events["patient_id"] == pulse.patient_id) & (events["event"] == "pulse_complete")]
        assert completed["day"].iloc[0] == pytest.approx(start + pulse_days)


def test_recording_waits_only_leaves_treatment_as_planned(one_chair, one_chair_waits_recorded_only):
    recorded = one_chair_waits_recorded_only
    waited = recorded["infusion_visits"]
    assert waited["queue_wait_days"].max() > 14  # the same overloaded unit
    # ...but each patient's pulse starts on the day of diagnosis, as without a unit
    patients = recorded["patients"].set_index("patient_id")
    diagnosed, severe = patients["diagnosis_day"], patients["severity"] == "severe"
    pulses = recorded["doses"][recorded["doses"]["drug"] == "methylprednisolone"]
    incident = (pulses["patient_id"].map(diagnosed) >= 0) & pulses["patient_id"].map(severe)  # (a pulse at diagnosis)
    first = pulses[incident].groupby("patient_id")["start_day"].min()
    assert (first == 0).all()
    # and waiting puts remission off: a patient whose pulse waited long reaches remission later when the wait
    # delays treatment (the taper starts late) than when it is only recorded (same patients)
    visits = one_chair["infusion_visits"]
    pulses_late = visits[(visits.drug == "methylprednisolone") & (visits.visit == 1) & (visits.wait_days >= 14)]
    late = pulses_late.patient_id.unique()
    assert len(late) >= 5
    delayed = one_chair["patients"].set_index("patient_id").loc[late, "time_to_remission_days"]
    planned = recorded["patients"].set_index("patient_id").loc[late, "time_to_remission_days"]
    both = delayed.notna() & planned.notna()
    assert both.sum() >= 3 and (delayed[both] - planned[both]).mean() > 7


@pytest.mark.parametrize("run", ["one_chair", "large_unit"])
def test_every_iv_dose_was_given_in_a_chair(run, request):
    """With waits putting treatment off, each IV dose row after the unit opens is a visit that started."""
    tables = request.getfixturevalue(run)
    diagnosed = tables["patients"].set_index("patient_id")["diagnosis_day"]
    doses = tables["doses"][tables["doses"]["route"] == "iv"].copy()
    doses["calendar_start"] = doses["start_day"] + doses["patient_id"].map(diagnosed)
    doses = doses[doses["calendar_start"] >= 0]
    visits = tables["infusion_visits"]
    given = visits[visits["sessions_given"] > 0]
    key = ["patient_id", "drug", "day"]
    from_doses = doses.assign(day=doses["calendar_start"].round(6))[key]
    from_visits = given.assign(day=given["start_day"].round(6))[key]
    merged = from_doses.merge(from_visits, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()


def test_chair_hours_add_up(one_chair):
    unit = load_scenario("infusion_unit").infusion_unit
    visits, days = one_chair["infusion_visits"], one_chair["infusion_unit_days"]
    assert days["chair_hours_used"].sum() == pytest.approx(visits["chair_hours"].sum())
    completed = visits["sessions_given"] * visits["drug"].map(unit.session_hours)
    # whole sessions, except one cut short by death or the horizon
    short = visits["chair_hours"] - completed
    assert (short >= -1e-6).all() and (short <= visits["drug"].map(unit.session_hours) + 1e-6).all()
    assert (days["chair_hours_used"] <= days["chair_hours_available"] + 1e-9).all()
    assert (days.loc[~days["open"], "sessions_started"] == 0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chairs=st.integers(1, 3), days_per_week=st.integers(1, 7), hours=st.sampled_from([5.0, 8.0, 10.0]),
       seed=st.integers(0, 10_000))
def test_unit_invariants_over_random_units(chairs, days_per_week, hours, seed):
    tables = unit_run(chairs, days_per_week, seed=seed, hours_per_day=hours)
    visits, days = tables["infusion_visits"], tables["infusion_unit_days"]
    assert (days["chair_hours_used"] <= chairs * hours + 1e-9).all()
    assert (days.loc[~days["open"], "chair_hours_used"] == 0).all()
    assert np.array_equal(days["open"], days["weekday"] < days_per_week)
    given = visits.dropna(subset=["start_day"])
    assert (given["queue_wait_days"] >= 0).all() and (given["wait_days"] >= given["queue_wait_days"] - 1e-9).all()
    assert (given["wait_days"] >= 0).all()
    weekday = np.floor(given["start_day"]).astype(int) % 7
    assert (weekday < days_per_week).all()
    assert (visits["sessions_given"] <= visits["sessions_planned"]).all()


def test_same_seed_same_unit_tables_with_two_workers_and_on_dask():
    overrides = {**BUSY, "simulation": {"replications": 2}, "infusion_unit": {"chairs": 1, "days_per_week": 2}}
    serial = simulate("infusion_unit", seed=5, years=2.0, overrides=overrides)
    parallel = simulate("infusion_unit", seed=5, years=2.0, overrides=overrides, workers=2)
    scenario = load_scenario("infusion_unit", deep_merge(overrides, {"simulation": {"seed": 5, "horizon_years": 2.0}}))
    on_dask = {name: table.to_pandas() for name, table in
               collect_tables(scenario, workers=2, backend="dask").items()}
    for name in ("infusion_visits", "infusion_unit_days", "doses", "patients"):
        pd.testing.assert_frame_equal(serial[name], parallel[name])
        pd.testing.assert_frame_equal(serial[name], on_dask[name])


def test_a_unit_needs_a_region():
    with pytest.raises(ScenarioError, match="infusion_unit: needs a \\[region\\]"):
        load_scenario("baseline", {"infusion_unit": load_scenario("infusion_unit").infusion_unit.model_dump()})


def test_a_session_longer_than_the_day_names_the_field_and_value():
    with pytest.raises(ScenarioError, match="session_hours.ivig = 9"):
        load_scenario("infusion_unit", {"infusion_unit": {"session_hours": {"ivig": 9.0}}})


def test_run_writes_the_unit_tables_and_the_report_shows_the_waits(tmp_path):
    from click.testing import CliRunner

    from iimsim.cli import main

    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "infusion_unit", "--replications", "2", "--years", "2",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Infusion chair-hours used" in result.output and "Days waiting for a free chair, IVIG" in result.output
    assert "The infusion unit" in (out / "report.html").read_text("utf-8")
    visits = pd.read_parquet(out / "infusion_visits.parquet")
    days = pd.read_parquet(out / "infusion_unit_days.parquet")
    shown = pd.read_csv(out / "figures" / "infusion_waits.csv").set_index("drug")
    ivig = visits[(visits["drug"] == "ivig") & visits["start_day"].notna()]
    assert shown.loc["ivig", "mean_queue_wait_days"] == pytest.approx(ivig["queue_wait_days"].mean())
    assert shown["visits"].sum() == len(visits)
    opened = days[days["open"]].groupby("replication")
    utilisation = opened["chair_hours_used"].sum() / opened["chair_hours_available"].sum()
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    assert summary.loc["infusion_unit_utilisation", "value"] == pytest.approx(utilisation.mean())
    weekly = pd.read_csv(out / "figures" / "infusion_unit_by_week.csv")
    assert weekly["chair_hours_used"].sum() == pytest.approx(days["chair_hours_used"].sum())
