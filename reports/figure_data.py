"""The numbers behind every figure, computed from the tidy tables alone.

Each function takes saved tables (pandas frames) and returns a small frame that a
figure draws as it is, so tests can check a figure's numbers against the tables
(a dose curve's area against the mean cumulative dose, occupancy shares summing
to 1). Time courses use every patient diagnosed as the denominator: the dead
count as in state `dead` and at 0 mg/day.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.pathway.definition import CARE_STATES, LINE_OF_STATE, STATE_NAMES, TREATMENT_LINE_STATES
from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS
from iimsim.simulation.tables import YEAR_DAYS

GRID_STEP_DAYS = 7.0
# Figures of time courses use at most this many patients (the first ones of each run).
MAX_TIME_COURSE_PATIENTS = 20_000


def horizon_days(patients: pd.DataFrame) -> float:
    return float(patients["followup_days"].max()) if len(patients) else 0.0


def time_grid(patients: pd.DataFrame, step_days: float = GRID_STEP_DAYS) -> np.ndarray:
    return np.arange(0.0, horizon_days(patients) + 1e-9, step_days)


def _patient_index(patients: pd.DataFrame) -> pd.Series:
    """Row position of each (replication, patient_id)."""
    keys = pd.MultiIndex.from_frame(patients[["replication", "patient_id"]])
    return pd.Series(np.arange(len(patients)), index=keys)


def _rows_index(rows: pd.DataFrame, patients: pd.DataFrame) -> np.ndarray:
    """Each row's patient position in `patients`; -1 for rows of patients not in it."""
    keys = pd.MultiIndex.from_frame(rows[["replication", "patient_id"]])
    return _patient_index(patients).reindex(keys).fillna(-1).to_numpy(dtype=np.int64)


def glucocorticoid_rows(doses: pd.DataFrame) -> pd.DataFrame:
    return doses[doses["drug"].isin(GLUCOCORTICOIDS)]


# -- steroid exposure ---------------------------------------------------------------------------


def mean_dose_step_curve(doses: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """The cohort's mean prednisone-equivalent mg/day as an exact step function.

    Columns day (where a step begins) and mean_mg_per_day (held until the next day).
    Its area equals the mean of `pred_cum_mg` over the same patients.
    """
    gc = glucocorticoid_rows(doses)
    n = max(len(patients), 1)
    change = pd.concat([
        pd.DataFrame({"day": gc["start_day"].to_numpy(), "delta": gc["prednisone_eq_mg_per_day"].to_numpy()}),
        pd.DataFrame({"day": gc["end_day"].to_numpy(), "delta": -gc["prednisone_eq_mg_per_day"].to_numpy()}),
    ]).groupby("day", sort=True)["delta"].sum()
    curve = pd.DataFrame({"day": change.index.to_numpy(), "mean_mg_per_day": change.cumsum().to_numpy() / n})
    curve["mean_mg_per_day"] = curve["mean_mg_per_day"].clip(lower=0).round(9)
    return curve


def step_curve_area(curve: pd.DataFrame) -> float:
    days = curve["day"].to_numpy()
    return float(np.sum(curve["mean_mg_per_day"].to_numpy()[:-1] * np.diff(days)))


def dose_matrix(doses: pd.DataFrame, patients: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Each patient's prednisone-equivalent mg/day at each grid day (0 when off or dead)."""
    gc = glucocorticoid_rows(doses)
    matrix = np.zeros((len(patients), len(grid)), dtype=np.float32)
    rows = _rows_index(gc, patients) if len(gc) else np.zeros(0, dtype=np.int64)
    gc, rows = gc[rows >= 0], rows[rows >= 0]
    if gc.empty or not len(grid):
        return matrix
    first = np.searchsorted(grid, gc["start_day"].to_numpy(), side="left")
    last = np.searchsorted(grid, gc["end_day"].to_numpy(), side="left")  # grid days in [start, end)
    counts = np.maximum(last - first, 0)
    # grid columns first..last-1 of every row, without a Python loop
    col_of = np.repeat(first, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    matrix[np.repeat(rows, counts), col_of] = np.repeat(gc["prednisone_eq_mg_per_day"].to_numpy(), counts)
    return matrix


def dose_over_time(doses: pd.DataFrame, patients: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """Weekly: mean, 10th and 90th percentile mg/day, shares at >= 20 and > 7.5 mg/day."""
    matrix = dose_matrix(doses, patients, grid)
    p10, p90 = np.percentile(matrix, [10, 90], axis=0)
    return pd.DataFrame({
        "day": grid,
        "mean_mg_per_day": matrix.mean(axis=0, dtype=np.float64),
        "p10_mg_per_day": p10,
        "p90_mg_per_day": p90,
        "share_ge_20mg": (matrix >= 20.0).mean(axis=0),
        "share_gt_7_5mg": (matrix > 7.5).mean(axis=0),
    })


# -- states and lines ---------------------------------------------------------------------------


def occupancy(events: pd.DataFrame, patients: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """Share of patients in each state at each grid day (rows sum to 1)."""
    t = events[events["is_transition"]]
    rows = _rows_index(t, patients)
    t, rows = t[rows >= 0], rows[rows >= 0]
    state_code = pd.Categorical(t["to_state"], categories=STATE_NAMES).codes
    order = np.lexsort((t["day"].to_numpy(), rows))
    rows, days, codes = rows[order], t["day"].to_numpy()[order], state_code[order]
    counts = np.zeros((len(grid), len(STATE_NAMES)))
    starts = np.searchsorted(rows, np.arange(len(patients)), side="left")
    ends = np.searchsorted(rows, np.arange(len(patients)), side="right")
    for a, b in zip(starts, ends):
        # state at each grid day: the latest transition at or before it (all start with triage at 0)
        at = np.searchsorted(days[a:b], grid, side="right") - 1
        counts[np.arange(len(grid)), codes[a:b][np.maximum(at, 0)]] += 1
    shares = counts / max(len(patients), 1)
    return pd.DataFrame(shares, columns=list(STATE_NAMES)).assign(day=grid)[["day", *STATE_NAMES]]


def time_in_lines(patients: pd.DataFrame) -> pd.DataFrame:
    """Mean days per patient in each line of therapy with a 95% CI (normal approximation)."""
    out = []
    for state in TREATMENT_LINE_STATES:
        days = patients[f"days_in_{state}"]
        n = len(days)
        half = 1.96 * days.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
        out.append({"state": state, "line": LINE_OF_STATE[state], "mean_days": days.mean(),
                    "ci_low_days": days.mean() - half, "ci_high_days": days.mean() + half,
                    "share_entering": (days > 0).mean()})
    return pd.DataFrame(out)


def flows(events: pd.DataFrame) -> pd.DataFrame:
    """How many transitions went from each state to each other (a from x to table of counts)."""
    t = events[events["is_transition"]]
    table = pd.crosstab(pd.Categorical(t["from_state"], categories=STATE_NAMES),
                        pd.Categorical(t["to_state"], categories=STATE_NAMES), dropna=False)
    table.index.name, table.columns.name = "from_state", "to_state"
    return table


# -- time to event ------------------------------------------------------------------------------

TIME_TO_EVENT = {
    "remission": "first entry into maintenance",
    "first_escalation": "first escalation (second line or beyond, or supportive care)",
    "first_flare": "first flare (during the taper or on maintenance) or relapse after withdrawal",
    "drug_free_remission": "first entry into drug-free remission",
    "glucocorticoid_le_5mg": "glucocorticoid first at or below 5 mg/day",
}


def event_times(events: pd.DataFrame, patients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per patient: duration_days and observed, censored at death or the end of follow-up."""
    t = events[events["is_transition"]]
    escalation_states = [s for s in STATE_NAMES if (LINE_OF_STATE[s] or 0) >= 2] + ["supportive_care"]
    firsts = {
        "remission": t[t["to_state"] == "maintenance"],
        "first_escalation": t[t["to_state"].isin(escalation_states)],
        "first_flare": t[t["event"].isin(["flare", "relapse"])],
        "drug_free_remission": t[t["to_state"] == "drug_free_remission"],
    }
    index = _patient_index(patients)
    out = {}
    for name, rows in firsts.items():
        first = rows.groupby(["replication", "patient_id"])["day"].min()
        day = first.reindex(index.index).to_numpy()
        out[name] = _censored(day, patients)
    out["glucocorticoid_le_5mg"] = _censored(patients["days_to_pred_le_5mg"].to_numpy(), patients)
    return out


# -- the disease course -------------------------------------------------------------------------

IMPROVEMENT_ORDER = ("none", "minimal", "moderate", "major")


def improvement_categories(patients: pd.DataFrame, adult_thresholds: tuple[float, ...],
                           juvenile_thresholds: tuple[float, ...]) -> pd.DataFrame:
    """Share of patients assessed at 6 and 12 months in each improvement category (TIS from diagnosis, by
    each patient's thresholds: JDM's are its own), with the number assessed."""
    rows = []
    juvenile = (patients["subtype"] == "JDM").to_numpy()
    for months, column in ((6, "tis_6_months"), (12, "tis_12_months")):
        tis = patients[column].to_numpy(dtype=float)
        assessed = ~np.isnan(tis)
        codes = np.where(juvenile, np.searchsorted(juvenile_thresholds, np.nan_to_num(tis), side="right"),
                         np.searchsorted(adult_thresholds, np.nan_to_num(tis), side="right"))[assessed]
        for code, category in enumerate(IMPROVEMENT_ORDER):
            rows.append({"months": months, "category": category, "patients_assessed": int(assessed.sum()),
                         "share": float((codes == code).mean()) if assessed.any() else np.nan})
    return pd.DataFrame(rows)


HARM_NAMES = {"ae_new_diabetes": "new diabetes", "ae_serious_infection": "serious infection",
              "ae_pjp": "PJP", "ae_fracture": "fracture", "ae_cataract": "cataract"}


def harms_by_exposure(patients: pd.DataFrame) -> pd.DataFrame:
    """Adverse events per 100 patient-years in thirds of the cohort by cumulative prednisone-equivalent dose per
    year of follow-up (the dose-response the harm rates build in, seen from the tables), with the events and
    patient-years each rate rests on."""
    years = patients["followup_days"].to_numpy(dtype=float) / YEAR_DAYS
    per_year = patients["pred_cum_mg"].to_numpy(dtype=float) / np.maximum(years, 1e-9)
    cuts = np.quantile(per_year, [1 / 3, 2 / 3]) if len(per_year) else np.zeros(2)
    third = np.searchsorted(cuts, per_year, side="right")
    labels = [f"lowest third (< {cuts[0] / 1000:.1f} g/year)", "middle third",
              f"highest third (>= {cuts[1] / 1000:.1f} g/year)"]
    rows = []
    for k, label in enumerate(labels):
        inside = third == k
        patient_years = years[inside].sum()
        for column, name in HARM_NAMES.items():
            events = int(patients[column].to_numpy()[inside].sum())
            rows.append({"exposure": label, "harm": name, "events": events, "patient_years": patient_years,
                         "per_100_patient_years": 100 * events / patient_years if patient_years else np.nan})
    return pd.DataFrame(rows)


# Bands of the day's prednisone-equivalent dose, mg/day: the standard nomenclature (Buttgereit et al., Ann Rheum Dis
# 2002;61:718): low up to 7.5, medium up to 30, high above.
DOSE_BANDS = (("off", 0.0), ("low, up to 7.5 mg/day", 7.5), ("medium, 7.5-30 mg/day", 30.0), ("high, over 30 mg/day",
                                                                                             np.inf))
_EVENT_HARMS = {"ae_new_diabetes": "new diabetes", "ae_serious_infection": "serious infection",
                "ae_fracture": "fracture", "ae_cataract": "cataract"}


def _band(dose: np.ndarray) -> np.ndarray:
    """Each dose's band index in DOSE_BANDS (0: off)."""
    upper = np.array([limit for _, limit in DOSE_BANDS[1:]])
    return np.where(dose > 0, 1 + np.searchsorted(upper, dose, side="left"), 0)


def harms_by_dose_band(doses_gc: pd.DataFrame, events: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Adverse events per 100 patient-years by the glucocorticoid dose on the day: each band's person-time from
    the dose rows (off glucocorticoid: the rest of follow-up), each event in the band of the dose it came on. A
    patient's early death or short follow-up moves time between bands, not the rates."""
    keys = ["replication", "patient_id"]
    chosen = pd.MultiIndex.from_frame(patients[keys])
    doses = doses_gc[pd.MultiIndex.from_frame(doses_gc[keys]).isin(chosen)]
    pred = doses["prednisone_eq_mg_per_day"].to_numpy(dtype=float)
    days = (doses["end_day"] - doses["start_day"]).to_numpy(dtype=float)
    band_days = np.bincount(_band(pred), weights=days, minlength=len(DOSE_BANDS))
    band_days[0] = patients["followup_days"].to_numpy(dtype=float).sum() - band_days[1:].sum()
    harms = events[events["event"].isin(list(_EVENT_HARMS))]
    harms = harms[pd.MultiIndex.from_frame(harms[keys]).isin(chosen)]
    harms = harms.assign(harm=harms["event"].map(_EVENT_HARMS).astype(str))
    pjp = harms[harms["detail"].astype(str).str.contains("Pneumocystis")].assign(harm="PJP")
    harms = pd.concat([harms, pjp], ignore_index=True).sort_values("day")
    rows_gc = doses.sort_values("start_day")[[*keys, "start_day", "end_day", "prednisone_eq_mg_per_day"]]
    on = pd.merge_asof(harms[[*keys, "day", "harm"]], rows_gc, left_on="day", right_on="start_day", by=keys,
                       direction="backward")
    dose_then = np.where(on["end_day"].to_numpy(dtype=float) > on["day"].to_numpy(dtype=float),
                         on["prednisone_eq_mg_per_day"].fillna(0.0).to_numpy(dtype=float), 0.0)
    on = on.assign(band=_band(dose_then))
    rows = []
    for k, (label, _) in enumerate(DOSE_BANDS):
        years = band_days[k] / YEAR_DAYS
        for name in (*_EVENT_HARMS.values(), "PJP"):
            count = int(((on["band"] == k) & (on["harm"] == name)).sum())
            rows.append({"dose_band": label, "harm": name, "events": count, "patient_years": years,
                         "per_100_patient_years": 100 * count / years if years > 0 else np.nan})
    return pd.DataFrame(rows)


def dose_histogram(patients: pd.DataFrame, bins: int = 40) -> pd.DataFrame:
    """Patients by cumulative prednisone-equivalent (g), whole follow-up and first year, in `bins` equal bins
    each: the bars of the steroid exposure figure, with each period's mean (per patient numbers are the
    patients table's `pred_cum_mg` and `pred_cum_mg_first_year`)."""
    rows = []
    for period, column in (("whole follow-up", "pred_cum_mg"), ("first year", "pred_cum_mg_first_year")):
        grams = patients[column].to_numpy(dtype=float) / 1000
        counts, edges = np.histogram(grams, bins=bins)
        rows.append(pd.DataFrame({"period": period, "low_g": edges[:-1], "high_g": edges[1:], "patients": counts,
                                  "mean_g": grams.mean() if len(grams) else np.nan}))
    return pd.concat(rows, ignore_index=True)


def survival_curve(patients: pd.DataFrame) -> pd.DataFrame:
    """Share dead by each day since diagnosis (`kaplan_meier`), censored at the end of follow-up."""
    return kaplan_meier(pd.DataFrame({"duration_days": patients["followup_days"], "observed": patients["died"]}))


def first_flare_days(events: pd.DataFrame) -> pd.DataFrame:
    """Each patient's first flare (during the taper or on maintenance) or relapse: day and where it happened."""
    t = events[events["is_transition"] & events["event"].isin(["flare", "relapse"])]
    first = t.sort_values("day").groupby(["replication", "patient_id"], as_index=False).first()
    where = np.where(first["event"] == "relapse", "after withdrawal",
                     np.where(first["from_state"] == "maintenance", "on maintenance", "during the taper"))
    return pd.DataFrame({"day": first["day"].to_numpy(), "where": where})


def _censored(event_day: np.ndarray, patients: pd.DataFrame) -> pd.DataFrame:
    observed = ~np.isnan(event_day)
    return pd.DataFrame({"duration_days": np.where(observed, event_day, patients["followup_days"].to_numpy()),
                         "observed": observed})


def kaplan_meier(times: pd.DataFrame) -> pd.DataFrame:
    """Cumulative share reaching the event (1 - Kaplan-Meier) with its 95% CI, as it stands at the end of each day
    with an event or censoring: the estimate's last step within that day (`day`, exact), so a large cohort's curve
    has at most one row a day and every row lies on the exact curve."""
    from lifelines import KaplanMeierFitter  # a second and more to import: only where a curve is drawn

    fitter = KaplanMeierFitter().fit(times["duration_days"], times["observed"])
    ci = fitter.confidence_interval_survival_function_
    day = fitter.survival_function_.index.to_numpy()
    whole_day = np.floor(day)
    last_of_day = np.append(whole_day[1:] != whole_day[:-1], True)
    return pd.DataFrame({
        "day": day,
        "share_reached": 1 - fitter.survival_function_.iloc[:, 0].to_numpy(),
        "ci_low": 1 - ci.iloc[:, 1].to_numpy(),
        "ci_high": 1 - ci.iloc[:, 0].to_numpy(),
    })[last_of_day].reset_index(drop=True)


# -- resources and audit ------------------------------------------------------------------------


def calendar_years(patients: pd.DataFrame, events: pd.DataFrame, resources: pd.DataFrame,
                   cost_by_year: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """A region per calendar year, per replication: new patients, patients alive at the year's start and
    treated at each line in it, IVIG, chair-days, costs (`resources` and `cost_by_year` per replication and
    year, as the run saves them). One row per replication and year."""
    years = max(1, math.ceil(horizon / YEAR_DAYS - 1e-9))
    diagnosis = patients.set_index(["replication", "patient_id"])["diagnosis_day"]
    followup_end = (patients["diagnosis_day"] + patients["followup_days"]).to_numpy()
    t = events[events["is_transition"]].sort_values(["replication", "patient_id", "day"], kind="stable")
    shift = pd.MultiIndex.from_frame(t[["replication", "patient_id"]]).map(diagnosis).to_numpy(dtype=float)
    start = t["day"].to_numpy() + shift
    end_of = pd.Series(followup_end, index=pd.MultiIndex.from_frame(patients[["replication", "patient_id"]]))
    nxt = t.groupby(["replication", "patient_id"])["day"].shift(-1).to_numpy() + shift
    end = np.where(np.isnan(nxt), pd.MultiIndex.from_frame(t[["replication", "patient_id"]]).map(end_of), nxt)
    replication = patients["replication"].to_numpy()
    rows = []
    for rep in sorted(patients["replication"].unique()):
        mine, moves = replication == rep, (t["replication"] == rep).to_numpy()
        for year in range(years):
            low, high = year * YEAR_DAYS, (year + 1) * YEAR_DAYS
            diagnosed = patients["diagnosis_day"].to_numpy()[mine]
            row = {"replication": int(rep), "year": year + 1,
                   "new_patients": int(((diagnosed >= low) & (diagnosed < high)).sum()),
                   "patients_alive_at_start": int(((diagnosed <= low) & (followup_end[mine] > low)).sum())}
            overlap = np.clip(np.minimum(end[moves], high) - np.maximum(start[moves], low), 0, None)
            ids, states = t["patient_id"].to_numpy()[moves], t["to_state"].to_numpy()[moves]
            for state in CARE_STATES:
                row[f"patients_in_{state}"] = len(np.unique(ids[(states == state) & (overlap > 0)]))
            refractory = np.isin(states, ["refractory_combination", "refractory_alternative"])
            row["patients_in_refractory"] = len(np.unique(ids[refractory & (overlap > 0)]))
            rows.append(row)
    out = pd.DataFrame(rows)
    costs = cost_by_year.groupby(["replication", "year"], as_index=False)[["cost", "cost_discounted"]].sum()
    amounts = resources[["replication", "year", "ivig_g", "infusion_chair_days"]]
    out = out.merge(amounts, on=["replication", "year"], how="left").merge(costs, on=["replication", "year"],
                                                                           how="left")
    return out.fillna({"ivig_g": 0.0, "infusion_chair_days": 0.0, "cost": 0.0, "cost_discounted": 0.0})


def audit_table(patients: pd.DataFrame, scenario: str) -> pd.DataFrame:
    n = len(patients)
    return pd.DataFrame([{
        "scenario": scenario,
        "pitfall": flag.removeprefix("audit_").replace("_", " "),
        "patients_flagged": int(patients[flag].sum()),
        "share_flagged": patients[flag].mean() if n else math.nan,
    } for flag in AUDIT_COLUMNS])


# -- the infusion unit (runs with an [infusion_unit]) -------------------------------------------

def unit_by_week(days: pd.DataFrame) -> pd.DataFrame:
    """Per calendar week, over all replications: chair-hours used and open, utilisation, and the mean
    number of sessions queueing during opening hours."""
    week = days.assign(week=days["day"] // 7, queue=days["mean_queue_sessions"])
    grouped = week.groupby("week")
    out = pd.DataFrame({
        "chair_hours_used": grouped["chair_hours_used"].sum(),
        "chair_hours_available": grouped["chair_hours_available"].sum(),
        "mean_queue_sessions": grouped["queue"].mean(),  # NaN (closed) days are skipped
    }).reset_index()
    out["day"] = out["week"] * 7
    with np.errstate(invalid="ignore", divide="ignore"):
        out["utilisation"] = out["chair_hours_used"] / out["chair_hours_available"]
    return out[["week", "day", "chair_hours_used", "chair_hours_available", "utilisation", "mean_queue_sessions"]]
