"""Cost-effectiveness over a PSA's draws: the plane, the acceptability curve and the value of information.

Every strategy (scenario) is simulated on the same parameter draws and the same patients, so draw d of each
is a paired comparison. Outcomes are discounted mean cost and QALYs per patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from iimsim.reports.cea import acceptability, evpi, threshold_grid
from iimsim.reports.cea_figures import ce_plane, ceac
from iimsim.reports.cea_figures import evpi as evpi_figure
from iimsim.reports.figures import save_figure

COST, QALYS = "mean_total_cost_discounted", "mean_qalys_discounted"


@dataclass(frozen=True)
class PsaCea:
    plane: pd.DataFrame  # draw, scenario, reference, incremental_cost, incremental_qalys
    curve: pd.DataFrame  # threshold_per_qaly, strategy, probability_most_cost_effective, ...
    value: pd.DataFrame  # threshold_per_qaly, evpi_per_patient, evpi_population, strategy_chosen_now


def strategy_matrix(draws: pd.DataFrame, metric: str, names: list[str]) -> pd.DataFrame:
    """One row per draw, one column per strategy."""
    return draws.pivot(index="draw", columns="scenario", values=metric)[names]


def psa_cost_effectiveness(draws: pd.DataFrame, names: list[str], thresholds: list[float],
                           population: float | None = None) -> PsaCea:
    """The plane (each strategy against the first), the CEAC and the EVPI (per patient; times `population`
    when the first scenario is a region) over a threshold grid that includes `thresholds`."""
    costs, qalys = strategy_matrix(draws, COST, names), strategy_matrix(draws, QALYS, names)
    plane = pd.concat([pd.DataFrame({"draw": costs.index, "scenario": name, "reference": names[0],
                                     "incremental_cost": (costs[name] - costs[names[0]]).to_numpy(),
                                     "incremental_qalys": (qalys[name] - qalys[names[0]]).to_numpy()})
                       for name in names[1:]], ignore_index=True)
    grid = threshold_grid(thresholds)
    value = evpi(costs, qalys, grid)
    value.insert(2, "evpi_population", value["evpi_per_patient"] * population if population else float("nan"))
    return PsaCea(plane, acceptability(costs, qalys, grid), value)


def write_psa_cea(result: PsaCea, folder: Path, currency: str, thresholds: list[float],
                  population: float | None) -> None:
    """ce_plane.csv, ceac.csv, evpi.csv and their figures (PNG and SVG) into `folder`."""
    result.plane.to_csv(folder / "ce_plane.csv", index=False)
    result.curve.to_csv(folder / "ceac.csv", index=False)
    result.value.to_csv(folder / "evpi.csv", index=False)
    save_figure(ce_plane(result.plane, currency, thresholds, "draws"), folder, "ce_plane")
    save_figure(ceac(result.curve, currency, thresholds), folder, "ceac")
    save_figure(evpi_figure(result.value, currency, thresholds, population), folder, "evpi")


def at_thresholds(result: PsaCea, thresholds: list[float]) -> pd.DataFrame:
    """The curve and the EVPI at the named thresholds, one row per threshold and strategy."""
    curve = result.curve[result.curve["threshold_per_qaly"].isin(thresholds)]
    return curve.merge(result.value, on="threshold_per_qaly")
