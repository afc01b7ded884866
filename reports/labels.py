"""What every number shown to a planner is called, its unit and how it is written: the one table of labels.

The command line, both HTML reports and the app read their labels here (`label(key)`), for the summary's metrics
and for the columns of the per-year tables. A share is written as a percentage (a difference of shares in
percentage points), a count with thousands separators, money with the scenario's currency and price year
("38,002 GBP (2024 prices)"). A key with no label raises `UnknownLabel`: nothing is shown by its identifier.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.pathway.definition import STATE_NAMES
from iimsim.pathway.vocabulary import DRUGS

PERCENT = "%"
MONEY = "money"  # the unit of a money figure: the scenario's currency at its price year


class UnknownLabel(KeyError):
    """A metric or column with no entry in the table of labels."""

    def __str__(self) -> str:
        return f"no label for {self.args[0]!r}: add it to iimsim/reports/labels.py"


@dataclass(frozen=True)
class Money:
    """The currency and price year every money figure is written in."""

    currency: str
    price_year: int

    @classmethod
    def of(cls, costs) -> Money:
        """From a scenario's [costs] section."""
        return cls(costs.currency, costs.price_year)

    @property
    def unit(self) -> str:
        return f"{self.currency} ({self.price_year} prices)"

    @property
    def heading(self) -> str:
        return f"{self.currency}, {self.price_year} prices"

    def text(self, value: float, signed: bool = False) -> str:
        """38,002 GBP (2024 prices)."""
        return f"{_digits(value, 0, signed)} {self.unit}"


@dataclass(frozen=True)
class Label:
    text: str  # what a planner reads: "Share reached remission"
    unit: str  # "%", "g", "days", MONEY, ...; "" for a plain count named by its text
    decimals: int = 0

    def unit_text(self, money: Money | None = None, difference: bool = False) -> str:
        """The unit as written after a number: "g", "GBP (2024 prices)", "percentage points"."""
        if self.unit == MONEY:
            if money is None:
                raise ValueError(f"{self.text}: a money figure needs the scenario's currency and price year")
            return money.unit
        if self.unit == PERCENT and difference:
            return "percentage points"
        return self.unit

    def heading(self, money: Money | None = None) -> str:
        """A column's heading: the text and its unit, "IVIG given (g)", "Cost (GBP, 2024 prices)"."""
        if self.unit == MONEY:
            self.unit_text(money)
            return f"{self.text} ({money.heading})"
        return f"{self.text} ({self.unit})" if self.unit else self.text

    def number(self, value: float, signed: bool = False, difference: bool = False) -> str:
        """The value alone, for a table cell under `heading`: "67.1", "20,453"; "" for a missing value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if self.unit == PERCENT:
            return _digits(100 * value, self.decimals + difference, signed)
        return _digits(value, self.decimals, signed)

    def shown(self, value: float, money: Money | None = None, signed: bool = False, difference: bool = False) -> str:
        """The value with its unit: "67.1%", "20,453 g", "38,002 GBP (2024 prices)", "+0.08 percentage points"."""
        number = self.number(value, signed or difference, difference)
        if not number:
            return "n/a"
        unit = self.unit_text(money, difference)
        return f"{number}%" if unit == PERCENT else f"{number} {unit}".rstrip()

    def interval(self, low: float, high: float, money: Money | None = None, difference: bool = False) -> str:
        """"95% CI 51.8% to 82.3%", or why there is none."""
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
            return "no interval from one replication"
        high_text = (self.number(high, difference, difference) if self.unit == MONEY  # the value named the money
                     else self.shown(high, money, difference, difference))
        return f"95% CI {self.number(low, difference, difference)} to {high_text}"


def _digits(value: float, decimals: int, signed: bool) -> str:
    text = f"{value:{'+' if signed else ''},.{decimals}f}"
    return text.lstrip("+-") if not text.strip("+-0.,") else text  # what rounds to 0 has no sign


# -- the table -----------------------------------------------------------------------------------------------

_PER_REPLICATION = {
    "patients": Label("Patients", "patients"),
    "patient_years": Label("Patient-years within the horizon", "patient-years"),
    "patient_years_before_horizon": Label("Patient-years before the horizon", "patient-years"),
    "deaths": Label("Deaths", "patients"),
    "deaths_from_infection": Label("Deaths from a serious infection", "patients"),
    "ivig_g_total": Label("IVIG given", "g"),
    "ivig_g_before_horizon": Label("IVIG given before the horizon", "g"),
    "scig_g_total": Label("Subcutaneous immunoglobulin given at home", "g"),
    "scig_doses_at_home": Label("Subcutaneous immunoglobulin doses at home (no chair)", "doses"),
    "infusion_chair_days_total": Label("Infusion chair-days", "chair-days"),
    "infusion_chair_days_before_horizon": Label("Infusion chair-days before the horizon", "chair-days"),
    "infusion_visits_not_given": Label("IV visits not given (still queueing at the end)", "visits"),
}
_PER_PATIENT = {
    "share_died": Label("Share died", PERCENT, 1),
    "share_reached_remission": Label("Share reached remission", PERCENT, 1),
    "share_never_responded": Label("Share never reached remission", PERCENT, 1),
    "share_iv_pulse": Label("Share given an IV methylprednisolone pulse", PERCENT, 1),
    "first_year_mortality": Label("Died within a year of diagnosis", PERCENT, 1),
    "median_time_to_remission_days": Label("Median time to remission", "days"),
    "mean_pred_cum_mg": Label("Cumulative prednisone-equivalent dose, per patient", "mg"),
    "mean_pred_cum_mg_first_year": Label("Prednisone-equivalent dose in the first year, per patient", "mg"),
    "mean_days_pred_ge_20mg": Label("Days at prednisone-equivalent >= 20 mg/day, per patient", "days"),
    "mean_days_pred_gt_7_5mg": Label("Days at prednisone-equivalent > 7.5 mg/day, per patient", "days"),
    "median_days_to_pred_le_5mg": Label("Median time to glucocorticoid <= 5 mg/day", "days"),
    "flares_per_patient_year": Label("Flares and relapses", "per patient-year", 2),
    "ivig_g_per_patient_year": Label("IVIG within the horizon", "g/patient-year", 1),
    "ae_new_diabetes_per_100_patient_years": Label("New-onset diabetes", "per 100 patient-years", 2),
    "ae_serious_infection_per_100_patient_years": Label("Serious infections (PJP included)",
                                                        "per 100 patient-years", 2),
    "ae_pjp_per_100_patient_years": Label("Pneumocystis pneumonia", "per 100 patient-years", 2),
    "ae_fracture_per_100_patient_years": Label("Osteoporotic fractures", "per 100 patient-years", 2),
    "ae_cataract_per_100_patient_years": Label("Cataracts", "per 100 patient-years", 2),
    "infusion_unit_utilisation": Label("Infusion chair-hours used", PERCENT, 1),
    "infusion_unit_mean_queue_sessions": Label("Sessions queueing for a chair, mean over opening hours",
                                               "sessions", 2),
    "infusion_unit_max_daily_queue_sessions": Label("Longest day's mean queue", "sessions", 2),
    "mean_total_cost": Label("Cost per patient over follow-up", MONEY),
    "mean_total_cost_discounted": Label("Discounted cost per patient", MONEY),
    "mean_societal_cost": Label("Societal cost per patient over follow-up (payer's and time lost)", MONEY),
    "mean_societal_cost_discounted": Label("Discounted societal cost per patient", MONEY),
    "mean_life_years": Label("Life-years per patient", "years", 3),
    "mean_life_years_discounted": Label("Discounted life-years per patient", "years", 3),
    "mean_qalys": Label("QALYs per patient", "QALYs", 3),
    "mean_qalys_discounted": Label("Discounted QALYs per patient", "QALYs", 3),
    "mean_ae_qaly_loss_discounted": Label("Discounted QALYs lost to adverse events, per patient", "QALYs", 4),
    "mean_glucocorticoid_qaly_loss_discounted": Label("Discounted QALYs lost to being on glucocorticoid, per "
                                                      "patient", "QALYs", 4),
}
# Columns of the per-year tables (resources, the region, the budget) and of the costs table.
_COLUMNS = {
    "year": Label("Year", ""),
    "ivig_g": Label("IVIG given", "g"),
    "ivig_infusion_days": Label("IVIG infusion days", "days"),
    "rituximab_infusions": Label("Rituximab infusions", ""),
    "cyclophosphamide_infusions": Label("Cyclophosphamide infusions", ""),
    "iv_pulse_courses": Label("IV pulse courses", ""),
    "infusion_chair_days": Label("Infusion chair-days", "chair-days"),
    "new_patients": Label("New patients", ""),
    "patients_alive_at_start": Label("Patients under care at the year's start", ""),
    "patients_in_refractory": Label("Patients at a refractory line", ""),
    "cost": Label("Cost", MONEY),
    "cost_discounted": Label("Cost, discounted", MONEY),
    "mean_per_patient": Label("Mean per patient", MONEY),
    "mean_per_patient_discounted": Label("Mean per patient, discounted", MONEY),
    "per_patient_year": Label("Per patient-year", MONEY),
    "total_cost_within_horizon": Label("Budget within the horizon", MONEY),
    "total_cost_within_horizon_discounted": Label("Budget within the horizon, discounted", MONEY),
    "visits": Label("Visits due", ""),
    "visits_given": Label("Visits given", ""),
    "mean_wait_days": Label("Mean wait, closed hours included", "days", 1),
    "mean_queue_wait_days": Label("Mean wait for a free chair", "days", 1),
    "p95_queue_wait_days": Label("95th percentile wait for a free chair", "days", 1),
    "share_queued_over_7_days": Label("Waiting more than 7 days for a chair", PERCENT, 1),
    "infusion_chair_days_per_year_median": Label("Infusion chair-days in a median year", "chair-days"),
    "infusion_chair_days_per_year_p90": Label("Infusion chair-days in a bad year (90th percentile)", "chair-days"),
    "ivig_g_per_year_median": Label("IVIG in a median year", "g"),
    "ivig_g_per_year_p90": Label("IVIG in a bad year (90th percentile)", "g"),
}
LABELS: dict[str, Label] = {**_PER_REPLICATION, **_PER_PATIENT, **_COLUMNS}

_IV_DRUGS = (*DRUGS, "methylprednisolone")
_NAMES = {"drug": {"ivig": "IVIG", "methylprednisolone": "IV methylprednisolone"},
          "state": {"drug_free_remission": "drug-free remission"},
          "flag": {flag: flag.removeprefix("audit_").replace("gc_", "glucocorticoid_").replace("_", " ")
                   for flag in AUDIT_COLUMNS}}
_WORDS = {"drug": _IV_DRUGS, "state": STATE_NAMES, "flag": AUDIT_COLUMNS}
# Families of keys, one entry each: {drug}, {state}, {flag} take the known names; {year}, {line}, {threshold} digits.
_FAMILIES = [
    ("share_off_glucocorticoid_year_{year}", Label("Share off glucocorticoid {year} year(s) after diagnosis",
                                                   PERCENT, 1)),
    ("share_drug_free_remission_year_{year}", Label("Share in drug-free remission {year} year(s) after diagnosis",
                                                    PERCENT, 1)),
    ("share_reached_line_{line}", Label("Share reaching line {line} or beyond", PERCENT, 1)),
    ("mean_days_in_{state}", Label("Days in {state}, per patient", "days")),
    ("share_{flag}", Label("Share flagged by the guideline audit: {flag}", PERCENT, 1)),
    ("infusion_chair_days_{drug}", Label("Infusion chair-days, {drug}", "chair-days")),
    ("iv_visits_{drug}", Label("IV visits, {drug}", "visits")),
    ("mean_wait_days_{drug}", Label("Days from due to started, {drug}, mean", "days", 2)),
    ("mean_queue_wait_days_{drug}", Label("Days waiting for a free chair, {drug}, mean", "days", 2)),
    ("p95_queue_wait_days_{drug}", Label("Days waiting for a free chair, {drug}, 95th percentile", "days", 1)),
    ("net_monetary_benefit_at_{threshold}", Label("Net monetary benefit per patient at {threshold} per QALY",
                                                  MONEY)),
    ("patients_in_{state}", Label("Patients in {state}", "")),
]


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else
                    (f"(?P<{part}>{'|'.join(map(re.escape, _WORDS[part]))})" if part in _WORDS
                     else f"(?P<{part}>\\d+)") for i, part in enumerate(parts))
    return re.compile(regex)


_COMPILED = [(_pattern(template), entry) for template, entry in _FAMILIES]


def _word(kind: str, value: str) -> str:
    if kind == "threshold":
        return f"{int(value):,}"
    return _NAMES.get(kind, {}).get(value, value.replace("_", " "))


def label(key: str) -> Label:
    """The label of a summary metric or a table column; `UnknownLabel` if the table has none."""
    if key in LABELS:
        return LABELS[key]
    for pattern, entry in _COMPILED:
        match = pattern.fullmatch(key)
        if match:
            words = {kind: _word(kind, value) for kind, value in match.groupdict().items()}
            text = entry.text.format(**words)
            return Label(text[0].upper() + text[1:], entry.unit, entry.decimals)
    raise UnknownLabel(key)


def shown(key: str, value: float, money: Money | None = None, signed: bool = False) -> str:
    """`key`'s value with its unit, as a planner reads it."""
    return label(key).shown(value, money, signed)
