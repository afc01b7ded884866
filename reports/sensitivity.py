"""Sensitivity analysis over a scenario's [uncertainty] parameters.

Probabilistic (PSA): each draw samples every uncertain parameter from its
distribution and simulates the cohort; all draws use the same seed, so the same
patients and chance events, and the spread of an outcome across draws reflects the
parameters' uncertainty rather than sampling noise. One-way: each parameter in turn
at the 2.5th and 97.5th percentile of its distribution, the others at their
baseline values, shown as a tornado.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from reports.costs import compute_costs  # noqa: E402
from reports.summary import ResourceTally, summarize  # noqa: E402
from scenarios.loader import deep_merge  # noqa: E402
from scenarios.schema import Distribution, Scenario  # noqa: E402
from simulation.model import YEAR_DAYS  # noqa: E402
from simulation.runner import collect_tables  # noqa: E402

# Spawn key of the parameter draws: apart from patients' and arrivals' streams.
PSA_STREAM = 2**62 + 1


def frozen(distribution: Distribution):
    """The scipy distribution, for sampling and quantiles."""
    d = distribution
    if d.distribution == "beta":
        return stats.beta(d.alpha, d.beta)
    if d.distribution == "gamma":
        return stats.gamma(d.shape, scale=d.scale)
    if d.distribution == "lognormal":
        return stats.lognorm(d.sigma, scale=np.exp(d.mu))
    return stats.uniform(d.low, d.high - d.low)


def override(path: str, value: float) -> dict:
    """A nested override setting one parameter: "a.b.c" -> {"a": {"b": {"c": value}}}."""
    *parents, leaf = path.split(".")
    node: dict = {leaf: value}
    for part in reversed(parents):
        node = {part: node}
    return node


def with_values(scenario: Scenario, values: dict[str, float]) -> Scenario:
    data = scenario.model_dump()
    for path, value in values.items():
        data = deep_merge(data, override(path, float(value)))
    return Scenario.model_validate(data)


def outcomes(scenario: Scenario) -> dict[str, float]:
    """The summary metrics of one simulated cohort, and its mean cost per patient."""
    tables = collect_tables(scenario)
    tally = ResourceTally()
    tally.add(tables)
    frames = {name: table.to_pandas() for name, table in tables.items()}
    summary = summarize(frames["patients"], tally)
    by_patient, _ = compute_costs(frames, scenario.costs, scenario.simulation.horizon_years * YEAR_DAYS)
    return {**dict(zip(summary["metric"], summary["value"])),
            "mean_total_cost": float(by_patient["total_cost"].mean()),
            "mean_total_cost_discounted": float(by_patient["total_cost_discounted"].mean())}


def _outcomes_of(args: tuple[str, dict[str, float]]) -> dict[str, float]:
    scenario_json, values = args
    return outcomes(with_values(Scenario.model_validate_json(scenario_json), values))


def _map(jobs: list[dict[str, float]], scenario: Scenario, workers: int) -> list[dict[str, float]]:
    args = [(scenario.model_dump_json(), values) for values in jobs]
    if workers <= 1:
        return [_outcomes_of(a) for a in args]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_outcomes_of, args))


def parameter_draws(scenario: Scenario, draws: int) -> pd.DataFrame:
    """One row per draw, one column per uncertain parameter."""
    if scenario.uncertainty is None or not scenario.uncertainty.parameters:
        raise ValueError(f"scenario {scenario.name!r} has no [uncertainty] parameters")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        scenario.simulation.seed, spawn_key=(PSA_STREAM,))))
    return pd.DataFrame({path: frozen(d).rvs(size=draws, random_state=rng)
                         for path, d in scenario.uncertainty.parameters.items()})


def psa(scenario: Scenario, draws: int, workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every draw's parameters and outcomes, the spread of every outcome across draws)."""
    parameters = parameter_draws(scenario, draws)
    results = pd.DataFrame(_map(parameters.to_dict("records"), scenario, workers))
    table = pd.concat([parameters.rename(columns=lambda c: f"param:{c}"), results], axis=1)
    table.insert(0, "draw", np.arange(draws))
    spread = pd.DataFrame({
        "metric": results.columns, "mean": results.mean().to_numpy(), "sd": results.std(ddof=1).to_numpy(),
        "p2_5": results.quantile(0.025).to_numpy(), "median": results.median().to_numpy(),
        "p97_5": results.quantile(0.975).to_numpy()})
    return table, spread


def one_way(scenario: Scenario, outcome: str, parameters: list[str] | None = None, workers: int = 1
            ) -> pd.DataFrame:
    """Each parameter at its 2.5th and 97.5th percentile, the others at baseline; sorted by swing."""
    uncertain = scenario.uncertainty.parameters if scenario.uncertainty else {}
    names = parameters or list(uncertain)
    unknown = [n for n in names if n not in uncertain]
    if unknown:
        raise ValueError(f"not in the scenario's [uncertainty] parameters: {', '.join(unknown)}")
    jobs = [{}] + [{name: frozen(uncertain[name]).ppf(q)} for name in names for q in (0.025, 0.975)]
    results = _map(jobs, scenario, workers)
    if outcome not in results[0]:
        raise ValueError(f"unknown outcome {outcome!r}; one of: {', '.join(results[0])}")
    base = results[0][outcome]
    data = scenario.model_dump()
    rows = []
    for i, name in enumerate(names):
        low_job, high_job = jobs[1 + 2 * i], jobs[2 + 2 * i]
        value = data
        for part in name.split("."):
            value = value[part]
        rows.append({"parameter": name, "baseline_value": value, "low_value": low_job[name],
                     "high_value": high_job[name], "outcome": outcome, "outcome_baseline": base,
                     "outcome_at_low": results[1 + 2 * i][outcome], "outcome_at_high": results[2 + 2 * i][outcome]})
    table = pd.DataFrame(rows)
    table["swing"] = (table["outcome_at_high"] - table["outcome_at_low"]).abs()
    return table.sort_values("swing", ascending=False, ignore_index=True)


def tornado(table: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(table) + 1.5))
    base = table["outcome_baseline"].iloc[0]
    rows = table.iloc[::-1]
    y = np.arange(len(rows))
    ax.barh(y, rows["outcome_at_low"] - base, left=base, color="#6baed6", label="parameter at 2.5th percentile")
    ax.barh(y, rows["outcome_at_high"] - base, left=base, color="#fd8d3c", label="parameter at 97.5th percentile")
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(y, rows["parameter"], fontsize=8)
    ax.set(xlabel=table["outcome"].iloc[0], title="One-way sensitivity (others at baseline)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def psa_figure(spread_table: pd.DataFrame, draws: pd.DataFrame, metrics: list[str]) -> plt.Figure:
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        ax.hist(draws[metric], bins=20, color="#9ecae1", edgecolor="white")
        row = spread_table.set_index("metric").loc[metric]
        for q in ("p2_5", "p97_5"):
            ax.axvline(row[q], color="#08519c", linestyle="--")
        ax.set_title(metric, fontsize=9)
    fig.suptitle("Outcomes across parameter draws (dashed: 2.5th and 97.5th percentiles)")
    fig.tight_layout()
    return fig
