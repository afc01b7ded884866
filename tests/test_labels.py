"""The numbers a planner reads: every metric and column shown has a label, a unit and a format; money says its
currency and price year; totals are within the horizon and per replication; a bad year is a percentile of
replication-years."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from iimsim.app.comparison import KEY_METRICS
from iimsim.cli import main
from iimsim.reports.bad_years import bad_years
from iimsim.reports.labels import Label, Money, UnknownLabel, label
from iimsim.reports.printed import COMPARED_METRICS, PSA_METRICS, RUN_METRICS
from iimsim.reports.resources import ResourceYears
from iimsim.scenarios import ScenarioError, load_scenario

YEAR = 365.25
# the columns the report's per-year tables show (reports/templates/report.html.j2)
TABLE_COLUMNS = ("year", "ivig_g", "ivig_infusion_days", "rituximab_infusions", "cyclophosphamide_infusions",
                 "iv_pulse_courses", "infusion_chair_days", "new_patients", "patients_alive_at_start",
                 "patients_in_first_line", "patients_in_second_line", "patients_in_third_line", "patients_in_refractory",
                 "patients_in_maintenance", "cost", "cost_discounted", "mean_per_patient",
                 "mean_per_patient_discounted", "per_patient_year", "total_cost_within_horizon",
                 "total_cost_within_horizon_discounted", "infusion_chair_days_per_year_median",
                 "infusion_chair_days_per_year_p90", "ivig_g_per_year_median", "ivig_g_per_year_p90", "visits",
                 "visits_given", "mean_wait_days", "mean_queue_wait_days", "p95_queue_wait_days",
                 "share_queued_over_7_days")


def run(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def euro_run(tmp_path_factory) -> tuple[Path, str]:
    """A prevalent region (infusion unit and utilities too), 2 replications, in EUR at 2023 prices."""
    folder = tmp_path_factory.mktemp("labels")
    scenario = folder / "euro.toml"
    scenario.write_text('extends = "infusion_unit"\nname = "euro"\n[simulation]\nreplications = 2\nhorizon_years = 3.0\n'
                        '[region]\npopulation = 400000\nprevalent_patients = 20\n[costs]\ncurrency = "EUR"\nprice_year = 2023\n')
    out = folder / "run"
    return out, run("run", scenario, "--out", out)


def test_every_metric_and_column_shown_has_a_label(euro_run):
    out, _ = euro_run
    metrics = pd.read_csv(out / "summary.csv")["metric"]
    assert {"mean_queue_wait_days_ivig", "mean_qalys_discounted", "ivig_g_before_horizon"} <= set(metrics)
    for key in [*metrics, *TABLE_COLUMNS, *RUN_METRICS, *COMPARED_METRICS, *PSA_METRICS, *KEY_METRICS]:
        entry = label(key)
        assert entry.text and not entry.text[0].islower() and "_" not in entry.text, key
    for name in ("resources_by_year", "region_by_year", "bad_years"):
        assert (out / "figures" / f"{name}.csv").exists()
    with pytest.raises(UnknownLabel, match="no label for 'share_of_nothing'"):
        label("share_of_nothing")
    with pytest.raises(UnknownLabel):
        label("infusion_chair_days_aspirin")  # a family takes only the names it knows


def test_numbers_are_written_for_people():
    money = Money("GBP", 2024)
    assert label("share_reached_remission").shown(0.6712) == "67.1%"
    assert label("share_reached_remission").shown(0.0008, difference=True) == "+0.08 percentage points"
    assert label("ivig_g_total").shown(69220.4) == "69,220 g"
    assert label("ivig_g_total").shown(69220.4, difference=True) == "+69,220 g"
    assert label("mean_total_cost_discounted").shown(38002.3, money) == "38,002 GBP (2024 prices)"
    assert label("cost").heading(money) == "Cost (GBP, 2024 prices)"
    assert label("ivig_g").interval(100.0, 2000.0) == "95% CI 100 to 2,000 g"
    assert label("ivig_g").interval(float("nan"), float("nan")) == "no interval from one replication"
    assert Label("x", "days", 1).shown(-0.01) == "0.0 days"  # what rounds to 0 has no sign
    with pytest.raises(ValueError, match="currency"):
        label("cost").shown(5.0)  # money is never written without its currency


def test_currency_and_price_year_are_checked_and_default():
    costs = load_scenario("baseline").costs
    assert (costs.currency, costs.price_year) == ("GBP", 2024)
    with pytest.raises(ScenarioError, match="costs.currency = 'unit'.*ISO 4217"):
        load_scenario("baseline", {"costs": {"currency": "unit"}})
    with pytest.raises(ScenarioError, match="costs.price_year = 1066"):
        load_scenario("baseline", {"costs": {"price_year": 1066}})


def test_printed_and_reported_money_says_its_currency_and_price_year(euro_run):
    out, printed = euro_run
    assert "Discounted cost per patient" in printed and "EUR (2023 prices)" in printed
    assert " unit" not in printed and "_" not in printed.split(" -> ")[1].split("\n", 1)[1]  # no identifier shown
    report = (out / "report.html").read_text()
    assert "EUR (2023 prices)" in report and "Cost (EUR, 2023 prices)" in report and "GBP (" not in report


def test_totals_are_within_the_horizon_and_the_history_apart(euro_run):
    out, printed = euro_run
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    patients = pd.read_parquet(out / "patients.parquet")
    doses = pd.read_parquet(out / "doses.parquet").merge(patients[["replication", "patient_id", "diagnosis_day"]])
    start, end = doses.start_day + doses.diagnosis_day, doses.end_day + doses.diagnosis_day  # calendar days
    within = (end - np.maximum(start, 0)).clip(lower=0)
    iv, ivig = doses.route == "iv", doses.drug == "ivig"
    replications = 2
    # a mean per replication: the tables' total filtered to calendar day >= 0, over the replications
    assert summary["ivig_g_total"] == pytest.approx((within * doses.dose)[ivig].sum() / replications)
    assert summary["ivig_g_before_horizon"] == pytest.approx(((end - start - within) * doses.dose)[ivig].sum()
                                                             / replications)
    assert summary["ivig_g_total"] + summary["ivig_g_before_horizon"] == pytest.approx(
        patients.ivig_g.sum() / replications)
    assert summary["infusion_chair_days_total"] == pytest.approx(within[iv].sum() / replications)
    assert summary["iv_visits_ivig"] == pytest.approx((iv & ivig & (start >= 0)).sum() / replications)
    before = np.clip(-patients.diagnosis_day, 0, patients.followup_days)
    assert summary["patient_years"] == pytest.approx((patients.followup_days - before).sum() / YEAR / replications)
    assert summary["patient_years_before_horizon"] == pytest.approx(before.sum() / YEAR / replications)
    # the per-year tables add up to the within-horizon totals, as means per replication
    region = pd.read_csv(out / "figures" / "region_by_year.csv")
    assert region["ivig_g"].sum() == pytest.approx(summary["ivig_g_total"])
    assert region["infusion_chair_days"].sum() == pytest.approx(summary["infusion_chair_days_total"])
    assert (region["ivig_g_ci_low"] <= region["ivig_g"]).all() and (region["replications"] == replications).all()
    assert "before the horizon" in printed and "IVIG given before the horizon" in printed


def test_per_year_figures_are_means_per_replication(euro_run):
    out, _ = euro_run
    each = pd.read_csv(out / "resources_by_year.csv")  # one row per replication and year, as the run summed it
    assert sorted(set(each.replication)) == [0, 1]
    shown = pd.read_csv(out / "figures" / "resources_by_year.csv").set_index("year")
    sums = each.groupby("year")[["ivig_g", "infusion_chair_days"]].sum()
    assert np.allclose(shown["ivig_g"], sums["ivig_g"] / 2)
    assert np.allclose(shown["infusion_chair_days"], sums["infusion_chair_days"] / 2)
    costs = pd.read_csv(out / "costs_by_year.csv")
    shown_costs = pd.read_csv(out / "figures" / "costs_by_year.csv")
    assert shown_costs["cost"].sum() == pytest.approx(costs["cost"].sum() / 2)
    report = (out / "report.html").read_text()
    assert "patients per replication</th><td>1,000" not in report  # a region's size is its patients, not a setting
    assert "on average" in report


def test_a_bad_year_is_the_90th_percentile_of_replication_years(euro_run):
    out, printed = euro_run
    patients = pd.read_parquet(out / "patients.parquet")
    doses = pd.read_parquet(out / "doses.parquet")
    iv = doses[doses.route == "iv"]
    resources = ResourceYears(3 * YEAR)
    resources.add_rows(iv, patients.set_index(["replication", "patient_id"])["diagnosis_day"])
    each = resources.total()
    chair_days = each.set_index(["replication", "year"])["infusion_chair_days"]
    assert len(chair_days) == 6  # 2 replications x 3 whole years
    table = pd.read_csv(out / "figures" / "bad_years.csv").set_index("measure")
    assert table.loc["infusion_chair_days", "p90"] == pytest.approx(np.percentile(chair_days, 90))
    assert table.loc["infusion_chair_days", "median"] == pytest.approx(np.median(chair_days))
    assert table.loc["ivig_g", "replication_years"] == 6
    assert "over 6 replication-years" in printed and "bad year (90th percentile)" in printed


def test_bad_years_count_a_replication_year_without_infusions_and_only_whole_years():
    resources = pd.DataFrame({"replication": [0, 0, 1], "year": [1, 2, 1], "ivig_g": [10.0, 30.0, 20.0],
                              "infusion_chair_days": [1.0, 3.0, 2.0]})
    table = bad_years(resources, [0, 1, 2], 2.5 * YEAR).set_index("measure")  # year 3 is a part-year
    values = [10.0, 30.0, 20.0, 0.0, 0.0, 0.0]  # replication 1's year 2 and replication 2 gave none
    assert table.loc["ivig_g", "replication_years"] == 6
    assert table.loc["ivig_g", "p90"] == pytest.approx(np.percentile(values, 90))
    assert table.loc["ivig_g", "median"] == pytest.approx(np.median(values))
