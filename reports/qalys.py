"""Quality-adjusted life-years from the tidy tables and the scenario's [utilities].

A patient's utility on a day is `utility_no_activity - decrement_per_unit_activity * activity -
decrement_per_unit_damage * damage`, from what clinic visits saw (the assessments table's true activity and
damage), from diagnosis (the patients table's untreated activity, no damage) to the end of follow-up (its final
activity and damage); follow-up ends at death, after which utility is 0. Between two points it is
interpolated linearly ("linear") or held at the earlier point ("step"). While on glucocorticoid above a dose,
utility is lower by `decrement_on_glucocorticoid` (weight gain, sleep, mood: what regular use costs beyond the
named adverse events). Each adverse event (an events row
named `ae_...` with a disutility in the scenario) takes a one-off QALY loss on its day or a utility decrement
over its duration (cut at the end of follow-up). Discounting is exact and continuous, as for costs: a utility
u(t) is worth the integral of u(t) (1 + r)^(-t / 365.25) dt at diagnosis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iimsim.reports.discounting import daily_discount, discounted_days
from iimsim.scenarios.schema import Utilities
from iimsim.simulation.tables import YEAR_DAYS

KEY = ["replication", "patient_id"]
QALY_COLUMNS = ["life_years", "life_years_discounted", "qalys", "qalys_discounted", "ae_qaly_loss",
                "ae_qaly_loss_discounted", "glucocorticoid_qaly_loss", "glucocorticoid_qaly_loss_discounted"]


def discounted_linear(start: np.ndarray, end: np.ndarray, u_start: np.ndarray, u_end: np.ndarray,
                      delta: float) -> np.ndarray:
    """Integral over [start, end] of u(t) exp(-delta t), u linear from u_start to u_end: utility-days."""
    length = end - start
    if delta == 0:
        return 0.5 * (u_start + u_end) * length
    x = delta * length
    level = -np.expm1(-x) / delta  # integral of exp(-delta s) over [0, length]
    # integral of (s / length) exp(-delta s) over [0, length]; 0 for an empty segment
    ramp = np.divide(-np.expm1(-x) - x * np.exp(-x), delta * x, out=np.zeros_like(x), where=x > 0)
    return np.exp(-delta * start) * (u_start * level + (u_end - u_start) * ramp)


# What QALYs read of the patients table.
QALY_PATIENT_COLUMNS = ["replication", "patient_id", "followup_days", "untreated_activity", "activity_final",
                        "damage_final"]


def utility(utilities: Utilities, activity, damage):
    """Health-state utility at disease activity and damage (0-1 each)."""
    return (utilities.utility_no_activity - utilities.decrement_per_unit_activity * np.asarray(activity, float)
            - utilities.decrement_per_unit_damage * np.asarray(damage, float))


def _points(patients: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """Every patient's (day, activity, damage) from diagnosis through each visit to the end of follow-up."""
    start = pd.DataFrame({"replication": patients["replication"].to_numpy(),
                          "patient_id": patients["patient_id"].to_numpy(), "day": 0.0,
                          "activity": patients["untreated_activity"].to_numpy(dtype=float), "damage": 0.0,
                          "order": 0})
    visits = pd.DataFrame({"replication": assessments["replication"].to_numpy(),
                           "patient_id": assessments["patient_id"].to_numpy(),
                           "day": assessments["day"].to_numpy(dtype=float),
                           "activity": assessments["activity"].to_numpy(dtype=float),
                           "damage": assessments["damage"].to_numpy(dtype=float), "order": 1})
    end = pd.DataFrame({"replication": patients["replication"].to_numpy(),
                        "patient_id": patients["patient_id"].to_numpy(),
                        "day": patients["followup_days"].to_numpy(dtype=float),
                        "activity": patients["activity_final"].to_numpy(dtype=float),
                        "damage": patients["damage_final"].to_numpy(dtype=float), "order": 2})
    points = pd.concat([start, visits, end], ignore_index=True)
    return points.sort_values(KEY + ["day", "order"], kind="stable", ignore_index=True)


def health_state_utility_days(patients: pd.DataFrame, assessments: pd.DataFrame, utilities: Utilities,
                              delta: float) -> pd.DataFrame:
    """Per patient: utility-days of the disease over follow-up, undiscounted and discounted to diagnosis."""
    points = _points(patients, assessments)
    same = ((points["replication"].to_numpy()[:-1] == points["replication"].to_numpy()[1:])
            & (points["patient_id"].to_numpy()[:-1] == points["patient_id"].to_numpy()[1:]))
    day = points["day"].to_numpy()
    u = utility(utilities, points["activity"], points["damage"])
    t0, t1 = day[:-1][same], np.maximum(day[1:][same], day[:-1][same])
    u0 = u[:-1][same]
    u1 = u[1:][same] if utilities.between_assessments == "linear" else u0
    segments = pd.DataFrame({"replication": points["replication"].to_numpy()[:-1][same],
                             "patient_id": points["patient_id"].to_numpy()[:-1][same],
                             "days": 0.5 * (u0 + u1) * (t1 - t0),
                             "days_discounted": discounted_linear(t0, t1, u0, u1, delta)})
    return segments.groupby(KEY, sort=False)[["days", "days_discounted"]].sum()


def adverse_event_loss(patients: pd.DataFrame, events: pd.DataFrame, utilities: Utilities,
                       delta: float) -> pd.DataFrame:
    """Per patient: QALYs lost to adverse events, undiscounted and discounted (empty without any)."""
    names = events["event"].astype(str)
    rows = events[names.isin(list(utilities.adverse_events))]
    if rows.empty:
        return pd.DataFrame({"loss": np.zeros(0), "loss_discounted": np.zeros(0)},
                            index=pd.MultiIndex.from_arrays([[], []], names=KEY))
    followup = patients.set_index(KEY)["followup_days"]
    end_of_followup = pd.MultiIndex.from_frame(rows[KEY]).map(followup).to_numpy(dtype=float)
    spec = [utilities.adverse_events[name] for name in rows["event"].astype(str)]
    day = rows["day"].to_numpy(dtype=float)
    one_off = np.array([s.qaly_loss or 0.0 for s in spec])
    decrement = np.array([s.utility_decrement or 0.0 for s in spec])
    duration = np.array([np.inf if s.duration_days is None else s.duration_days for s in spec])
    until = np.maximum(day, np.minimum(day + duration, end_of_followup))
    loss = one_off + decrement * (until - day) / YEAR_DAYS
    loss_discounted = one_off * np.exp(-delta * day) + decrement * discounted_days(day, until, delta) / YEAR_DAYS
    frame = pd.DataFrame({"replication": rows["replication"].to_numpy(), "patient_id": rows["patient_id"].to_numpy(),
                          "loss": loss, "loss_discounted": loss_discounted})
    return frame.groupby(KEY, sort=False)[["loss", "loss_discounted"]].sum()


def glucocorticoid_loss(doses: pd.DataFrame, utilities: Utilities, delta: float) -> pd.DataFrame:
    """Per patient: QALYs lost while on glucocorticoid above the scenario's dose (`decrement_on_glucocorticoid`,
    beyond the adverse events it names), undiscounted and discounted (empty when there is none)."""
    pred = doses["prednisone_eq_mg_per_day"].to_numpy(dtype=float) if "prednisone_eq_mg_per_day" in doses else None
    if pred is None or utilities.decrement_on_glucocorticoid == 0:
        return pd.DataFrame({"loss": np.zeros(0), "loss_discounted": np.zeros(0)},
                            index=pd.MultiIndex.from_arrays([[], []], names=KEY))
    rows = doses[np.nan_to_num(pred) > utilities.glucocorticoid_decrement_above_mg_per_day]
    start, end = rows["start_day"].to_numpy(dtype=float), rows["end_day"].to_numpy(dtype=float)
    decrement = utilities.decrement_on_glucocorticoid
    frame = pd.DataFrame({"replication": rows["replication"].to_numpy(), "patient_id": rows["patient_id"].to_numpy(),
                          "loss": decrement * (end - start) / YEAR_DAYS,
                          "loss_discounted": decrement * discounted_days(start, end, delta) / YEAR_DAYS})
    return frame.groupby(KEY, sort=False)[["loss", "loss_discounted"]].sum()


def compute_qalys(tables: dict[str, pd.DataFrame], utilities: Utilities, discount_rate_per_year: float
                  ) -> pd.DataFrame:
    """Per patient (in the patients table's order): life-years, QALYs and the QALYs lost to adverse events,
    each undiscounted and discounted to diagnosis."""
    patients = tables["patients"]
    delta = daily_discount(discount_rate_per_year)
    index = pd.MultiIndex.from_frame(patients[KEY])
    followup = patients["followup_days"].to_numpy(dtype=float)
    zero = np.zeros(len(followup))
    state = health_state_utility_days(patients, tables["assessments"], utilities, delta).reindex(index)
    ae = adverse_event_loss(patients, tables["events"], utilities, delta).reindex(index)
    loss = ae["loss"].fillna(0.0).to_numpy(dtype=float)
    loss_discounted = ae["loss_discounted"].fillna(0.0).to_numpy(dtype=float)
    gc = glucocorticoid_loss(tables["doses"], utilities, delta).reindex(index) if "doses" in tables else None
    gc_loss = zero if gc is None else gc["loss"].fillna(0.0).to_numpy(dtype=float)
    gc_loss_discounted = zero if gc is None else gc["loss_discounted"].fillna(0.0).to_numpy(dtype=float)
    return pd.DataFrame({
        "replication": patients["replication"].to_numpy(), "patient_id": patients["patient_id"].to_numpy(),
        "life_years": followup / YEAR_DAYS,
        "life_years_discounted": discounted_days(zero, followup, delta) / YEAR_DAYS,
        "qalys": state["days"].fillna(0.0).to_numpy(dtype=float) / YEAR_DAYS - loss - gc_loss,
        "qalys_discounted": (state["days_discounted"].fillna(0.0).to_numpy(dtype=float) / YEAR_DAYS - loss_discounted
                             - gc_loss_discounted),
        "ae_qaly_loss": loss, "ae_qaly_loss_discounted": loss_discounted,
        "glucocorticoid_qaly_loss": gc_loss, "glucocorticoid_qaly_loss_discounted": gc_loss_discounted,
    })
