"""Death from what the patient lives through: the disease's activity and organs, cancer, age and treatment.

The hazard of death on a day is

    (population(age, sex) x glucocorticoid ratio(weighted recent dose)
     + myositis rate x activity x organ ratios x age ratio)
    x cancer ratio, while an associated cancer is active
    + rapidly progressive ILD rate x activity, for anti-MDA5 rapidly progressive ILD

so controlling the disease sooner saves lives (less activity-years), and more glucocorticoid costs some (the
weighted recent dose raises the background's cardiovascular and other deaths). Deaths from a serious infection
come from the adverse events (simulation/harms.py). The hazard is re-evaluated as the course goes on
(simulation/hazards.py), never ticked.

The population's mortality is a Gompertz curve, rising by `population_gompertz_per_year` a year of age. The
myositis and rapidly progressive ILD rates are the free parameters: `iimsim calibrate` fits them to the published
survival targets marked fitted.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from iimsim.scenarios.schema import Scenario
from iimsim.simulation.tables import YEAR_DAYS

OLDER_YEARS = 50.0


def interpolate(xs: tuple[float, ...], ys: tuple[float, ...], x: float) -> float:
    """Piecewise-linear through the points (xs ascending), flat beyond the last."""
    if x >= xs[-1]:
        return ys[-1]
    i = bisect_right(xs, x) - 1
    if i < 0:
        return ys[0]
    return ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])


@dataclass(frozen=True)
class MortalityRules:
    population_rate_at_50_per_day: float  # women; men are `male_ratio` times
    male_ratio: float
    gompertz_per_year: float
    gc_memory_days: float
    gc_dose_points: tuple[float, ...]  # weighted recent prednisone-equivalent dose, mg/day ...
    gc_ratio_points: tuple[float, ...]  # ... and the ratio on the population's hazard there
    myositis_rate_per_day: float  # at activity 1, before organ and age ratios
    subtype_ratio: dict[str, float]  # how deadly the subtype's activity is (IBM: degenerative as much as inflamed)
    ild_ratio: float
    myocarditis_ratio: float
    severe_dysphagia_ratio: float
    age_50_or_over_ratio: float
    rp_ild_rate_per_day: float  # at activity 1
    cancer_ratio: float
    cancer_active_days: float

    def population_rate_per_day(self, age_years: float, male: bool) -> float:
        rate = self.population_rate_at_50_per_day * math.exp(self.gompertz_per_year * (age_years - OLDER_YEARS))
        return rate * self.male_ratio if male else rate

    def population_expected_deaths(self, age_years: float, male: bool, days: float) -> float:
        """The population's cumulative hazard over `days` from `age_years`: the deaths expected of a person of
        that age and sex in the general population (an SMR's denominator)."""
        g = self.gompertz_per_year
        years = days / YEAR_DAYS
        if g == 0:
            return self.population_rate_per_day(age_years, male) * days
        return self.population_rate_per_day(age_years, male) * YEAR_DAYS * math.expm1(g * years) / g

    def myositis_ratio(self, subtype: str, ild: bool, myocarditis: bool, severe_dysphagia: bool,
                       age_years: float) -> float:
        """The subtype, organs and age that make active myositis deadlier (static: involvement at diagnosis)."""
        ratio = self.subtype_ratio.get(subtype, 1.0) * (self.ild_ratio if ild else 1.0)
        if myocarditis:
            ratio *= self.myocarditis_ratio
        if severe_dysphagia:
            ratio *= self.severe_dysphagia_ratio
        if age_years >= OLDER_YEARS:
            ratio *= self.age_50_or_over_ratio
        return ratio

    def glucocorticoid_ratio(self, weighted_mg_per_day: float) -> float:
        return interpolate(self.gc_dose_points, self.gc_ratio_points, weighted_mg_per_day)


def compile_mortality(scenario: Scenario) -> MortalityRules:
    m = scenario.mortality
    per_day = 1.0 / YEAR_DAYS
    return MortalityRules(
        population_rate_at_50_per_day=m.population_death_rate_at_50_per_year * per_day,
        male_ratio=m.population_male_ratio, gompertz_per_year=m.population_gompertz_per_year,
        gc_memory_days=m.glucocorticoid_memory_days,
        gc_dose_points=tuple(m.glucocorticoid_weighted_dose_mg_per_day),
        gc_ratio_points=tuple(m.glucocorticoid_rate_ratio),
        myositis_rate_per_day=m.myositis_death_rate_per_year * per_day,
        subtype_ratio=dict(m.myositis_hazard_ratio_by_subtype),
        ild_ratio=m.ild_hazard_ratio, myocarditis_ratio=m.myocarditis_hazard_ratio,
        severe_dysphagia_ratio=m.severe_dysphagia_hazard_ratio,
        age_50_or_over_ratio=m.age_50_or_over_hazard_ratio,
        rp_ild_rate_per_day=m.rp_ild_death_rate_per_year * per_day,
        cancer_ratio=m.cancer_hazard_ratio, cancer_active_days=m.cancer_active_years * YEAR_DAYS,
    )
