"""Exact continuous discounting, shared by costs and QALYs: a value at t days since diagnosis is worth
(1 + r)^(-t / YEAR_DAYS) of it at diagnosis."""

from __future__ import annotations

import math

import numpy as np

from iimsim.simulation.tables import YEAR_DAYS


def daily_discount(rate_per_year: float) -> float:
    """The continuous discount rate per day equivalent to `rate_per_year`."""
    return math.log1p(rate_per_year) / YEAR_DAYS


def discounted_days(start: np.ndarray, end: np.ndarray, delta: float) -> np.ndarray:
    """Integral of exp(-delta * t) dt over [start, end]: days worth at diagnosis."""
    if delta == 0:
        return end - start
    return (np.exp(-delta * start) - np.exp(-delta * end)) / delta
