"""Sensitivity analysis over a scenario's [uncertainty] parameters.

Probabilistic (PSA): each draw samples every uncertain parameter from its
distribution and simulates the cohort; all draws use the same seed, so the same
patients and chance events, and the spread of an outcome across draws reflects the
parameters' uncertainty rather than sampling noise. One-way: each parameter in turn
at the 2.5th and 97.5th percentile of its distribution, the others at their
baseline values, shown as a tornado.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from iimsim.scenarios.loader import resolve
from iimsim.experiments.output import staged_or_none
from iimsim.reports.patient_outcomes import OutcomeTally
from iimsim.reports.psa_cea import PsaCea, psa_cost_effectiveness, write_psa_cea
from iimsim.reports.sensitivity_figures import write_one_way, write_psa
from iimsim.reports.summary import ResourceTally, summarize
from iimsim.scenarios.loader import deep_merge, override
from iimsim.scenarios.schema import Distribution, Scenario
from iimsim.simulation.runner import run_cohort

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


def with_values(scenario: Scenario, values: dict[str, float]) -> Scenario:
    data = scenario.model_dump()
    for path, value in values.items():
        data = deep_merge(data, override(path, float(value)))
    return Scenario.model_validate(data)


def outcomes(scenario: Scenario) -> dict[str, float]:
    """The summary metrics of one simulated cohort (replications pooled), with its mean cost, life-years and
    QALYs per patient; computed chunk by chunk as a run does."""
    tally, per_patient, patients = ResourceTally(), OutcomeTally(scenario), []
    for _, tables in run_cohort(scenario):
        tally.add(tables)
        per_patient.add(tables)
        patients.append(tables["patients"])
    summary = summarize(pa.concat_tables(patients).to_pandas(), tally)
    means = per_patient.by_replication().groupby("metric", sort=False)["value"].mean()
    return {**dict(zip(summary["metric"], summary["value"])), **{k: float(v) for k, v in means.items()}}


def _outcomes_of(args: tuple[str, dict[str, float]]) -> dict[str, float]:
    scenario_json, values = args
    return outcomes(with_values(Scenario.model_validate_json(scenario_json), values))


def _map_pairs(pairs: list[tuple[Scenario, dict[str, float]]], workers: int) -> list[dict[str, float]]:
    """Outcomes of each (scenario, parameter values) job, in order."""
    args = [(scenario.model_dump_json(), values) for scenario, values in pairs]
    if workers <= 1:
        return [_outcomes_of(a) for a in args]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_outcomes_of, args))


def _map(jobs: list[dict[str, float]], scenario: Scenario, workers: int) -> list[dict[str, float]]:
    return _map_pairs([(scenario, values) for values in jobs], workers)


def parameter_draws(scenario: Scenario, draws: int) -> pd.DataFrame:
    """One row per draw, one column per uncertain parameter."""
    if scenario.uncertainty is None or not scenario.uncertainty.parameters:
        raise ValueError(f"scenario {scenario.name!r} has no [uncertainty] parameters")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        scenario.simulation.seed, spawn_key=(PSA_STREAM,))))
    return pd.DataFrame({path: frozen(d).rvs(size=draws, random_state=rng)
                         for path, d in scenario.uncertainty.parameters.items()})


def psa(scenarios: Scenario | list[Scenario], draws: int, workers: int = 1
        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every draw's parameters and outcomes, one row per draw and scenario; the spread of every outcome
    across draws, per scenario). The draws come from the first scenario's [uncertainty] and every scenario
    gets the same ones, with the same seed: the same patients and chance events."""
    scenarios = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    parameters = parameter_draws(scenarios[0], draws)
    records = parameters.to_dict("records")
    try:
        for scenario in scenarios[1:]:
            with_values(scenario, records[0])
    except ValueError as err:
        raise ValueError(f"scenario {scenario.name!r} does not take the first scenario's [uncertainty] "
                         f"parameters: {err}") from None
    results = pd.DataFrame(_map_pairs([(scenario, values) for scenario in scenarios for values in records], workers))
    frames, spreads = [], []
    for index, scenario in enumerate(scenarios):
        part = results.iloc[index * draws:(index + 1) * draws].reset_index(drop=True)
        table = pd.concat([parameters.rename(columns=lambda c: f"param:{c}"), part], axis=1)
        table.insert(0, "scenario", scenario.name)
        table.insert(0, "draw", np.arange(draws))
        frames.append(table)
        spreads.append(pd.DataFrame({
            "scenario": scenario.name, "metric": part.columns, "mean": part.mean().to_numpy(),
            "sd": part.std(ddof=1).to_numpy(), "p2_5": part.quantile(0.025).to_numpy(),
            "median": part.median().to_numpy(), "p97_5": part.quantile(0.975).to_numpy()}))
    return pd.concat(frames, ignore_index=True), pd.concat(spreads, ignore_index=True)


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


def sensitivity_scenarios(scenarios: Sequence[str | Path | Scenario], patients: int | None = None,
                          seed: int | None = None) -> list[Scenario]:
    """The scenarios a sensitivity analysis simulates: one replication each, the first with [uncertainty]
    parameters, names distinct. Raises `ValueError` (a `ScenarioError` for a bad file) saying what is wrong."""
    resolved = [resolve(scenario, patients=patients, seed=seed, replications=1) for scenario in scenarios]
    if not resolved:
        raise ValueError("a sensitivity analysis needs a scenario")
    if resolved[0].uncertainty is None or not resolved[0].uncertainty.parameters:
        raise ValueError(f"scenario {resolved[0].name!r} has no [uncertainty] parameters to vary")
    names = [scenario.name for scenario in resolved]
    if len(set(names)) < len(names):
        raise ValueError(f"scenarios need distinct names, got {', '.join(names)}")
    return resolved


@dataclass(frozen=True)
class PsaResult:
    """A probabilistic sensitivity analysis: every draw's parameters and outcomes, their spread, and (two or
    more scenarios, all with [utilities]) the cost-effectiveness plane, acceptability curve and EVPI."""

    draws: pd.DataFrame  # draw, scenario, param:PATH..., every outcome
    summary: pd.DataFrame  # scenario, metric, mean, sd, p2_5, median, p97_5
    cost_effectiveness: PsaCea | None
    thresholds_per_qaly: list[float]
    currency: str
    population: float | None  # a region's simulated patients (the EVPI's population), else None


def run_psa(scenarios: Sequence[str | Path | Scenario], draws: int = 100, patients: int | None = None,
            seed: int | None = None, workers: int = 1, out_dir: Path | str | None = None,
            force: bool = False) -> PsaResult:
    """`psa` over `sensitivity_scenarios`, with the cost-effectiveness outputs when every scenario has
    [utilities]; with `out_dir`, writes its files there atomically (psa_draws.csv, psa_summary.csv, psa figure,
    and ce_plane.csv, ceac.csv, evpi.csv with their figures)."""
    resolved = sensitivity_scenarios(scenarios, patients, seed)
    first, names = resolved[0], [scenario.name for scenario in resolved]
    cea = len(resolved) > 1 and all(scenario.utilities is not None for scenario in resolved)
    thresholds = list(first.utilities.thresholds_per_qaly) if first.utilities is not None else []
    with staged_or_none(out_dir, force) as staging:
        table, spread = psa(resolved, draws, workers)
        population = (float(table.loc[table["scenario"] == names[0], "patients"].mean())
                      if cea and first.region is not None else None)
        plane = psa_cost_effectiveness(table, names, thresholds, population) if cea else None
        if staging is not None:
            write_psa(staging, table, spread)
            if plane is not None:
                write_psa_cea(plane, staging, first.costs.currency, thresholds, population)
    return PsaResult(table, spread, plane, thresholds, first.costs.currency, population)


def run_one_way(scenario: str | Path | Scenario, outcome: str = "mean_pred_cum_mg",
                parameters: Sequence[str] | None = None, patients: int | None = None, seed: int | None = None,
                workers: int = 1, out_dir: Path | str | None = None, force: bool = False) -> pd.DataFrame:
    """`one_way` on the scenario at one replication; with `out_dir`, writes oneway.csv and the tornado there."""
    resolved = sensitivity_scenarios([scenario], patients, seed)[0]
    with staged_or_none(out_dir, force) as staging:
        table = one_way(resolved, outcome, list(parameters) if parameters else None, workers)
        if staging is not None:
            write_one_way(staging, table)
    return table
