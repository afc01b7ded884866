"""IV resources per year (IVIG, infusions, pulses, chair-days), and adding up per-year frames batch by batch.

A run sums them per replication as its batches go by and saves them beside its tables
(`resources_by_year.csv`, `costs_by_year.csv`: one row per replication and year), so the report
of a large run reads two small files instead of every dose row again, and gives each year's
mean per replication with its 95% interval; a run saved without them is summed here from its
doses table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iimsim.simulation.tables import YEAR_DAYS

COSTS_BY_YEAR_FILE = "costs_by_year.csv"
RESOURCES_BY_YEAR_FILE = "resources_by_year.csv"
IV_DOSE_COLUMNS = ["replication", "patient_id", "drug", "route", "start_day", "end_day", "dose"]


def resources_by_year(doses: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """IV treatment per year since diagnosis: IVIG grams and days, infusions, pulses, chair-days.

    Amounts are split exactly at year boundaries; infusions and pulse courses count in the
    year they start. Results for parts of a table add up (runs and reports sum batches).
    """
    years = max(1, math.ceil(horizon / YEAR_DAYS - 1e-9))
    start, end = doses["start_day"].to_numpy(), doses["end_day"].to_numpy()
    iv = (doses["route"] == "iv").to_numpy()
    ivig = (doses["drug"] == "ivig").to_numpy()
    ivig_g_per_day = np.where(ivig, doses["dose"].to_numpy(), 0.0)
    start_year = np.clip((start // YEAR_DAYS).astype(int), 0, years - 1)
    within = start >= 0  # a region's prevalent patients were treated before the horizon too
    columns = {name: np.zeros(years) for name in ("ivig_g", "ivig_infusion_days", "infusion_chair_days")}
    for year in range(years):  # one year at a time: memory stays one row's worth per dose row
        overlap = np.clip(np.minimum(end, (year + 1) * YEAR_DAYS) - np.maximum(start, year * YEAR_DAYS), 0, None)
        columns["ivig_g"][year] = overlap @ ivig_g_per_day
        columns["ivig_infusion_days"][year] = overlap @ ivig
        columns["infusion_chair_days"][year] = overlap @ iv

    def started(mask):
        return np.bincount(start_year[mask & within], minlength=years)

    return pd.DataFrame({
        "year": np.arange(1, years + 1),
        "ivig_g": columns["ivig_g"],
        "ivig_infusion_days": columns["ivig_infusion_days"],
        "rituximab_infusions": started((doses["drug"] == "rituximab").to_numpy()),
        "cyclophosphamide_infusions": started((doses["drug"] == "cyclophosphamide").to_numpy()),
        "iv_pulse_courses": started((doses["drug"] == "methylprednisolone").to_numpy()),
        "infusion_chair_days": columns["infusion_chair_days"],
    })


def to_calendar(rows: pd.DataFrame, diagnosis_day: pd.Series) -> pd.DataFrame:
    """Dose rows with start_day and end_day moved from days since diagnosis to calendar days."""
    shift = pd.MultiIndex.from_frame(rows[["replication", "patient_id"]]).map(diagnosis_day).to_numpy(dtype=float)
    return rows.assign(start_day=rows["start_day"].to_numpy() + shift, end_day=rows["end_day"].to_numpy() + shift)


def add_by_year(total: pd.DataFrame | None, part: pd.DataFrame) -> pd.DataFrame:
    """Two per-year frames (keys `replication`, `year` and `category`, those present; amounts after) added: rows
    with the same keys summed, the others kept."""
    if total is None:
        return part.reset_index(drop=True)
    keys = [c for c in ("replication", "year", "category") if c in part.columns]
    if [c for c in total.columns if c in keys] != keys:
        raise ValueError("per-year frames with different keys cannot be added")
    both = pd.concat([total, part], ignore_index=True)
    return both.groupby(keys, sort=True, as_index=False)[[c for c in part.columns if c not in keys]].sum()


class ResourceYears:
    """IV resources per replication and calendar year, summed over batches of dose rows."""

    def __init__(self, horizon_days: float) -> None:
        self.horizon_days = horizon_days
        self._total: pd.DataFrame | None = None

    def add(self, tables: dict[str, pa.Table]) -> None:
        """A run's batch: its patients and their dose rows."""
        doses = tables["doses"]
        iv = doses.filter(pc.equal(doses["route"], "iv")).select(IV_DOSE_COLUMNS).to_pandas()
        patients = tables["patients"].select(["replication", "patient_id", "diagnosis_day"]).to_pandas()
        self.add_rows(iv, patients.set_index(["replication", "patient_id"])["diagnosis_day"])

    def add_rows(self, iv_doses: pd.DataFrame, diagnosis_day: pd.Series) -> None:
        """IV dose rows (days since diagnosis), and each patient's diagnosis day (calendar): every replication
        of `diagnosis_day` gets its years, zero where it gave no IV dose."""
        calendar = to_calendar(iv_doses, diagnosis_day)
        for replication in diagnosis_day.index.get_level_values("replication").unique():
            rows = calendar[calendar["replication"] == replication]
            part = resources_by_year(rows, self.horizon_days)
            part.insert(0, "replication", int(replication))
            self._total = add_by_year(self._total, part)

    def total(self) -> pd.DataFrame:
        """One row per replication and year."""
        if self._total is None:
            empty = resources_by_year(pd.DataFrame({name: [] for name in IV_DOSE_COLUMNS}), self.horizon_days)
            return empty.iloc[:0].assign(replication=pd.Series(dtype=int))[["replication", *empty.columns]]
        return self._total
