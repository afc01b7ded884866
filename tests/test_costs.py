"""Costs add up from the tables and the price table."""

import numpy as np
import pytest

from iimsim.reports.costs import CATEGORIES, compute_costs, discounted_days, daily_discount
from iimsim.scenarios import load_scenario
from tests.conftest import simulate

HORIZON = 5 * 365.25


@pytest.fixture(scope="module")
def run():
    return simulate(patients=400, seed=21)


@pytest.fixture(scope="module")
def prices():
    return load_scenario("baseline").costs


@pytest.fixture(scope="module")
def costed(run, prices):
    return compute_costs(run, prices, HORIZON)


def test_each_category_is_the_tables_times_the_prices(run, prices, costed):
    by_patient, _ = costed
    p, d, e = run["patients"], run["doses"], run["events"]
    days = d.end_day - d.start_day
    ivig = d.drug == "ivig"
    assert by_patient.ivig_cost.sum() == pytest.approx(p.ivig_g.sum() * prices.ivig_price_per_g)
    mtx = d[d.drug == "methotrexate"]
    methotrexate_mg = (mtx.dose * (mtx.end_day - mtx.start_day) / 7).sum()
    pred = d[d.drug == "prednisolone"]
    pred_mg = (pred.dose * (pred.end_day - pred.start_day)).sum()  # daily scheme: mg/day x days
    other = d[~ivig & ~d.drug.isin(["methotrexate", "prednisolone", "abatacept"])]
    other_mg = (other.dose * (other.end_day - other.start_day) * other.drug.map(prices.price_per_mg)).sum()
    abatacept = d[d.drug == "abatacept"]
    abatacept_cost = (abatacept.dose * (abatacept.end_day - abatacept.start_day) / 7).sum() * prices.price_per_mg["abatacept"]
    expected_drugs = (methotrexate_mg * prices.price_per_mg["methotrexate"]
                      + pred_mg * prices.price_per_mg["prednisolone"] + other_mg + abatacept_cost)
    assert by_patient.drugs_cost.sum() == pytest.approx(expected_drugs)
    assert by_patient.infusion_chair_cost.sum() == pytest.approx(days[d.route == "iv"].sum() * prices.infusion_chair_day)
    expected_states = sum(p[f"days_in_{state}"].sum() * price for state, price in prices.state_per_day.items())
    assert by_patient.states_cost.sum() == pytest.approx(expected_states)
    transitions = e[e.is_transition]
    visits = len(run["assessments"])  # every assessment is a visit, with its tests
    assert by_patient.clinic_visits_cost.sum() == pytest.approx(visits * (prices.clinic_visit + prices.assessment_tests))
    one_off = transitions.event.map(prices.transition).fillna(0).sum()
    assert by_patient.transitions_cost.sum() == pytest.approx(one_off)
    harms = e[e.event.str.startswith("ae_")]
    harm = np.where(harms.detail.str.contains("Pneumocystis"), "pjp", harms.event.str.removeprefix("ae_"))
    assert by_patient.adverse_events_cost.sum() == pytest.approx(sum(prices.adverse_event[h] for h in harm))
    steps = e[e.event.isin(list(prices.care_step))]
    assert by_patient.care_cost.sum() == pytest.approx(steps.event.map(prices.care_step).sum())
    # the Praxis steps: vaccines before every first immunosuppressant, hepatitis screening before methotrexate
    on_mtx = set(d.patient_id[d.drug == "methotrexate"])
    assert on_mtx <= set(e.patient_id[e.event == "hepatitis_screening"])
    assert (e[e.event.isin(list(prices.care_step))].groupby(["patient_id", "event"]).size() == 1).all()


def test_totals_add_up_by_patient_and_by_year(costed):
    by_patient, by_year = costed
    categories = [f"{c}_cost" for c in CATEGORIES]
    assert np.allclose(by_patient[categories].sum(axis=1), by_patient.total_cost)
    assert by_year.cost.sum() == pytest.approx(by_patient.total_cost.sum())
    assert by_year.cost_discounted.sum() == pytest.approx(by_patient.total_cost_discounted.sum())
    for category in CATEGORIES:
        assert by_year[by_year.category == category].cost.sum() == pytest.approx(by_patient[f"{category}_cost"].sum())
    assert (by_patient.total_cost_discounted <= by_patient.total_cost + 1e-9).all()


def test_no_discount_means_discounted_equals_undiscounted(run, prices):
    free = prices.model_copy(update={"discount_rate_per_year": 0.0})
    by_patient, _ = compute_costs(run, free, HORIZON)
    assert np.allclose(by_patient.total_cost, by_patient.total_cost_discounted)


def test_discounting_is_exact():
    delta = daily_discount(0.035)
    # a year at 1 a day is worth (1 - 1/1.035) / delta at diagnosis
    assert discounted_days(np.array([0.0]), np.array([365.25]), delta)[0] == pytest.approx((1 - 1 / 1.035) / delta)
    assert discounted_days(np.array([365.25]), np.array([730.5]), delta)[0] == pytest.approx(
        discounted_days(np.array([0.0]), np.array([365.25]), delta)[0] / 1.035)


def test_the_report_writes_costs_per_patient_that_add_up(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from iimsim.cli import main

    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", "--patients", "150", "--out", str(out)]).exit_code == 0
    per_patient = pd.read_parquet(out / "patient_costs.parquet")
    by_year = pd.read_csv(out / "figures" / "costs_by_year.csv")
    summary = pd.read_csv(out / "figures" / "costs_summary.csv").set_index("category")
    assert len(per_patient) == 150
    assert by_year.cost.sum() == pytest.approx(per_patient.total_cost.sum())
    assert summary.loc["total", "mean_per_patient"] == pytest.approx(per_patient.total_cost.mean())
    assert "The budget per year" in (out / "report.html").read_text()


def test_a_runs_own_cost_and_resource_sums_are_those_of_its_tables(tmp_path):
    """The run costs each batch as it goes (patient_costs, costs_by_year.csv, resources_by_year.csv); the report
    reads those. They must be what costing the saved tables afresh gives, whatever the batch size."""
    import shutil

    import pandas as pd
    from click.testing import CliRunner

    from iimsim.cli import main
    from iimsim.reports.report import build_report

    out = tmp_path / "run"
    args = ["run", "--patients", "300", "--years", "3", "--chunk-size", "70", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    for name in ("patient_costs.parquet", "costs_by_year.csv", "resources_by_year.csv"):
        (fresh / name).unlink()
    build_report(fresh)  # a run saved without the sums: the report costs the tables itself
    pd.testing.assert_frame_equal(pd.read_parquet(out / "patient_costs.parquet"),
                                  pd.read_parquet(fresh / "patient_costs.parquet"))
    for name in ("costs_by_year", "resources_by_year", "costs_summary"):
        pd.testing.assert_frame_equal(pd.read_csv(out / "figures" / f"{name}.csv"),
                                      pd.read_csv(fresh / "figures" / f"{name}.csv"), rtol=1e-9)
    by_year = pd.read_csv(out / "costs_by_year.csv")
    assert by_year.cost.sum() == pytest.approx(pd.read_parquet(out / "patient_costs.parquet").total_cost.sum())
