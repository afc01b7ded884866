"""QALYs from the tables: a hand-computed case, exact discounting, the [utilities] section's validation."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from iimsim.cli import main
from iimsim.reports.cea import verdict
from iimsim.reports.patient_outcomes import patient_outcomes
from iimsim.reports.qalys import compute_qalys, discounted_linear
from iimsim.scenarios import load_scenario

YEAR = 365.25
UTILITIES = {"utility_no_activity": 0.8, "decrement_per_unit_activity": 0.4, "decrement_per_unit_damage": 0.3,
             "between_assessments": "linear",
             "adverse_events": {
                 "ae_fracture": {"source": "test", "utility_decrement": 0.2, "duration_days": YEAR},
                 "ae_cataract": {"source": "test", "qaly_loss": 0.01}}}


def scenario(rate=0.0, **utilities):
    # Only IVIG and its chair-days are priced here: visits, their tests and adverse events cost nothing.
    free = {"clinic_visit": 0.0, "assessment_tests": 0.0,
            "adverse_event": {h: 0.0 for h in ("new_diabetes", "serious_infection", "pjp", "fracture", "cataract")}}
    return load_scenario("baseline", {"costs": {"discount_rate_per_year": rate, **free},
                                      "utilities": {**UTILITIES, **utilities}})


def tables(patients, assessments, events=(), doses=()):
    """Minimal tables for the patients given as dicts (replication 0)."""
    patients = pd.DataFrame(patients).assign(replication=0, diagnosis_day=0.0)
    assessments = pd.DataFrame(assessments, columns=["patient_id", "day", "activity", "damage"]).assign(replication=0)
    events = pd.DataFrame(list(events), columns=["patient_id", "day", "event"]).assign(
        replication=0, from_state="first_line", to_state="first_line", is_transition=False, detail="")
    doses = pd.DataFrame(list(doses), columns=["patient_id", "drug", "route", "start_day", "end_day", "dose",
                                               "dose_unit"]).assign(replication=0, prednisone_eq_mg_per_day=np.nan,
                                                                    state="first_line")
    return {"patients": patients, "assessments": assessments, "events": events, "doses": doses}


# Patient 0 lives 2 years: activity 0.5 at diagnosis falls to 0.1 at one year and stays; utility 0.8 - 0.4 x
# activity goes 0.6 -> 0.76 (linear, mean 0.68) in year 1 and is 0.76 in year 2: 1.44 QALYs.
# Patient 1 dies at half a year: activity 0.5 throughout, damage 0 -> 0.2; utility 0.6 -> 0.54, mean 0.57: 0.285.
OLD = tables(
    [{"patient_id": 0, "followup_days": 2 * YEAR, "untreated_activity": 0.5, "activity_final": 0.1, "damage_final": 0.0},
     {"patient_id": 1, "followup_days": YEAR / 2, "untreated_activity": 0.5, "activity_final": 0.5, "damage_final": 0.2}],
    [(0, 0.0, 0.5, 0.0), (0, YEAR, 0.1, 0.0), (1, 0.0, 0.5, 0.0)],
    events=[(0, 100.0, "ae_fracture"), (1, 50.0, "ae_cataract"), (1, 60.0, "ae_unpriced")])
# The new strategy: patient 0 has no fracture; patient 1 gets IVIG 100 g/day for 2 days (cost 2 x 100 g x 50 +
# 2 chair-days x 300 = 10,600) and lives a whole year on the same course: utility 0.6 -> 0.54 over a year.
NEW = tables(
    [{"patient_id": 0, "followup_days": 2 * YEAR, "untreated_activity": 0.5, "activity_final": 0.1, "damage_final": 0.0},
     {"patient_id": 1, "followup_days": YEAR, "untreated_activity": 0.5, "activity_final": 0.5, "damage_final": 0.2}],
    [(0, 0.0, 0.5, 0.0), (0, YEAR, 0.1, 0.0), (1, 0.0, 0.5, 0.0)],
    events=[(1, 50.0, "ae_cataract")],
    doses=[(1, "ivig", "iv", 0.0, 2.0, 100.0, "g/day")])


def test_hand_computed_qalys_and_icer_for_two_patients():
    old = patient_outcomes(OLD, scenario())
    new = patient_outcomes(NEW, scenario())
    # the fracture takes 0.2 for a year, the cataract 0.01 once; an event without a disutility takes nothing
    assert old["qalys"].tolist() == pytest.approx([1.44 - 0.2, 0.285 - 0.01])
    assert old["ae_qaly_loss"].tolist() == pytest.approx([0.2, 0.01])
    assert new["qalys"].tolist() == pytest.approx([1.44, 0.57 - 0.01])
    assert old["life_years"].tolist() == pytest.approx([2.0, 0.5])
    assert old["total_cost"].sum() == 0 and new["total_cost"].tolist() == pytest.approx([0.0, 10600.0])
    delta_cost = new["total_cost_discounted"].mean() - old["total_cost_discounted"].mean()
    delta_qalys = new["qalys_discounted"].mean() - old["qalys_discounted"].mean()
    assert delta_cost == pytest.approx(5300.0)
    assert delta_qalys == pytest.approx((1.44 + 0.56) / 2 - (1.24 + 0.275) / 2)  # 0.2425
    said = verdict(delta_cost, delta_qalys, "new", "old", "GBP")
    assert said.icer_per_qaly == pytest.approx(5300 / 0.2425)
    assert said.statement == "new costs more and gains QALYs: ICER 21,856 GBP per QALY gained"


def test_step_holds_each_visits_value():
    held = compute_qalys(OLD, scenario(between_assessments="step").utilities, 0.0)
    # patient 0 at 0.6 for a year, then 0.76; patient 1 at 0.6 for half a year
    assert held["qalys"].tolist() == pytest.approx([0.6 + 0.76 - 0.2, 0.3 - 0.01])


def test_a_constant_utility_year_is_discounted_exactly():
    rate = 0.035
    one = tables([{"patient_id": 0, "followup_days": 2 * YEAR, "untreated_activity": 0.5, "activity_final": 0.5,
                   "damage_final": 0.0}], [])
    qalys = compute_qalys(one, scenario().utilities, rate).iloc[0]
    per_year = (1 - 1 / (1 + rate)) / np.log1p(rate)  # a year at utility 1, continuously discounted
    assert qalys["qalys_discounted"] == pytest.approx(0.6 * per_year * (1 + 1 / (1 + rate)))
    assert qalys["life_years_discounted"] == pytest.approx(per_year * (1 + 1 / (1 + rate)))
    assert qalys["qalys"] == pytest.approx(1.2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 400), st.floats(0, 1), st.floats(0, 1)), min_size=0, max_size=8),
       st.floats(0, 1), st.floats(1, 3000), st.sampled_from(["linear", "step"]))
def test_discounting_at_rate_zero_is_the_undiscounted_sum(visits, final, followup, how):
    days = np.cumsum([gap for gap, _, _ in visits])
    rows = [(0, day, activity, damage) for day, (_, activity, damage) in zip(days, visits) if day < followup]
    data = tables([{"patient_id": 0, "followup_days": followup, "untreated_activity": 0.7, "activity_final": final,
                    "damage_final": 0.3}], rows, events=[(0, followup / 2, "ae_fracture")])
    utilities = scenario(between_assessments=how).utilities
    flat = compute_qalys(data, utilities, 0.0).iloc[0]
    assert flat["qalys_discounted"] == pytest.approx(flat["qalys"])
    assert flat["life_years_discounted"] == pytest.approx(flat["life_years"])
    discounted = compute_qalys(data, utilities, 0.05).iloc[0]
    assert discounted["life_years_discounted"] < discounted["life_years"]
    assert discounted["ae_qaly_loss_discounted"] < discounted["ae_qaly_loss"]


@settings(max_examples=80, deadline=None)
@given(st.floats(0, 3000), st.floats(0.01, 1000), st.floats(-0.5, 1), st.floats(-0.5, 1), st.floats(0.001, 0.5))
def test_the_discounted_linear_integral_matches_numerical_integration(start, length, u0, u1, rate):
    delta = np.log1p(rate) / YEAR
    t = np.linspace(start, start + length, 20001)
    numeric = np.trapezoid((u0 + (u1 - u0) * (t - start) / length) * np.exp(-delta * t), t)
    exact = discounted_linear(np.array([start]), np.array([start + length]), np.array([u0]), np.array([u1]), delta)[0]
    assert exact == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_a_run_streams_the_same_patient_outcomes_whatever_the_chunks(tmp_path):
    runner = CliRunner()
    for name, size in (("one", "2000"), ("many", "25")):
        result = runner.invoke(main, ["run", "--patients", "90", "--seed", "4", "--chunk-size", size, "--no-report",
                                      "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    one, many = (pd.read_parquet(tmp_path / name / "patient_outcomes.parquet") for name in ("one", "many"))
    pd.testing.assert_frame_equal(one, many)
    summary = pd.read_csv(tmp_path / "many" / "summary.csv").set_index("metric")["value"]
    assert summary["mean_qalys_discounted"] == pytest.approx(many.qalys_discounted.mean())
    assert summary["net_monetary_benefit_at_20000"] == pytest.approx(
        20000 * many.qalys_discounted.mean() - many.total_cost_discounted.mean())
    assert (many.qalys <= many.life_years).all() and (many.qalys_discounted <= many.qalys + 1e-12).all()


@pytest.mark.parametrize("body, field", [
    ("[utilities]\nutility_no_activity = 1.5\n", "utilities.utility_no_activity"),
    ("[utilities]\ndecrement_per_unit_activity = 2.0\n", "utilities"),
    ('[utilities.adverse_events.fracture]\nsource = "x"\nqaly_loss = 0.1\n', "ae_"),
    ('[utilities.adverse_events.ae_fracture]\nqaly_loss = 0.1\n', "utilities.adverse_events.ae_fracture"),
    ('[utilities]\nthresholds_per_qaly = [-5.0]\n', "utilities.thresholds_per_qaly"),
])
def test_bad_utilities_exit_2_naming_the_field(tmp_path, body, field):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "baseline"\nname = "bad"\n{body}')
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and field in result.output, result.output
    assert not (tmp_path / "out").exists()
