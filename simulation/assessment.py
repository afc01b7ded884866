"""Measuring the disease at a clinic visit, and when the next visit falls.

A visit measures the true activity with error, as the core-set measures do: the
physician's global activity is the activity plus noise; each other measure shows a
share (`sensitivity`) of the relative fall in activity since a baseline, held back by
damage accrued since then, plus its own noise. The Total Improvement Score is then
scored by the 2016 criteria (`pathway.response_criteria`) against two baselines: the
patient's diagnosis and the start of the current line (a trial's baseline).

Expectation (the placebo effect): when a line of treatment starts, the measures that carry it (patient-reported
ones) show an improvement beyond the disease's, `expectation_percent` points at the start, waning
exponentially. Each assessment carries the expectation then (0-1, `expectation`); a baseline carries none (the
diagnosis comes before any treatment; a line starts when the one before was judged to have failed, or the disease
flared, which is when a patient stops expecting that treatment to work).
"""

from __future__ import annotations

import math

import numpy as np

from iimsim.pathway.response_criteria import ImprovementDefinition, total_improvement_score


class Baseline:
    """What a line (or the disease) started from: the reference for improvement."""

    __slots__ = ("activity", "measured", "damage", "recovered")

    def __init__(self, activity: float, measured: float, damage: float, recovered: float | None = None) -> None:
        self.activity = max(activity, 1e-6)
        self.measured = max(measured, 1e-6)
        self.damage = damage
        self.recovered = self.activity if recovered is None else max(recovered, 1e-6)


def recover(recovered: float | None, since_day: float, input_activity: float, day: float, activity: float,
            tau_days: float) -> float:
    """What strength and function reflect on `day`: the activity followed with time constant `tau_days` while it
    falls (the input over the interval taken as the mean of its ends), at once when it is higher (new inflammation
    weakens now; regenerating muscle takes months)."""
    if recovered is None or tau_days <= 0.0:
        return activity
    # (comparisons, not the builtins min and max: at every visit, a call to them costs ten comparisons)
    elapsed = day - since_day
    elapsed = 0.0 if elapsed < 0.0 else elapsed
    mean_input = 0.5 * (input_activity + activity)
    lagged = mean_input + (recovered - mean_input) * math.exp(-elapsed / tau_days)
    return activity if activity > lagged else lagged


def measured_activity(true_activity: float, noise_sd: float, z: float) -> float:
    """The physician's global activity: the true activity with error, kept within 0-1."""
    measured = true_activity + noise_sd * z
    measured = measured if measured > 0.0 else 0.0  # (as max and min would, at a tenth of the cost)
    return measured if measured < 1.0 else 1.0


def improvements_percent(visits, sensitivity: tuple[float, ...], activity: float, measured: float, damage: float,
                         baseline: Baseline, z: list[float], expectation: float = 0.0,
                         recovered: float | None = None) -> list[float]:
    """Each core-set measure's relative improvement from `baseline` (percent). The first is the physician's
    global activity as measured then and now; each other shows a share of the true relative fall (its
    `sensitivity` in this patient), held back by damage since the baseline, with its own error on the change
    (`z[2:]`); each gains its expectation points times the expectation now (0-1). A measure's `recovery_weight`
    share follows the fall in `recovered` (the slowly recovering activity) instead."""
    fall = 1.0 - activity / baseline.activity
    fall_recovered = fall if recovered is None else 1.0 - recovered / baseline.recovered
    new_damage = damage - baseline.damage
    expected = expectation
    out = [100.0 * (1.0 - measured / baseline.measured) + visits.expectation_percent[0] * expected]
    for k in range(1, len(sensitivity)):
        noise = visits.noise_percent[k] * z[k + 1] if sensitivity[k] > 0.0 else 0.0  # not involved: no change
        w = visits.recovery_weight[k]
        shown = fall if w == 0.0 else (1.0 - w) * fall + w * fall_recovered
        out.append(100.0 * (sensitivity[k] * shown - visits.damage_weight[k] * new_damage)
                   + noise + visits.expectation_percent[k] * expected)
    return out


def tis(visits, sensitivity: tuple[float, ...], activity: float, measured: float, damage: float,
        baseline: Baseline, z: list[float], expectation: float = 0.0, recovered: float | None = None) -> float:
    return total_improvement_score(visits.criteria, improvements_percent(visits, sensitivity, activity, measured,
                                                                         damage, baseline, z, expectation, recovered))


def score_rows(visits, sensitivity: np.ndarray, activity: np.ndarray, measured: np.ndarray, damage: np.ndarray,
               baseline: tuple[np.ndarray, np.ndarray, np.ndarray],
               z: np.ndarray, expectation: np.ndarray | None = None,
               recovered: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`improvements_percent` and the scores for many assessments at once (the same arithmetic, in the same
    order, so a row's TIS is the one the clinician's decision used): TIS, IMACS improvement, PRINTO20.
    `baseline` is (activity, measured, damage) per row; `sensitivity` and `z` hold each row's measures'
    sensitivities and errors (visit draws 2+), from the second measure on; `expectation` is each row's
    expectation (0-1; none if not given); `recovered` is each row's recovering activity and its baseline's (none:
    the activity)."""
    base_activity, base_measured, base_damage = baseline
    fall = 1.0 - activity / base_activity
    fall_recovered = fall if recovered is None else 1.0 - recovered[0] / recovered[1]
    new_damage = damage - base_damage
    n, m = len(activity), len(visits.sensitivity)
    expected = np.zeros(n) if expectation is None else expectation
    improvements = np.empty((n, m))
    improvements[:, 0] = 100.0 * (1.0 - measured / base_measured) + visits.expectation_percent[0] * expected
    for k in range(1, m):
        noise = np.where(sensitivity[:, k - 1] > 0.0, visits.noise_percent[k] * z[:, k - 1], 0.0)
        w = visits.recovery_weight[k]
        shown = fall if w == 0.0 else (1.0 - w) * fall + w * fall_recovered
        improvements[:, k] = (100.0 * (sensitivity[:, k - 1] * shown - visits.damage_weight[k] * new_damage)
                              + noise + visits.expectation_percent[k] * expected)
    tis_score = np.zeros(n)
    for k, measure in enumerate(visits.criteria.measures):
        points = np.asarray(measure.points)
        tis_score += points[np.searchsorted(measure.cutpoints_percent, improvements[:, k], side="left")]
    return tis_score, _meets_rows(visits.imacs, improvements), _meets_rows(visits.printo20, improvements)


def _meets_rows(definition: ImprovementDefinition, improvements: np.ndarray) -> np.ndarray:
    improved = (improvements >= definition.improvement_percent).sum(axis=1)
    worse = improvements <= -definition.worsening_percent
    return ((improved >= definition.improved_measures) & (worse.sum(axis=1) <= definition.max_worse_measures)
            & ~worse[:, definition.strength_index])


def next_visit_in_days(interval_days: float, drift_sd: float, z: float) -> float:
    """Appointments drift: the interval times a lognormal factor with median 1."""
    return interval_days * math.exp(drift_sd * z)


def first_rise(activity, start_day: float, end_day: float, level: float, tolerance_days: float = 1.0) -> float | None:
    """The first day in (start, end] the activity reaches `level`, or None if it is below it at `end`.

    Used to bring a patient in early when their disease worsens between visits: checked at the
    planned visit, then found by bisection (a rise that settles again before the visit goes unseen,
    as between real appointments)."""
    if activity(end_day) < level:
        return None
    low, high = start_day, end_day
    while high - low > tolerance_days:
        mid = 0.5 * (low + high)
        if activity(mid) >= level:
            high = mid
        else:
            low = mid
    return high
