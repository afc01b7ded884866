"""Costs from the tidy tables and the scenario's price table.

Every cost is an interval (a rate per day over [start, end): a drug's dose, a day
in an infusion chair, a day in a state, monitoring, prophylaxis) or a point (a
clinic visit (an assessment and its tests), a one-off cost on a transition, an adverse
event, one of the Praxis mandatory steps, a dose of SCIG at home and its training). Discounting is exact: an
interval costs rate * integral of (1 + r)^(-t / 365.25) over it, a point cost * (1 + r)^(-t /
365.25), with t in days since diagnosis.

The payer's categories sum to total_cost, the default for cost-effectiveness. With [costs.societal], paid work
lost to treatment and carers' time are costed beside them (productivity, informal_care), and
societal_total_cost is their sum with the payer's; the costs per year are the payer's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS
from iimsim.pathway.scig import SCIG
from iimsim.reports.resources import add_by_year
from iimsim.reports.summary import mean_and_interval
from iimsim.scenarios.schema import Costs, Societal
from iimsim.reports.discounting import daily_discount, discounted_days  # noqa: F401  (re-exported)
from iimsim.simulation.tables import COST_CATEGORIES, SCHEMAS, SOCIETAL_COST_CATEGORIES, YEAR_DAYS

CATEGORIES = COST_CATEGORIES  # the payer's
SOCIETAL_CATEGORIES = SOCIETAL_COST_CATEGORIES  # beyond the payer's
ALL_CATEGORIES = (*CATEGORIES, *SOCIETAL_CATEGORIES)
# Units of a dose rate per day of treatment.
PER_DAY = {"mg/day": 1.0, "mg/week": 1 / 7, "mg/48h": 1 / 2, "g/day": 1.0}
CLINIC_TRIGGERS = ("triage", "respond", "fail", "intolerance", "flare", "relapse", "withdraw")
INFUSED_OR_GC = set(GLUCOCORTICOIDS) | {"ivig", SCIG}  # no monitoring of an immunosuppressant
PATIENT_COST_SCHEMA = SCHEMAS["patient_costs"]


def _patient_rows(patients: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Each row of `frame`'s position in `patients` (matched on replication and patient_id; -1 if absent)."""
    def keys(table: pd.DataFrame) -> np.ndarray:
        return table["replication"].to_numpy(np.int64) << 32 | table["patient_id"].to_numpy(np.int64)

    return pd.Index(keys(patients)).get_indexer(keys(frame))


def _lookup(column: pd.Series, mapping: Mapping[str, float], default: float = 0.0) -> np.ndarray:
    """mapping[value] for each value of a string column (`default` where absent): one dictionary lookup per
    distinct value, so a million dose rows cost a handful of lookups (the column may be categorical)."""
    codes, values = pd.factorize(column)
    table = np.array([mapping.get(str(value), default) for value in values] + [default], dtype=float)
    return table[codes]  # a missing value's code is -1: the default at the end


def _isin(column: pd.Series, names) -> np.ndarray:
    return _lookup(column, dict.fromkeys(names, 1.0)) > 0


def _next_day_or_followup(rows: np.ndarray, day: np.ndarray, followup: np.ndarray) -> np.ndarray:
    """For rows sorted by patient then day: the next row's day if it is the same patient's, else the
    patient's end of follow-up (when the last interval closes)."""
    end = followup[rows].astype(float)
    same = rows[1:] == rows[:-1]
    end[:-1][same] = day[1:][same]
    return end


@dataclass
class CostItems:
    """Every cost of a batch as arrays: intervals (a rate per day over [start, end)) and points (a cost on a
    day). `*_row` is the patient's position in the patients table, `*_category` an index into ALL_CATEGORIES."""
    interval_row: np.ndarray
    interval_category: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cost_per_day: np.ndarray
    point_row: np.ndarray
    point_category: np.ndarray
    day: np.ndarray
    cost: np.ndarray


def cost_items(tables: dict[str, pd.DataFrame], costs: Costs) -> CostItems:
    """The intervals and points that `compute_costs` prices, from the tables and the price table."""
    patients, events, doses = tables["patients"], tables["events"], tables["doses"]
    followup = patients["followup_days"].to_numpy(dtype=float)
    category_index = {name: index for index, name in enumerate(ALL_CATEGORIES)}
    intervals: list[tuple] = []
    points: list[tuple] = []

    def add_interval(rows, mask, category: str, start, end, per_day) -> None:
        mask = np.asarray(mask, bool) & (rows >= 0)  # a row whose patient is not in the batch counts nowhere
        if mask.any():
            intervals.append((rows[mask], np.full(mask.sum(), category_index[category]), np.asarray(start, float)[mask],
                              np.asarray(end, float)[mask], np.broadcast_to(np.asarray(per_day, float), mask.shape)[mask]))

    def add_point(rows, mask, category: str, day, cost) -> None:
        mask = np.asarray(mask, bool) & (rows >= 0)
        if mask.any():
            points.append((rows[mask], np.full(mask.sum(), category_index[category]), np.asarray(day, float)[mask],
                           np.broadcast_to(np.asarray(cost, float), mask.shape)[mask]))

    rows = _patient_rows(patients, doses)
    start, end = doses["start_day"].to_numpy(dtype=float), doses["end_day"].to_numpy(dtype=float)
    amount_per_day = doses["dose"].to_numpy(dtype=float) * _lookup(doses["dose_unit"], PER_DAY, np.nan)
    ivig = _isin(doses["drug"], ["ivig"])
    iv = _isin(doses["route"], ["iv"])
    add_interval(rows, ~ivig, "drugs", start, end, amount_per_day * _lookup(doses["drug"], costs.price_per_mg))
    add_interval(rows, ivig, "ivig", start, end, amount_per_day * costs.ivig_price_per_g)
    add_interval(rows, iv, "infusion_chair", start, end, costs.infusion_chair_day)
    add_interval(rows, ~_isin(doses["drug"], INFUSED_OR_GC) & ~iv, "monitoring", start, end,
                 costs.monitoring_per_day_on_immunosuppressant)
    add_interval(rows, _isin(doses["drug"], GLUCOCORTICOIDS), "prophylaxis", start, end,
                 costs.bone_protection_per_day)
    # Immunoglobulin at home: the product by the gram, the pump's consumables for each dose, and the nurse's
    # training visits before a patient's first dose at home (no infusion chair).
    scig = _isin(doses["drug"], [SCIG])
    add_interval(rows, scig, "scig", start, end, amount_per_day * costs.scig_price_per_g)
    add_point(rows, scig, "scig", start, costs.scig_supplies_per_dose)
    add_point(rows, _first_of_patient(rows, start, scig), "scig_training", start,
              costs.scig_training_visits * costs.home_nurse_visit)
    dose_rows, dose_start, dose_end = rows, start, end

    rows, day = _patient_rows(patients, events), events["day"].to_numpy(dtype=float)
    transition = events["is_transition"].to_numpy(dtype=bool)
    # PJP prophylaxis runs from each start to the patient's next start or stop, else to the end of follow-up.
    pjp = np.flatnonzero(_isin(events["event"], ["pjp_prophylaxis_start", "pjp_prophylaxis_stop"]))
    pjp = pjp[np.lexsort((day[pjp], rows[pjp]))]
    is_start = _isin(events["event"].iloc[pjp], ["pjp_prophylaxis_start"])
    pjp_end = _next_day_or_followup(rows[pjp], day[pjp], followup)
    add_interval(rows[pjp], is_start, "prophylaxis", day[pjp], pjp_end, costs.pjp_prophylaxis_per_day)

    # A state lasts from the transition into it to the patient's next transition (or the end of follow-up).
    moves = np.flatnonzero(transition)
    moves = moves[np.lexsort((day[moves], rows[moves]))]
    state_per_day = _lookup(events["to_state"].iloc[moves], costs.state_per_day)
    add_interval(rows[moves], state_per_day > 0, "states", day[moves],
                 _next_day_or_followup(rows[moves], day[moves], followup), state_per_day)

    if "assessments" in tables:  # every assessment is a clinic visit, with its tests (CK, strength)
        visits = tables["assessments"]
        visit_rows, visit_day = _patient_rows(patients, visits), visits["day"].to_numpy(dtype=float)
        add_point(visit_rows, np.ones(len(visits), bool), "clinic_visits", visit_day,
                  costs.clinic_visit + costs.assessment_tests)
    else:  # tables from before the disease course: a visit where the clinic decided something
        clinic = transition & _isin(events["event"], CLINIC_TRIGGERS)
        visit_rows, visit_day = rows[clinic], day[clinic]
        add_point(visit_rows, np.ones(len(visit_rows), bool), "clinic_visits", visit_day, costs.clinic_visit)
    add_point(rows, _isin(events["event"], costs.care_step), "care", day, _lookup(events["event"], costs.care_step))
    harms = np.flatnonzero(_isin(events["event"], [name for name in _distinct(events["event"])
                                                    if name.startswith("ae_")]))
    # PJP is a serious infection in the events table; its detail names it, and it has a price of its own.
    harm = np.where(events["detail"].iloc[harms].astype(str).str.contains("Pneumocystis"), "pjp",
                    events["event"].iloc[harms].astype(str).str.removeprefix("ae_"))
    harm_cost = np.array([costs.adverse_event.get(name, 0.0) for name in harm], dtype=float)
    add_point(rows[harms], harm_cost > 0, "adverse_events", day[harms], harm_cost)
    one_off = np.where(transition, _lookup(events["event"], costs.transition), 0.0)
    add_point(rows, one_off > 0, "transitions", day, one_off)

    if costs.societal is not None:
        chair_days = (dose_rows[iv], dose_start[iv], dose_end[iv])
        stays = (rows[moves], day[moves], _next_day_or_followup(rows[moves], day[moves], followup),
                 events["to_state"].iloc[moves])
        # (tables without ages: every patient an adult not in paid work)
        ages = (patients["age_years"].to_numpy(dtype=float) if "age_years" in patients
                else np.full(len(patients), np.nan))
        _add_societal(costs.societal, ages, add_interval, add_point, chair_days, (dose_rows[scig], dose_start[scig]),
                      (visit_rows, visit_day), stays)

    def joined(parts: list[tuple], count: int) -> list[np.ndarray]:
        if not parts:
            return [np.zeros(0, np.int64), np.zeros(0, np.int64)] + [np.zeros(0) for _ in range(count - 2)]
        return [np.concatenate(column) for column in zip(*parts)]

    return CostItems(*joined(intervals, 5), *joined(points, 4))


def _add_societal(s: Societal, age_years: np.ndarray, add_interval, add_point, chair_days: tuple,
                  home_doses: tuple, visits: tuple, stays: tuple) -> None:
    """The societal perspective's items: paid work lost on each infusion day, clinic visit and dose at home
    (expected hours: the patient of working age, times the share in paid work), and carers' hours on infusion days
    and at visits (a parent's, below working age) and at home in each state, every hour at the wage."""
    youngest, oldest = s.working_age_years

    def age(rows, day):
        return age_years[rows] + day / YEAR_DAYS

    def at_work(rows, day):
        a = age(rows, day)
        return ((a >= youngest) & (a < oldest)) * s.share_in_paid_work

    def carer_hours(rows, day, adult_hours, child_hours):
        return np.where(age(rows, day) < youngest, child_hours, adult_hours)

    wage = s.wage_per_hour
    rows, start, end = chair_days
    every = np.ones(len(rows), bool)
    add_interval(rows, every, "productivity", start, end, wage * s.work_hours_per_infusion_day * at_work(rows, start))
    add_interval(rows, every, "informal_care", start, end, wage * carer_hours(
        rows, start, s.carer_hours_per_infusion_day, s.child_carer_hours_per_infusion_day))
    rows, day = home_doses
    add_point(rows, np.ones(len(rows), bool), "productivity", day, wage * s.work_hours_per_home_dose * at_work(rows, day))
    rows, day = visits
    every = np.ones(len(rows), bool)
    add_point(rows, every, "productivity", day, wage * s.work_hours_per_clinic_visit * at_work(rows, day))
    add_point(rows, every, "informal_care", day, wage * carer_hours(
        rows, day, s.carer_hours_per_clinic_visit, s.child_carer_hours_per_clinic_visit))
    rows, start, end, state = stays
    help_per_day = wage * _lookup(state, s.carer_hours_per_day_in_state)
    add_interval(rows, help_per_day > 0, "informal_care", start, end, help_per_day)


def _first_of_patient(rows: np.ndarray, day: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rows of `mask` that are each patient's first (earliest `day`) among them."""
    first = np.zeros(len(rows), bool)
    chosen = np.flatnonzero(mask & (rows >= 0))
    if len(chosen):
        chosen = chosen[np.lexsort((day[chosen], rows[chosen]))]
        first[chosen[np.r_[True, rows[chosen][1:] != rows[chosen][:-1]]]] = True
    return first


def _distinct(column: pd.Series) -> list[str]:
    return [str(value) for value in pd.unique(column.dropna())] if len(column) else []


def compute_costs(tables: dict[str, pd.DataFrame], costs: Costs, horizon_days: float, by_year: bool = True
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(per patient: each category's cost and the total, undiscounted and discounted to diagnosis;
    per replication, calendar year of the horizon and category: cost and cost discounted to the start of the
    horizon, intervals split at years). In a closed cohort calendar years are years since diagnosis; in a region,
    costs before the horizon starts (prevalent patients' earlier treatment) count only per patient.
    `by_year=False` skips the calendar years (None in their place): per patient only, about half the work."""
    items = cost_items(tables, costs)
    patients = tables["patients"]
    delta = daily_discount(costs.discount_rate_per_year)
    n, width, payer = len(patients), len(ALL_CATEGORIES), len(CATEGORIES)
    start, end, per_day = items.start, items.end, items.cost_per_day

    def per_patient(interval_values: np.ndarray, point_values: np.ndarray) -> np.ndarray:
        cell = np.concatenate([items.interval_row * width + items.interval_category,
                               items.point_row * width + items.point_category])
        values = np.concatenate([interval_values, point_values])
        return np.bincount(cell, values, minlength=n * width).reshape(n, width)

    by_patient = pd.DataFrame({"replication": patients["replication"].to_numpy(),
                               "patient_id": patients["patient_id"].to_numpy()})
    for suffix, table in (("", per_patient(per_day * (end - start), items.cost)),
                          ("_discounted", per_patient(per_day * discounted_days(start, end, delta),
                                                      items.cost * np.exp(-delta * items.day)))):
        for index, category in enumerate(ALL_CATEGORIES):
            by_patient[f"{category}_cost{suffix}"] = table[:, index]
        by_patient[f"total_cost{suffix}"] = table[:, :payer].sum(axis=1)
        by_patient[f"societal_total_cost{suffix}"] = by_patient[f"total_cost{suffix}"] + table[:, payer:].sum(axis=1)
    by_patient = by_patient[[f.name for f in PATIENT_COST_SCHEMA]]
    if not by_year:
        return by_patient, None

    years = max(1, math.ceil(horizon_days / YEAR_DAYS - 1e-9))
    diagnosis = patients["diagnosis_day"].to_numpy(dtype=float)
    replications, patient_replication = np.unique(patients["replication"].to_numpy(), return_inverse=True)
    cells = len(replications) * width  # (replication, category) within a year
    start, end = start + diagnosis[items.interval_row], end + diagnosis[items.interval_row]  # calendar days
    interval_cell = patient_replication[items.interval_row] * width + items.interval_category
    day = items.day + diagnosis[items.point_row]
    edges = np.arange(years + 1) * YEAR_DAYS
    point_year = np.searchsorted(edges, day, side="right") - 1  # edges[y] <= day < edges[y + 1]
    in_horizon = (point_year >= 0) & (point_year < years)
    point_cell = (point_year * cells + patient_replication[items.point_row] * width + items.point_category)[in_horizon]
    point_cost = np.bincount(point_cell, items.cost[in_horizon], minlength=years * cells)
    point_discounted = np.bincount(point_cell, (items.cost * np.exp(-delta * day))[in_horizon],
                                   minlength=years * cells)
    rows = []
    for year in range(years):
        a, b = np.maximum(start, edges[year]), np.minimum(end, edges[year + 1])
        inside = b > a
        cell = interval_cell[inside]
        cost = np.bincount(cell, per_day[inside] * (b - a)[inside], minlength=cells)
        discounted = np.bincount(cell, per_day[inside] * discounted_days(a[inside], b[inside], delta),
                                 minlength=cells)
        for r, replication in enumerate(replications):
            for index, name in enumerate(CATEGORIES):
                k = r * width + index
                rows.append({"replication": int(replication), "year": year + 1, "category": name,
                             "cost": cost[k] + point_cost[year * cells + k],
                             "cost_discounted": discounted[k] + point_discounted[year * cells + k]})
    return by_patient, pd.DataFrame(rows, columns=["replication", "year", "category", "cost", "cost_discounted"])


# What costing reads of each table: the rest of a run's columns are never loaded.
COST_COLUMNS_READ = {
    "patients": ["replication", "patient_id", "followup_days", "diagnosis_day", "age_years"],
    "events": ["replication", "patient_id", "day", "event", "to_state", "is_transition", "detail"],
    "doses": ["replication", "patient_id", "drug", "route", "dose", "dose_unit", "start_day", "end_day"],
    "assessments": ["replication", "patient_id", "day"],
}
STRING_COLUMNS = {"events": ["event", "to_state", "detail"], "doses": ["drug", "route", "dose_unit"]}


def run_costs(run_dir, costs: Costs, horizon_days: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Costs of a saved run, batch by batch when its Parquet row groups line up (one per batch)."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from iimsim.reports.export import read_table

    run_dir = Path(run_dir)
    names = ["patients", "events", "doses"]
    if any((run_dir / f"assessments.{ext}").exists() for ext in ("parquet", "csv")):
        names.append("assessments")  # runs since the disease course: visits are assessments
    files = {name: run_dir / f"{name}.parquet" for name in names}
    # Strings come as dictionaries (categoricals): a price is looked up once per distinct drug or event.
    readers = {name: pq.ParquetFile(path, read_dictionary=STRING_COLUMNS.get(name))
               for name, path in files.items() if path.exists()}
    groups = {reader.metadata.num_row_groups for reader in readers.values()}
    if len(readers) == len(files) and len(groups) == 1:
        parts = [compute_costs({name: reader.read_row_group(i, columns=COST_COLUMNS_READ[name]).to_pandas()
                                for name, reader in readers.items()}, costs, horizon_days)
                 for i in range(groups.pop())]
    else:
        parts = [compute_costs({name: read_table(run_dir, name, columns=COST_COLUMNS_READ[name]).to_pandas()
                                for name in files}, costs, horizon_days)]
    by_patient = pd.concat([p for p, _ in parts], ignore_index=True)
    by_year = None
    for _, part in parts:  # summed as a run sums its batches
        by_year = add_by_year(by_year, part)
    return by_patient, by_year


def budget_within_horizon(cost_by_year: pd.DataFrame, replications) -> dict[str, tuple[float, float, float]]:
    """The cost of all years of the horizon per replication (a replication with no cost counts 0): mean, 95% CI
    low and high, undiscounted and discounted, keyed by their labels."""
    each = cost_by_year.groupby("replication")[["cost", "cost_discounted"]].sum().reindex(
        sorted(set(replications)), fill_value=0)
    return {"total_cost_within_horizon": mean_and_interval(each["cost"]),
            "total_cost_within_horizon_discounted": mean_and_interval(each["cost_discounted"])}
