"""The 2016 ACR/EULAR myositis response criteria: the Total Improvement Score (TIS).

Six core-set measures are each scored by their relative improvement from baseline, in
bands, and the points add up to a TIS of 0-100 (Aggarwal et al., Ann Rheum Dis 2017;
Rider et al., Arthritis Rheumatol 2017). The bands, points and thresholds are scenario
values (`[assessment]`), so this module is the mechanism only: pure arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

IMPROVEMENT_CATEGORIES = ("none", "minimal", "moderate", "major")


@dataclass(frozen=True)
class CoreSetMeasure:
    name: str
    cutpoints_percent: tuple[float, ...]  # upper ends of the bands; improvement above the last scores most
    points: tuple[float, ...]  # one more than the cutpoints


@dataclass(frozen=True)
class ResponseCriteria:
    measures: tuple[CoreSetMeasure, ...]
    adult_thresholds: tuple[float, float, float]  # minimal, moderate, major
    juvenile_thresholds: tuple[float, float, float]

    def thresholds(self, juvenile: bool) -> tuple[float, float, float]:
        return self.juvenile_thresholds if juvenile else self.adult_thresholds


def total_improvement_score(criteria: ResponseCriteria, improvements_percent: list[float]) -> float:
    """TIS from each measure's relative improvement (percent; negative is worsening)."""
    total = 0.0
    for m, x in zip(criteria.measures, improvements_percent):
        total += m.points[bisect_left(m.cutpoints_percent, x)]
    return total


@dataclass(frozen=True)
class ImprovementDefinition:
    """A count-based definition of improvement: the IMACS definition of improvement (Rider et al. 2004) and
    PRINTO20 (Ruperto et al. 2003) both ask for `improved_measures` core-set measures improved by at least
    `improvement_percent`, with at most `max_worse_measures` worse by `worsening_percent` or more, never
    muscle strength (the measure at `strength_index`)."""

    improved_measures: int
    improvement_percent: float
    max_worse_measures: int
    worsening_percent: float
    strength_index: int


def meets(definition: ImprovementDefinition, improvements_percent: list[float]) -> bool:
    improved = worse = 0
    for i, x in enumerate(improvements_percent):
        if x >= definition.improvement_percent:
            improved += 1
        elif x <= -definition.worsening_percent:
            if i == definition.strength_index:
                return False
            worse += 1
    return improved >= definition.improved_measures and worse <= definition.max_worse_measures


def improvement_category(tis: float, thresholds: tuple[float, float, float]) -> str:
    """`none`, `minimal`, `moderate` or `major`, by the thresholds for the patient's age group."""
    return IMPROVEMENT_CATEGORIES[sum(tis >= t for t in thresholds)]
