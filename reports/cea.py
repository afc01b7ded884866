"""Cost-effectiveness arithmetic: the ICER and what it means, net monetary benefit, the acceptability curve
and the expected value of perfect information. Pure functions of costs and QALYs; no simulation here.

Conventions (as hesim and dampack): a strategy's net monetary benefit at a threshold lambda (currency per
QALY) is lambda * QALYs - cost; the most cost-effective strategy is the one with the highest. Differences are
"scenario minus reference".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Verdict:
    quadrant: str  # dominates, dominated, more_costly_more_effective, cheaper_less_effective, no_difference, ...
    icer_per_qaly: float  # meaningful only in the two trade-off quadrants; NaN otherwise
    statement: str


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def verdict(delta_cost: float, delta_qalys: float, scenario: str = "the scenario",
            reference: str = "the reference", currency: str = "") -> Verdict:
    """What a pair of incremental cost and QALYs means, in words; an ICER only where it is a trade-off."""
    c, e = float(delta_cost), float(delta_qalys)
    if e > 0 and c <= 0:
        return Verdict("dominates", np.nan, f"{scenario} dominates {reference}: it gains QALYs and "
                       + ("costs the same" if c == 0 else "saves money"))
    if e < 0 and c >= 0:
        return Verdict("dominated", np.nan, f"{scenario} is dominated by {reference}: it loses QALYs and "
                       + ("costs the same" if c == 0 else "costs more"))
    if e > 0 and c > 0:
        icer = c / e
        return Verdict("more_costly_more_effective", icer, f"{scenario} costs more and gains QALYs: ICER "
                       f"{_money(icer, currency)} per QALY gained")
    if e < 0 and c < 0:
        icer = c / e
        return Verdict("cheaper_less_effective", icer, f"{scenario} saves money and loses QALYs: it saves "
                       f"{_money(icer, currency)} per QALY lost")
    if c < 0:
        return Verdict("cheaper_same_effect", np.nan, f"{scenario} saves money with the same QALYs")
    if c > 0:
        return Verdict("costlier_same_effect", np.nan, f"{scenario} costs more with the same QALYs")
    return Verdict("no_difference", np.nan, f"{scenario} and {reference} do not differ in cost or QALYs")


def fieller_interval(delta_cost: np.ndarray, delta_qalys: np.ndarray, level: float = 0.95
                     ) -> tuple[float, float]:
    """Fieller's interval for the ratio of mean incremental cost to mean incremental QALYs, from paired
    replications; (nan, nan) when the QALY difference is not clearly apart from 0 (the interval is then
    unbounded: no ratio can be excluded)."""
    c, e = np.asarray(delta_cost, float), np.asarray(delta_qalys, float)
    n = len(c)
    if n < 2:
        return np.nan, np.nan
    t2 = stats.t.ppf(0.5 + level / 2, n - 1) ** 2
    mc, me = c.mean(), e.mean()
    vc, ve = c.var(ddof=1) / n, e.var(ddof=1) / n
    cov = np.cov(c, e, ddof=1)[0, 1] / n
    a = me**2 - t2 * ve
    b = mc * me - t2 * cov
    k = mc**2 - t2 * vc
    disc = b**2 - a * k
    if a <= 0 or disc < 0:
        return np.nan, np.nan
    root = np.sqrt(disc)
    return float((b - root) / a), float((b + root) / a)


def net_monetary_benefit(costs, qalys, threshold_per_qaly: float):
    """lambda * QALYs - cost, elementwise."""
    return threshold_per_qaly * np.asarray(qalys, float) - np.asarray(costs, float)


def threshold_grid(thresholds: list[float], points: int = 121) -> np.ndarray:
    """0 to three times the largest named threshold, with the named thresholds themselves included."""
    top = 3 * max(thresholds)
    return np.unique(np.concatenate([np.linspace(0.0, top, points), np.asarray(thresholds, float)]))


def _nmb_cube(costs: pd.DataFrame, qalys: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Net monetary benefit [threshold, draw, strategy]: costs and qalys have a draw per row, a strategy per
    column."""
    return grid[:, None, None] * qalys.to_numpy(float)[None] - costs.to_numpy(float)[None]


def acceptability(costs: pd.DataFrame, qalys: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """The cost-effectiveness acceptability curve: at each threshold, the share of draws in which each
    strategy has the highest net monetary benefit (ties split evenly), and whether the strategy has the
    highest expected net monetary benefit there (the acceptability frontier)."""
    nmb = _nmb_cube(costs, qalys, grid)
    best = nmb == nmb.max(axis=2, keepdims=True)
    share = (best / best.sum(axis=2, keepdims=True)).mean(axis=1)  # [threshold, strategy]
    expected = nmb.mean(axis=1)
    frontier = expected == expected.max(axis=1, keepdims=True)
    strategies = list(costs.columns)
    return pd.DataFrame({
        "threshold_per_qaly": np.repeat(grid, len(strategies)),
        "strategy": strategies * len(grid),
        "probability_most_cost_effective": share.ravel(),
        "expected_net_monetary_benefit": expected.ravel(),
        "on_frontier": frontier.ravel(),
    })


def evpi(costs: pd.DataFrame, qalys: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """Expected value of perfect information per patient at each threshold: E[max over strategies of NMB]
    - max over strategies of E[NMB], over the draws (never negative: choosing after seeing the draw cannot
    do worse on average than choosing before)."""
    nmb = _nmb_cube(costs, qalys, grid)
    chosen = nmb.mean(axis=1).argmax(axis=1)  # the strategy with the highest expected NMB, per threshold
    # the same quantity as the mean regret of that choice, draw by draw (each term >= 0, no rounding below 0)
    regret = nmb.max(axis=2) - np.take_along_axis(nmb, chosen[:, None, None], axis=2)[:, :, 0]
    return pd.DataFrame({"threshold_per_qaly": grid, "evpi_per_patient": regret.mean(axis=1),
                         "strategy_chosen_now": np.asarray(costs.columns)[chosen]})
