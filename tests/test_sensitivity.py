"""Probabilistic and one-way sensitivity analysis."""

import pandas as pd
import pytest
from click.testing import CliRunner

from iimsim.cli import main
from iimsim.experiments import sensitivity as sa
from iimsim.scenarios import load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("baseline", {"simulation": {"patients": 150, "seed": 9}})


def test_parameter_draws_follow_their_distributions(scenario):
    draws = sa.parameter_draws(scenario, 4000)
    assert draws["agents.ivig.effect"].mean() == pytest.approx(scenario.agents["ivig"].effect, rel=0.03)
    assert draws["disease.flare_rate_per_year.DM"].mean() == pytest.approx(0.15, rel=0.03)
    price = draws["costs.ivig_price_per_g"]
    assert price.min() >= 35 and price.max() <= 65
    again = sa.parameter_draws(scenario, 10)
    assert again.equals(sa.parameter_draws(scenario, 10))


def test_a_draw_sets_the_parameter_and_keeps_the_patients(scenario):
    changed = sa.with_values(scenario, {"disease.p_refractory.DM": 0.9, "costs.ivig_price_per_g": 10.0})
    assert changed.disease.p_refractory.DM == 0.9 and changed.costs.ivig_price_per_g == 10.0
    assert sa.outcomes(changed)["patients"] == sa.outcomes(scenario)["patients"]
    # same parameters, same seed: the same outcomes
    assert sa.outcomes(scenario) == sa.outcomes(scenario)


def test_one_way_is_exact_for_a_price(scenario):
    table = sa.one_way(scenario, "mean_total_cost", ["costs.ivig_price_per_g"]).iloc[0]
    base = sa.outcomes(scenario)
    ivig_g_per_patient = base["ivig_g_total"] / base["patients"]
    # cost is linear in the IVIG price: the swing is the price range times IVIG grams per patient
    assert table.outcome_at_high - table.outcome_at_low == pytest.approx(
        (table.high_value - table.low_value) * ivig_g_per_patient)
    assert table.outcome_baseline == pytest.approx(base["mean_total_cost"])


def test_one_way_sorts_by_swing_and_psa_reports_every_outcome(scenario, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["oneway", "--patients", "100", "--parameter", "agents.ivig.effect",
                                  "--parameter", "costs.ivig_price_per_g", "--outcome", "mean_total_cost",
                                  "--out", str(tmp_path / "ow")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "ow" / "oneway.csv")
    assert list(table.swing) == sorted(table.swing, reverse=True)
    assert (tmp_path / "ow" / "tornado.png").exists()
    result = runner.invoke(main, ["psa", "--draws", "4", "--patients", "80", "--out", str(tmp_path / "psa")])
    assert result.exit_code == 0, result.output
    draws = pd.read_csv(tmp_path / "psa" / "psa_draws.csv")
    summary = pd.read_csv(tmp_path / "psa" / "psa_summary.csv").set_index("metric")
    assert len(draws) == 4 and "param:costs.ivig_price_per_g" in draws
    assert summary.loc["mean_total_cost", "mean"] == pytest.approx(draws.mean_total_cost.mean())
    assert (summary.p2_5 <= summary.p97_5).all()


def test_bad_sensitivity_requests_exit_2(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["oneway", "--parameter", "disease.p_refractory.XX", "--out", str(tmp_path / "a")])
    assert bad.exit_code == 2 and "disease.p_refractory.XX" in bad.output
    import tomli_w

    data = load_scenario("baseline").model_dump(mode="json", exclude_none=True)
    del data["uncertainty"]
    plain = tmp_path / "plain.toml"
    plain.write_text(tomli_w.dumps({**data, "name": "plain"}))
    result = runner.invoke(main, ["psa", str(plain), "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "no [uncertainty]" in result.output
