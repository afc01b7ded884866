"""Cost-effectiveness: dominance in words, Fieller's interval, the CEAC, EVPI, and the commands that use them."""

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iimsim.cli import main
from iimsim.reports.cea import acceptability, evpi, fieller_interval, threshold_grid, verdict


@pytest.mark.parametrize("cost, qalys, quadrant, words", [
    (-100.0, 0.1, "dominates", "B dominates A: it gains QALYs and saves money"),
    (0.0, 0.1, "dominates", "B dominates A: it gains QALYs and costs the same"),
    (100.0, -0.1, "dominated", "B is dominated by A: it loses QALYs and costs more"),
    (2000.0, 0.1, "more_costly_more_effective", "B costs more and gains QALYs: ICER 20,000 GBP per QALY gained"),
    (-3000.0, -0.1, "cheaper_less_effective", "B saves money and loses QALYs: it saves 30,000 GBP per QALY lost"),
    (-5.0, 0.0, "cheaper_same_effect", "B saves money with the same QALYs"),
    (0.0, 0.0, "no_difference", "B and A do not differ in cost or QALYs"),
])
def test_dominance_in_words(cost, qalys, quadrant, words):
    said = verdict(cost, qalys, "B", "A", "GBP")
    assert said.quadrant == quadrant and said.statement == words
    assert np.isnan(said.icer_per_qaly) == (quadrant not in ("more_costly_more_effective", "cheaper_less_effective"))


@given(st.floats(-1e6, 1e6), st.floats(-10, 10))
def test_no_negative_ratio_is_ever_stated(cost, qalys):
    said = verdict(cost, qalys, "B", "A", "GBP")
    assert not re.search(r"-\s*\d", said.statement)
    assert np.isnan(said.icer_per_qaly) or said.icer_per_qaly >= 0  # a tiny cost over many QALYs rounds to 0


def test_fieller_interval_brackets_the_ratio_and_is_unbounded_when_qalys_may_not_differ():
    rng = np.random.default_rng(1)
    qalys = 0.1 + rng.normal(0, 0.005, 20)
    cost = 2000 + rng.normal(0, 50, 20)
    low, high = fieller_interval(cost, qalys)
    assert low < cost.mean() / qalys.mean() < high
    assert high - low < 0.3 * cost.mean() / qalys.mean()
    low, high = fieller_interval(cost, rng.normal(0, 0.005, 20))  # QALYs not clear of 0
    assert np.isnan(low) and np.isnan(high)


draws_and_strategies = st.tuples(st.integers(1, 30), st.integers(2, 4)).flatmap(lambda shape: st.tuples(
    arrays(float, shape, elements=st.floats(0, 1e5)), arrays(float, shape, elements=st.floats(0, 10))))


def _frames(pair):
    costs, qalys = pair
    names = [f"s{i}" for i in range(costs.shape[1])]
    return pd.DataFrame(costs, columns=names), pd.DataFrame(qalys, columns=names)


@settings(max_examples=80, deadline=None)
@given(draws_and_strategies)
def test_ceac_probabilities_sum_to_one_at_every_threshold(pair):
    costs, qalys = _frames(pair)
    curve = acceptability(costs, qalys, threshold_grid([20000, 30000], points=11))
    totals = curve.groupby("threshold_per_qaly")["probability_most_cost_effective"].sum()
    assert np.allclose(totals, 1.0)
    assert curve.groupby("threshold_per_qaly")["on_frontier"].any().all()


@settings(max_examples=80, deadline=None)
@given(draws_and_strategies)
def test_evpi_is_never_negative(pair):
    costs, qalys = _frames(pair)
    value = evpi(costs, qalys, threshold_grid([20000], points=11))
    assert (value["evpi_per_patient"] >= 0).all()


def test_evpi_is_zero_when_one_strategy_wins_every_draw_and_positive_when_the_winner_varies():
    costs = pd.DataFrame({"a": [100.0, 100.0], "b": [50.0, 50.0]})
    assert (evpi(costs, pd.DataFrame({"a": [1.0, 1.1], "b": [1.2, 1.3]}), np.array([0.0, 20000.0]))
            ["evpi_per_patient"] == 0).all()
    # at 1,000 per QALY a's net benefit is 1,000 in both draws, b's 400 and 2,400 (mean 1,400): b is chosen
    # now, and loses 600 in draw 1 that perfect information would have saved: 300 per patient on average
    value = evpi(pd.DataFrame({"a": [0.0, 0.0], "b": [100.0, 100.0]}),
                 pd.DataFrame({"a": [1.0, 1.0], "b": [0.5, 2.5]}), np.array([1000.0]))
    assert value["evpi_per_patient"].iloc[0] == pytest.approx(300.0)
    assert value["strategy_chosen_now"].iloc[0] == "b"


def test_compare_states_the_cost_effectiveness(tmp_path):
    result = CliRunner().invoke(main, ["compare", "baseline", "severe_ivig", "--patients", "60", "--replications",
                                       "3", "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cmp" / "cost_effectiveness.csv").iloc[0]
    differences = pd.read_csv(tmp_path / "cmp" / "comparison.csv").set_index("metric")
    assert table.incremental_cost_per_patient == pytest.approx(differences.loc["mean_total_cost_discounted", "difference"])
    assert table.incremental_qalys_per_patient == pytest.approx(differences.loc["mean_qalys_discounted", "difference"])
    assert table.incremental_cost_ci_low == pytest.approx(differences.loc["mean_total_cost_discounted", "ci_low"])
    nmb = differences.loc["net_monetary_benefit_at_30000"]
    assert table.incremental_net_monetary_benefit_at_30000 == pytest.approx(nmb.difference)
    assert table.statement in result.output and table.statement in (tmp_path / "cmp" / "comparison.html").read_text()


def test_psa_of_two_scenarios_writes_the_plane_ceac_and_evpi(tmp_path):
    out = tmp_path / "psa"
    result = CliRunner().invoke(main, ["psa", "baseline", "severe_ivig", "--draws", "3", "--patients", "40",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    draws = pd.read_csv(out / "psa_draws.csv")
    assert sorted(draws.scenario.unique()) == ["baseline", "severe_ivig"] and len(draws) == 6
    params = [c for c in draws if c.startswith("param:")]
    by = {name: group.set_index("draw") for name, group in draws.groupby("scenario")}
    pd.testing.assert_frame_equal(by["baseline"][params], by["severe_ivig"][params])  # the same draws
    assert (by["baseline"].share_died == by["severe_ivig"].share_died).all()  # and the same patients
    plane = pd.read_csv(out / "ce_plane.csv")
    assert plane.incremental_cost.tolist() == pytest.approx(
        (by["severe_ivig"].mean_total_cost_discounted - by["baseline"].mean_total_cost_discounted).tolist())
    curve = pd.read_csv(out / "ceac.csv")
    assert np.allclose(curve.groupby("threshold_per_qaly").probability_most_cost_effective.sum(), 1.0)
    assert {20000.0, 30000.0} <= set(curve.threshold_per_qaly)
    assert (pd.read_csv(out / "evpi.csv").evpi_per_patient >= 0).all()
    for figure in ("ce_plane", "ceac", "evpi", "psa"):
        assert (out / f"{figure}.png").exists() and (out / f"{figure}.svg").exists()


def test_psa_needs_scenarios_with_distinct_names(tmp_path):
    other = tmp_path / "same_name.toml"
    other.write_text('extends = "baseline"\n')
    result = CliRunner().invoke(main, ["psa", "baseline", str(other), "--draws", "2", "--patients", "10",
                                       "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "distinct names" in result.output
    assert not (tmp_path / "x").exists()


def test_psa_of_a_region_states_the_evpi_for_its_patients(tmp_path):
    variant = tmp_path / "region_ivig.toml"
    variant.write_text('extends = "region_1m"\nname = "region_ivig"\n[lines.first_line]\np_ivig_severe = 0.5\n')
    out = tmp_path / "psa"
    result = CliRunner().invoke(main, ["psa", "region_1m", str(variant), "--draws", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    patients = pd.read_csv(out / "psa_draws.csv").query("scenario == 'region_1m'").patients.mean()
    value = pd.read_csv(out / "evpi.csv")
    assert value.evpi_population.tolist() == pytest.approx((value.evpi_per_patient * patients).tolist())
    assert "for the region's patients" in result.output
