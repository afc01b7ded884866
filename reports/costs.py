"""Costs from the tidy tables and the scenario's price table.

Every cost is an interval (a rate per day over [start, end): a drug's dose, a day
in an infusion chair, a day in a state, monitoring, prophylaxis) or a point (a
clinic visit (an assessment and its tests), a one-off cost on a transition, an adverse
event, one of seed 001's mandatory steps). Discounting is exact: an interval
costs rate * integral of (1 + r)^(-t / 365.25) over it, a point cost * (1 + r)^(-t /
365.25), with t in days since diagnosis.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS
from iimsim.scenarios.schema import Costs
from iimsim.simulation.model import YEAR_DAYS

CATEGORIES = ("drugs", "ivig", "infusion_chair", "monitoring", "prophylaxis", "states", "clinic_visits",
              "transitions", "adverse_events", "care")
# Units of a dose rate per day of treatment.
PER_DAY = {"mg/day": 1.0, "mg/week": 1 / 7, "mg/48h": 1 / 2, "g/day": 1.0}
CLINIC_TRIGGERS = ("triage", "respond", "fail", "intolerance", "flare", "relapse", "withdraw")
INFUSED_OR_GC = set(GLUCOCORTICOIDS) | {"ivig"}
COST_COLUMNS = [f"{c}_cost" for c in CATEGORIES] + ["total_cost"]
PATIENT_COST_SCHEMA = pa.schema(
    [pa.field("replication", pa.int32()), pa.field("patient_id", pa.int64())]
    + [pa.field(name, pa.float64()) for name in COST_COLUMNS]
    + [pa.field(f"{name}_discounted", pa.float64()) for name in COST_COLUMNS])


def daily_discount(rate_per_year: float) -> float:
    """The continuous discount rate per day equivalent to `rate_per_year`."""
    return math.log1p(rate_per_year) / YEAR_DAYS


def discounted_days(start: np.ndarray, end: np.ndarray, delta: float) -> np.ndarray:
    """Integral of exp(-delta * t) dt over [start, end]: days worth at diagnosis."""
    if delta == 0:
        return end - start
    return (np.exp(-delta * start) - np.exp(-delta * end)) / delta


def _state_intervals(events: pd.DataFrame, followup: pd.Series) -> pd.DataFrame:
    t = events[events["is_transition"]].sort_values(["replication", "patient_id", "day"], kind="stable")
    key = ["replication", "patient_id"]
    nxt = t.groupby(key)["day"].shift(-1)
    end = nxt.fillna(pd.Series(pd.MultiIndex.from_frame(t[key]).map(followup), index=t.index))
    return pd.DataFrame({"replication": t["replication"], "patient_id": t["patient_id"], "state": t["to_state"],
                         "start": t["day"], "end": end})


def cost_items(tables: dict[str, pd.DataFrame], costs: Costs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(intervals: replication, patient_id, category, start, end, cost_per_day;
    points: replication, patient_id, category, day, cost)."""
    patients, events, doses = tables["patients"], tables["events"], tables["doses"]
    followup = patients.set_index(["replication", "patient_id"])["followup_days"]
    key = ["replication", "patient_id"]
    intervals = []

    def add(frame: pd.DataFrame, category: str, start, end, per_day) -> None:
        if len(frame):
            intervals.append(pd.DataFrame({"replication": frame["replication"].to_numpy(),
                                           "patient_id": frame["patient_id"].to_numpy(), "category": category,
                                           "start": np.asarray(start, float), "end": np.asarray(end, float),
                                           "cost_per_day": np.broadcast_to(np.asarray(per_day, float), len(frame))}))

    amount_per_day = doses["dose"].to_numpy() * doses["dose_unit"].map(PER_DAY).to_numpy(dtype=float)
    drug = doses["drug"].astype(str)
    ivig = (drug == "ivig").to_numpy()
    priced = ~ivig
    add(doses[priced], "drugs", doses["start_day"][priced], doses["end_day"][priced],
        amount_per_day[priced] * drug[priced].map(costs.price_per_mg).fillna(0.0).to_numpy())
    add(doses[ivig], "ivig", doses["start_day"][ivig], doses["end_day"][ivig],
        amount_per_day[ivig] * costs.ivig_price_per_g)
    iv = (doses["route"] == "iv").to_numpy()
    add(doses[iv], "infusion_chair", doses["start_day"][iv], doses["end_day"][iv], costs.infusion_chair_day)
    monitored = (~drug.isin(INFUSED_OR_GC) & (doses["route"] != "iv")).to_numpy()
    add(doses[monitored], "monitoring", doses["start_day"][monitored], doses["end_day"][monitored],
        costs.monitoring_per_day_on_immunosuppressant)
    gc = drug.isin(GLUCOCORTICOIDS).to_numpy()
    add(doses[gc], "prophylaxis", doses["start_day"][gc], doses["end_day"][gc], costs.bone_protection_per_day)

    pjp = events[events["event"].isin(["pjp_prophylaxis_start", "pjp_prophylaxis_stop"])].sort_values(
        key + ["day"], kind="stable")
    starts = pjp[pjp["event"] == "pjp_prophylaxis_start"]
    stop_after = pjp.groupby(key)["day"].shift(-1)[starts.index]
    ends = stop_after.fillna(pd.Series(pd.MultiIndex.from_frame(starts[key]).map(followup), index=starts.index))
    add(starts, "prophylaxis", starts["day"], ends, costs.pjp_prophylaxis_per_day)

    states = _state_intervals(events, followup)
    per_day = states["state"].astype(str).map(costs.state_per_day).fillna(0.0)
    priced_states = (per_day > 0).to_numpy()
    add(states[priced_states], "states", states["start"][priced_states], states["end"][priced_states],
        per_day[priced_states])

    transitions = events[events["is_transition"]]
    if "assessments" in tables:  # every assessment is a clinic visit, with its tests (CK, strength)
        visits = tables["assessments"][["replication", "patient_id", "day"]]
        visit_cost = costs.clinic_visit + costs.assessment_tests
    else:  # tables from before the disease course: a visit where the clinic decided something
        visits = transitions[transitions["event"].isin(CLINIC_TRIGGERS)]
        visit_cost = costs.clinic_visit
    steps = events[events["event"].astype(str).isin(costs.care_step)]
    one_off = transitions["event"].astype(str).map(costs.transition).fillna(0.0)
    harms = events[events["event"].astype(str).str.startswith("ae_")]
    # PJP is a serious infection in the events table; its detail names it, and it has a price of its own.
    harm = np.where(harms["detail"].astype(str).str.contains("Pneumocystis"), "pjp",
                    harms["event"].astype(str).str.removeprefix("ae_"))
    harm_cost = pd.Series(harm, index=harms.index, dtype=object).map(costs.adverse_event).fillna(0.0)
    points = pd.concat([
        pd.DataFrame({"replication": visits["replication"], "patient_id": visits["patient_id"],
                      "category": "clinic_visits", "day": visits["day"], "cost": visit_cost}),
        pd.DataFrame({"replication": steps["replication"], "patient_id": steps["patient_id"],
                      "category": "care", "day": steps["day"],
                      "cost": steps["event"].astype(str).map(costs.care_step).astype(float)}),
        pd.DataFrame({"replication": harms["replication"], "patient_id": harms["patient_id"],
                      "category": "adverse_events", "day": harms["day"], "cost": harm_cost})[harm_cost > 0],
        pd.DataFrame({"replication": transitions["replication"], "patient_id": transitions["patient_id"],
                      "category": "transitions", "day": transitions["day"], "cost": one_off})[one_off > 0],
    ], ignore_index=True)
    columns = ["replication", "patient_id", "category", "start", "end", "cost_per_day"]
    intervals_frame = pd.concat(intervals, ignore_index=True) if intervals else pd.DataFrame(columns=columns)
    return intervals_frame, points


def compute_costs(tables: dict[str, pd.DataFrame], costs: Costs, horizon_days: float, by_year: bool = True
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(per patient: each category's cost and the total, undiscounted and discounted to diagnosis;
    per calendar year of the horizon and category: cost and cost discounted to the start of the horizon,
    intervals split at years). In a closed cohort calendar years are years since diagnosis; in a region,
    costs before the horizon starts (prevalent patients' earlier treatment) count only per patient.
    `by_year=False` skips the calendar years (None in their place): per patient only, about half the work."""
    intervals, points = cost_items(tables, costs)
    delta = daily_discount(costs.discount_rate_per_year)
    start, end = intervals["start"].to_numpy(), intervals["end"].to_numpy()
    per_day = intervals["cost_per_day"].to_numpy(dtype=float)
    items = pd.concat([
        pd.DataFrame({"replication": intervals["replication"], "patient_id": intervals["patient_id"],
                      "category": intervals["category"], "cost": per_day * (end - start),
                      "cost_discounted": per_day * discounted_days(start, end, delta)}),
        points.assign(cost_discounted=points["cost"] * np.exp(-delta * points["day"]))[
            ["replication", "patient_id", "category", "cost", "cost_discounted"]],
    ], ignore_index=True)
    index = pd.MultiIndex.from_frame(tables["patients"][["replication", "patient_id"]])
    by_patient = pd.DataFrame(index=index)
    for suffix, column in (("", "cost"), ("_discounted", "cost_discounted")):
        table = items.pivot_table(index=["replication", "patient_id"], columns="category", values=column,
                                  aggfunc="sum", fill_value=0.0)
        table = table.reindex(index=index, columns=list(CATEGORIES), fill_value=0.0).fillna(0.0)
        for category in CATEGORIES:
            by_patient[f"{category}_cost{suffix}"] = table[category].to_numpy()
        by_patient[f"total_cost{suffix}"] = table.sum(axis=1).to_numpy()
    by_patient = by_patient.reset_index()[[f.name for f in PATIENT_COST_SCHEMA]]
    if not by_year:
        return by_patient, None

    years = max(1, math.ceil(horizon_days / YEAR_DAYS - 1e-9))
    category = intervals["category"].to_numpy()
    diagnosis = tables["patients"].set_index(["replication", "patient_id"])["diagnosis_day"]
    shift = pd.MultiIndex.from_frame(intervals[["replication", "patient_id"]]).map(diagnosis).to_numpy(dtype=float)
    start, end = start + shift, end + shift  # calendar days
    points = points.assign(day=points["day"].to_numpy() + pd.MultiIndex.from_frame(
        points[["replication", "patient_id"]]).map(diagnosis).to_numpy(dtype=float))
    rows = []
    for year in range(years):
        low, high = year * YEAR_DAYS, (year + 1) * YEAR_DAYS
        a, b = np.maximum(start, low), np.minimum(end, high)
        inside = b > a
        cost = np.where(inside, per_day * (b - a), 0.0)
        cost_discounted = np.where(inside, per_day * discounted_days(a, np.maximum(a, b), delta), 0.0)
        in_year = points[(points["day"] >= low) & (points["day"] < high)]
        point_discounted = in_year["cost"] * np.exp(-delta * in_year["day"])
        for name in CATEGORIES:
            mask, pmask = category == name, (in_year["category"] == name).to_numpy()
            rows.append({"year": year + 1, "category": name,
                         "cost": cost[mask].sum() + in_year["cost"][pmask].sum(),
                         "cost_discounted": cost_discounted[mask].sum() + point_discounted[pmask].sum()})
    return by_patient, pd.DataFrame(rows)


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
    readers = {name: pq.ParquetFile(path) for name, path in files.items() if path.exists()}
    groups = {reader.metadata.num_row_groups for reader in readers.values()}
    if len(readers) == len(files) and len(groups) == 1:
        parts = [compute_costs({name: reader.read_row_group(i).to_pandas() for name, reader in readers.items()},
                               costs, horizon_days) for i in range(groups.pop())]
    else:
        parts = [compute_costs({name: read_table(run_dir, name).to_pandas() for name in files}, costs, horizon_days)]
    by_patient = pd.concat([p for p, _ in parts], ignore_index=True)
    by_year = pd.concat([y for _, y in parts]).groupby(["year", "category"], sort=False, as_index=False).sum()
    return by_patient, by_year
