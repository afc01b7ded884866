"""Death from a hazard that depends on the patient's risks and on time since diagnosis.

The hazard is piecewise constant in time:

    hazard(t) = base[subtype] x first-year ratio (t < 1 year) x ILD ratio x age >= 50 ratio
                x cancer ratio (while the associated cancer is active)
                + the early hazard of anti-MDA5 rapidly progressive ILD (t < 26 weeks)

so a patient's day of death is one inverse-transform draw at diagnosis (the uniform of
the patient's `death` slot): walk the pieces until the cumulative hazard reaches
-log(1 - u). `base` is solved per subtype so that the subtype's patients, with the mix of
risks the cohort gives them, survive five years in the scenario's `five_year_survival`
share: the published cohorts' figure stays the cohort's, and the risks say who dies and
when. Deaths from adverse events (a fatal infection, simulation/harms.py) come on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from statistics import NormalDist

from iimsim.scenarios.schema import SUBTYPES, Scenario

YEAR_DAYS = 365.25
RP_ILD_DAYS = 26 * 7.0  # the early window of anti-MDA5 rapidly progressive ILD
OLDER_YEARS = 50.0


@dataclass(frozen=True)
class MortalityRules:
    base_per_day: dict[str, float]
    first_year_ratio: float
    ild_ratio: float
    age_ratio: float
    cancer_ratio: float
    cancer_active_days: float
    rp_ild_per_day: float

    def pieces(self, subtype: str, ild: bool, older: bool, cancer: bool, rp_ild: bool,
               base_per_day: float | None = None) -> list[tuple[float, float]]:
        """(from day, hazard per day) in day order; the last lasts."""
        base = self.base_per_day[subtype] if base_per_day is None else base_per_day
        base *= (self.ild_ratio if ild else 1.0) * (self.age_ratio if older else 1.0)
        cuts = sorted({0.0, YEAR_DAYS, *((self.cancer_active_days,) if cancer else ()),
                       *((RP_ILD_DAYS,) if rp_ild else ())})
        out = []
        for day in cuts:
            rate = base * (self.first_year_ratio if day < YEAR_DAYS else 1.0)
            if cancer and day < self.cancer_active_days:
                rate *= self.cancer_ratio
            if rp_ild and day < RP_ILD_DAYS:
                rate += self.rp_ild_per_day
            out.append((day, rate))
        return out

    def death_day(self, u: float, subtype: str, ild: bool, age_years: float, cancer: bool, rp_ild: bool) -> float:
        """Days from diagnosis to death for the uniform `u` (infinite if the hazard runs out)."""
        target = -math.log1p(-u)
        pieces = self.pieces(subtype, ild, age_years >= OLDER_YEARS, cancer, rp_ild)
        for i, (start, rate) in enumerate(pieces):
            end = pieces[i + 1][0] if i + 1 < len(pieces) else math.inf
            if rate > 0 and target <= rate * (end - start):
                return start + target / rate
            target -= rate * (end - start)
        return math.inf


def cumulative_hazard(pieces: list[tuple[float, float]], day: float) -> float:
    total = 0.0
    for i, (start, rate) in enumerate(pieces):
        end = min(pieces[i + 1][0] if i + 1 < len(pieces) else math.inf, day)
        if end > start:
            total += rate * (end - start)
    return total


def compile_mortality(scenario: Scenario) -> MortalityRules:
    m = scenario.mortality
    rp_six_months = m.rp_ild_six_month_mortality
    rules = MortalityRules(
        base_per_day={}, first_year_ratio=m.first_year_hazard_ratio, ild_ratio=m.ild_hazard_ratio,
        age_ratio=m.age_50_or_over_hazard_ratio, cancer_ratio=m.cancer_hazard_ratio,
        cancer_active_days=m.cancer_active_years * YEAR_DAYS,
        rp_ild_per_day=-math.log1p(-min(rp_six_months, 1 - 1e-12)) / RP_ILD_DAYS)
    for subtype in SUBTYPES:
        rules.base_per_day[subtype] = _solve_base(rules, subtype, m.five_year_survival.of(subtype),
                                                  _risk_mix(scenario, subtype))
    return rules


def _risk_mix(scenario: Scenario, subtype: str) -> list[tuple[float, tuple[bool, bool, bool, bool]]]:
    """(share, (ild, older, cancer, rp_ild)) over the subtype's patients, as the cohort draws them: ILD, age,
    cancer independent; rapidly progressive ILD among anti-MDA5 patients, always with ILD."""
    cohort = scenario.cohort
    age = cohort.age_years.of(subtype)
    older = _truncated_share_above(age.mean, age.sd, age.min, age.max, OLDER_YEARS)
    p_ild = cohort.p_ild.of(subtype)
    p_rp = cohort.autoantibodies.of(subtype).get("anti_mda5", 0.0) * cohort.p_rp_ild_given_anti_mda5
    p_cancer = cohort.p_cancer_associated.of(subtype)
    mix = []
    for is_older, cancer, rp in product((False, True), repeat=3):
        share = (older if is_older else 1 - older) * (p_cancer if cancer else 1 - p_cancer) * (p_rp if rp else 1 - p_rp)
        if rp:
            mix.append((share, (True, is_older, cancer, True)))
        else:
            mix += [(share * p_ild, (True, is_older, cancer, False)), (share * (1 - p_ild), (False, is_older, cancer, False))]
    return mix


def _truncated_share_above(mean: float, sd: float, low: float, high: float, at: float) -> float:
    if sd == 0:
        return 1.0 if mean >= at else 0.0
    dist = NormalDist(mean, sd)
    lo, hi = dist.cdf(low), dist.cdf(high)
    return min(1.0, max(0.0, (hi - dist.cdf(min(max(at, low), high))) / (hi - lo)))


def _solve_base(rules: MortalityRules, subtype: str, five_year_survival: float, mix) -> float:
    """The base hazard per day giving the mix a five-year survival of `five_year_survival` (bisection on a
    decreasing function; 0 if the risks alone already kill more)."""
    def survival(base: float) -> float:
        return sum(share * math.exp(-cumulative_hazard(rules.pieces(subtype, *risks, base_per_day=base),
                                                       5 * YEAR_DAYS)) for share, risks in mix)

    if survival(0.0) <= five_year_survival:
        return 0.0
    low, high = 0.0, 1e-3
    while survival(high) > five_year_survival:
        high *= 2
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if survival(mid) > five_year_survival else (low, mid)
    return 0.5 * (low + high)
