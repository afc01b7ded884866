"""Glucocorticoid adverse events: how each one's rate follows the dose, as its source defines it.

A harm's rate is its rate off glucocorticoid times a ratio, either
- by the band today's prednisone-equivalent dose falls in (`dose_band_from_mg_per_day`: PJP, fracture, whose
  sources give rates by current daily dose), or
- by the patient's weighted recent dose (`memory_days`): the dose followed as a first-order lag with that time
  constant, so that how long and how much the patient has taken in the last months counts, as the cited
  weighted-cumulative-dose figures say (diabetes, serious infection, cataract); the ratio is read off the
  source's points, piecewise linear between them;
times a ratio while PJP prophylaxis or bone protection is on. simulation/hazards.py keeps each patient's clock.

A serious infection (PJP among them) may kill: the patient dies on its day. New-onset diabetes and cataract are
counted once; infections and fractures can recur.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from iimsim.scenarios.schema import AdverseEvents, Harm
from iimsim.simulation.mortality import interpolate
from iimsim.simulation.tables import YEAR_DAYS

HARMS = ("new_diabetes", "serious_infection", "pjp", "fracture", "cataract")
# The events table's names: PJP is a serious infection (its detail names it).
EVENT_OF = {"new_diabetes": "ae_new_diabetes", "serious_infection": "ae_serious_infection",
            "pjp": "ae_serious_infection", "fracture": "ae_fracture", "cataract": "ae_cataract"}
DETAIL_OF = {"new_diabetes": "new-onset diabetes", "serious_infection": "serious infection",
             "pjp": "serious infection: Pneumocystis pneumonia", "fracture": "osteoporotic fracture",
             "cataract": "cataract"}
PER_DAY = 1.0 / (100.0 * YEAR_DAYS)  # a rate per 100 patient-years, per patient-day


@dataclass(frozen=True)
class HarmRule:
    name: str
    off_rate_per_day: float
    band_from_mg_per_day: tuple[float, ...]
    band_rate_per_day: tuple[float, ...]
    memory_days: float | None  # the weighted recent dose's time constant; None: by today's dose band
    weighted_dose_points: tuple[float, ...]
    rate_ratio_points: tuple[float, ...]
    recurrent: bool
    case_fatality: float
    ratio_on_pjp_prophylaxis: float
    ratio_on_bone_protection: float
    only_without_diabetes: bool

    @classmethod
    def of(cls, name: str, harm: Harm) -> HarmRule:
        return cls(name, harm.rate_off_glucocorticoid_per_100_patient_years * PER_DAY,
                   tuple(harm.dose_band_from_mg_per_day),
                   tuple(rate * PER_DAY for rate in harm.rate_per_100_patient_years),
                   harm.memory_days, tuple(harm.weighted_dose_mg_per_day), tuple(harm.rate_ratio),
                   harm.recurrent, harm.case_fatality, harm.rate_ratio_on_pjp_prophylaxis,
                   harm.rate_ratio_on_bone_protection, harm.only_without_diabetes)

    def rate_per_day(self, dose_mg_per_day: float, weighted_mg_per_day: float, pjp_prophylaxis: bool,
                     bone_protection: bool) -> float:
        if self.memory_days is not None:
            rate = self.off_rate_per_day * interpolate(self.weighted_dose_points, self.rate_ratio_points,
                                                       weighted_mg_per_day)
        elif dose_mg_per_day <= 0:
            rate = self.off_rate_per_day
        else:
            rate = self.band_rate_per_day[bisect_right(self.band_from_mg_per_day, dose_mg_per_day) - 1]
        if pjp_prophylaxis:
            rate *= self.ratio_on_pjp_prophylaxis
        if bone_protection:
            rate *= self.ratio_on_bone_protection
        return rate


def compile_harms(adverse_events: AdverseEvents) -> tuple[HarmRule, ...]:
    return tuple(HarmRule.of(name, getattr(adverse_events, name)) for name in HARMS)
