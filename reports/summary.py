"""Cohort metrics for summary.csv: one metric per row, with its unit.

Computed from the tidy tables only (the patients table plus per-batch tallies of
the doses table), so a summary can be rebuilt from saved output. With several
replications each metric is computed per replication (summary_by_replication.csv)
and summary.csv gives their mean with a 95% t-interval.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iimsim.pathway.audit import AUDIT_COLUMNS
from iimsim.pathway.definition import CARE_STATES
from iimsim.pathway.scig import SCIG
from iimsim.simulation.tables import YEAR_DAYS


STATUS_YEARS = (1, 2, 3, 4, 5, 10)  # years since diagnosis at which the glucocorticoid and remission are read


class ResourceTally:
    """IV treatment by drug, added up batch by batch from the doses table, and where patients stand at each
    anniversary of diagnosis (alive, on glucocorticoid, in drug-free remission).

    Every IV dose row is one visit: an infusion (an IVIG course over its days) or a
    pulse course; its days are infusion chair-days. Within the horizon (calendar day 0 on) and before it (a
    region's prevalent patients, diagnosed before day 0) apart: a dose row across day 0 is split there, and a
    visit counts where it starts.
    """

    def __init__(self) -> None:
        self.chair_days: Counter[str] = Counter()  # within the horizon
        self.infusions: Counter[str] = Counter()  # visits starting within the horizon
        self.ivig_g = 0.0  # within the horizon
        self.chair_days_before = 0.0
        self.ivig_g_before = 0.0
        self.unit_visits: list[pa.Table] = []  # with an infusion unit: its visits and days tables
        self.unit_days: list[pa.Table] = []
        self.status: Counter[tuple[int, str]] = Counter()  # (year, "alive" / "on_glucocorticoid" / "drug_free")
        self.at_home: Counter[str] = Counter()  # SCIG at home: "g" given, "doses"

    def add(self, tables: dict[str, pa.Table]) -> None:
        self._add_status(tables)
        if "infusion_visits" in tables:
            self.unit_visits.append(tables["infusion_visits"].select(["drug", "start_day", "wait_days",
                                                                     "queue_wait_days"]))
            self.unit_days.append(tables["infusion_unit_days"])
        diagnosis = tables["patients"].select(["replication", "patient_id", "diagnosis_day"])
        # SCIG at home: each row one dose, one day long, counted (like IVIG) where it falls: within the horizon
        home = tables["doses"].filter(pc.equal(tables["doses"]["drug"], SCIG)).select(
            ["replication", "patient_id", "start_day", "end_day", "dose"]).join(diagnosis, ["replication", "patient_id"])
        home = home.filter(pc.greater_equal(pc.add(home["start_day"], home["diagnosis_day"]), 0.0))
        grams = pc.sum(pc.multiply(home["dose"], pc.subtract(home["end_day"], home["start_day"]))).as_py()
        self.at_home["g"] += grams or 0.0
        self.at_home["doses"] += home.num_rows
        doses = tables["doses"].filter(pc.equal(tables["doses"]["route"], "iv"))
        doses = doses.select(["replication", "patient_id", "drug", "start_day", "end_day", "dose"]).join(
            diagnosis, ["replication", "patient_id"])
        start = (doses["start_day"].to_numpy() + doses["diagnosis_day"].to_numpy())  # calendar days
        end = doses["end_day"].to_numpy() + doses["diagnosis_day"].to_numpy()
        within = np.clip(end - np.maximum(start, 0.0), 0.0, None)
        before = (end - start) - within
        drug = doses["drug"].to_numpy(zero_copy_only=False)
        grams_per_day = np.where(drug == "ivig", doses["dose"].to_numpy(), 0.0)
        self.ivig_g += float(within @ grams_per_day)
        self.ivig_g_before += float(before @ grams_per_day)
        self.chair_days_before += float(before.sum())
        for name in np.unique(drug):
            mine = drug == name
            self.chair_days[name] += float(within[mine].sum())
            self.infusions[name] += int((start[mine] >= 0).sum())


    def _add_status(self, tables: dict[str, pa.Table]) -> None:
        """At each anniversary of diagnosis: the patients followed to it, those on glucocorticoid that day and
        those in drug-free remission (the state the last transition before it entered)."""
        patients = tables["patients"]
        followup = patients["followup_days"].to_numpy()
        doses = tables["doses"]
        gc = doses.filter(pc.invert(pc.is_null(doses["prednisone_eq_mg_per_day"])))
        gc_patient, gc_start, gc_end = (gc["patient_id"].to_numpy(), gc["start_day"].to_numpy(),
                                        gc["end_day"].to_numpy())
        gc_dose = gc["prednisone_eq_mg_per_day"].to_numpy()
        events = tables["events"]
        moves = events.filter(events["is_transition"])
        move_patient, move_day = moves["patient_id"].to_numpy(), moves["day"].to_numpy()
        free = pc.equal(moves["to_state"], "drug_free_remission").to_numpy(zero_copy_only=False)
        ids = patients["patient_id"].to_numpy()
        for year in STATUS_YEARS:
            day = year * YEAR_DAYS
            alive = ids[followup >= day]
            if not len(alive):
                continue
            read = day - 0.5  # (half a day before: a follow-up that ends on the anniversary still counts)
            on = np.unique(gc_patient[(gc_start <= read) & (gc_end > read) & (gc_dose > 0)])
            # (transitions are in patient and time order: the last one by the day is each patient's state then)
            before = move_day <= read
            last = np.r_[move_patient[before][1:] != move_patient[before][:-1], True] if before.any() else before[:0]
            in_free = move_patient[before][last][free[before][last]]
            self.status[(year, "alive")] += len(alive)
            self.status[(year, "on_glucocorticoid")] += int(np.isin(alive, on).sum())
            self.status[(year, "drug_free")] += int(np.isin(alive, in_free).sum())


def _median(values: pd.Series) -> float:
    """The median of the values present; NaN, without a warning, when there are none."""
    values = values.dropna()
    return float(values.median()) if len(values) else np.nan


def _row(metric: str, value: float, unit: str, description: str) -> dict:
    return {"metric": metric, "value": value, "unit": unit, "description": description}


INTERVAL_METHOD = "95% CI of the mean over replications (t-distribution)"


HARM_METRICS = {"ae_new_diabetes": "new-onset diabetes", "ae_serious_infection": "serious infections (PJP included)",
                "ae_pjp": "Pneumocystis pneumonia", "ae_fracture": "osteoporotic fractures", "ae_cataract": "cataracts"}


def first_year_mortality(patients: pd.DataFrame) -> float:
    """Among patients followed from diagnosis for a year or until death (an open cohort's late arrivals and a
    short horizon leave some out)."""
    followed = patients["died"] | (patients["followup_days"] >= YEAR_DAYS)
    died = patients["died"] & (patients["followup_days"] < YEAR_DAYS)
    return died[followed].mean() if followed.any() else np.nan


def summarize(patients: pd.DataFrame, tally: ResourceTally, drugs: list[str] | None = None,
              prevalent: bool | None = None) -> pd.DataFrame:
    """One replication's metrics; `drugs` lists the IV drugs to report (0 where none was given). Totals (IVIG,
    chair-days, visits, patient-years) are within the horizon; with `prevalent` (patients diagnosed before day
    0; found in `patients` when not given) the history before it is given apart, as *_before_horizon. Rates
    of what a patient's whole course counts (flares, harms) are per patient-year of that whole course."""
    n = len(patients)
    years = patients["followup_days"].sum() / YEAR_DAYS  # whole courses, a prevalent patient's history too
    before_days = np.clip(-patients["diagnosis_day"], 0, patients["followup_days"]).sum()
    years_within = years - before_days / YEAR_DAYS
    if prevalent is None:
        prevalent = bool((patients["diagnosis_day"] < 0).any())
    remission = patients["time_to_remission_days"].notna()
    rows = [
        _row("patients", n, "patients", "patients simulated per replication"),
        _row("patient_years", years_within, "patient-years", "follow-up simulated within the horizon"),
        _row("deaths", int(patients["died"].sum()), "patients", "deaths within the horizon"),
        _row("share_died", patients["died"].mean(), "share", "share of patients who died"),
        _row("share_reached_remission", remission.mean(), "share", "share ever entering maintenance"),
        _row("share_never_responded", 1 - remission.mean(), "share",
             "share never reaching remission (the myositis guideline overview: about 25% do not respond)"),
        _row("median_time_to_remission_days", _median(patients["time_to_remission_days"]),
             "days", "median days to first remission, among those reaching it"),
        _row("mean_pred_cum_mg", patients["pred_cum_mg"].mean(), "mg",
             "mean cumulative prednisone-equivalent dose over follow-up"),
        _row("mean_pred_cum_mg_first_year", patients["pred_cum_mg_first_year"].mean(), "mg",
             "mean cumulative prednisone-equivalent dose in the first year"),
        _row("mean_days_pred_ge_20mg", patients["days_pred_ge_20mg"].mean(), "days",
             "mean days at prednisone-equivalent >= 20 mg/day"),
        _row("mean_days_pred_gt_7_5mg", patients["days_pred_gt_7_5mg"].mean(), "days",
             "mean days at prednisone-equivalent > 7.5 mg/day"),
        _row("median_days_to_pred_le_5mg", _median(patients["days_to_pred_le_5mg"]), "days",
             "median days until glucocorticoid <= 5 mg/day, among those reaching it"),
        _row("flares_per_patient_year", patients["flares"].sum() / years if years else np.nan,
             "flares/patient-year", "flares on maintenance and relapses after withdrawal"),
        _row("ivig_g_total", tally.ivig_g, "g", "IVIG given within the horizon"),
        _row("ivig_g_per_patient_year", tally.ivig_g / years_within if years_within else np.nan,
             "g/patient-year", "IVIG given per patient-year, within the horizon"),
        _row("scig_g_total", tally.at_home["g"], "g", "subcutaneous immunoglobulin given at home (in place of IVIG), "
             "within the horizon"),
        _row("scig_doses_at_home", tally.at_home["doses"], "doses", "doses of subcutaneous immunoglobulin given at "
             "home: no infusion chair"),
        _row("share_iv_pulse", (patients["days_in_iv_pulse"] > 0).mean(), "share",
             "share given an IV methylprednisolone pulse"),
        _row("first_year_mortality", first_year_mortality(patients), "share",
             "share of patients followed from diagnosis who died within a year of it"),
        _row("deaths_from_infection", int((patients["death_cause"] == "serious_infection").sum()), "patients",
             "deaths from a serious infection (PJP among them) on treatment"),
    ]
    for harm, what in HARM_METRICS.items():
        rows.append(_row(f"{harm}_per_100_patient_years", 100 * patients[harm].sum() / years if years else np.nan,
                         "per 100 patient-years", f"{what} per 100 patient-years of follow-up"))
    for year in STATUS_YEARS:
        alive = tally.status[(year, "alive")]
        if alive:
            rows.append(_row(f"share_off_glucocorticoid_year_{year}", 1 - tally.status[(year, "on_glucocorticoid")] / alive,
                             "share", f"share off glucocorticoid {year} years after diagnosis, among those alive then"))
            rows.append(_row(f"share_drug_free_remission_year_{year}", tally.status[(year, "drug_free")] / alive,
                             "share", f"share in drug-free remission {year} years after diagnosis, among those alive "
                                      "then"))
    for line in range(1, 6):
        rows.append(_row(f"share_reached_line_{line}", (patients["highest_line"] >= line).mean(), "share",
                         f"share reaching line of therapy {line} or beyond"))
    for state in CARE_STATES:
        rows.append(_row(f"mean_days_in_{state}", patients[f"days_in_{state}"].mean(), "days",
                         f"mean days per patient in {state}"))
    for flag in AUDIT_COLUMNS:
        rows.append(_row(f"share_{flag}", patients[flag].mean(), "share", f"share flagged: {flag}"))
    drugs = sorted(tally.chair_days) if drugs is None else drugs
    for drug in drugs:
        rows.append(_row(f"infusion_chair_days_{drug}", tally.chair_days[drug], "chair-days",
                         f"days in an infusion chair for {drug}, within the horizon"))
    for drug in drugs:
        rows.append(_row(f"iv_visits_{drug}", tally.infusions[drug], "visits",
                         f"{drug} IV visits starting within the horizon: infusions, IVIG courses or pulse courses"))
    rows.append(_row("infusion_chair_days_total", sum(tally.chair_days.values()), "chair-days",
                     "all IV treatment days (pulses, IVIG, rituximab, cyclophosphamide, tocilizumab) within the "
                     "horizon"))
    if prevalent:
        rows += [
            _row("patient_years_before_horizon", before_days / YEAR_DAYS, "patient-years",
                 "prevalent patients' follow-up before the horizon (not in patient_years)"),
            _row("ivig_g_before_horizon", tally.ivig_g_before, "g",
                 "IVIG given to prevalent patients before the horizon (not in ivig_g_total)"),
            _row("infusion_chair_days_before_horizon", tally.chair_days_before, "chair-days",
                 "prevalent patients' IV treatment days before the horizon (not in infusion_chair_days_total)"),
        ]
    if tally.unit_days:
        rows.extend(_unit_rows(tally, drugs))
    return pd.DataFrame(rows)


def _unit_rows(tally: ResourceTally, drugs: list[str]) -> list[dict]:
    """The infusion unit's waits, utilisation and queue (runs with an [infusion_unit])."""
    visits = pa.concat_tables(tally.unit_visits).to_pandas()
    days = pa.concat_tables(tally.unit_days).to_pandas()
    opened = days[days["open"]]
    available = opened["chair_hours_available"].sum()
    rows = [
        _row("infusion_visits_not_given", int(visits["start_day"].isna().sum()), "visits",
             "IV visits still queueing when their course stopped or follow-up ended"),
        _row("infusion_unit_utilisation", opened["chair_hours_used"].sum() / available if available else np.nan,
             "share", "chair-hours used / chair-hours open"),
        _row("infusion_unit_mean_queue_sessions", opened["mean_queue_sessions"].mean(), "sessions",
             "sessions queueing for a chair, mean over opening hours"),
        _row("infusion_unit_max_daily_queue_sessions", opened["mean_queue_sessions"].max(), "sessions",
             "the longest day's mean queue"),
    ]
    waits = waits_by_drug(visits).set_index("drug").reindex(drugs)  # NaN for a drug without visits
    for drug in drugs:
        rows.append(_row(f"mean_wait_days_{drug}", waits.at[drug, "mean_wait_days"], "days",
                         f"{drug} visits: mean days from due to started, closed hours included"))
        rows.append(_row(f"mean_queue_wait_days_{drug}", waits.at[drug, "mean_queue_wait_days"], "days",
                         f"{drug} visits: mean days waiting for a free chair"))
        rows.append(_row(f"p95_queue_wait_days_{drug}", waits.at[drug, "p95_queue_wait_days"], "days",
                         f"{drug} visits: 95th percentile of days waiting for a free chair"))
    return rows


def summarize_replications(patients: pd.DataFrame, tallies: dict[int, ResourceTally]
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary: mean and 95% CI per metric, by_replication: every metric for every replication)."""
    drugs = sorted(set().union(*(t.chair_days for t in tallies.values()))) if tallies else []
    prevalent = bool((patients["diagnosis_day"] < 0).any())  # the same metrics in every replication
    parts = []
    for replication, rows in patients.groupby("replication", sort=True):
        part = summarize(rows, tallies.get(replication, ResourceTally()), drugs, prevalent)
        parts.append(part.assign(replication=replication))
    by_replication = pd.concat(parts, ignore_index=True)[["replication", "metric", "value", "unit", "description"]]
    return combine_replications(by_replication), by_replication


def mean_and_interval(values) -> tuple[float, float, float]:
    """(mean, 95% CI low, high) of the values present, t-distribution; no interval from fewer than two."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if len(data) == 0:
        return np.nan, np.nan, np.nan
    mean = float(data.mean())
    if len(data) < 2:
        return mean, np.nan, np.nan
    from scipy import stats  # a second to import: only where an interval is drawn

    half = float(stats.t.ppf(0.975, len(data) - 1) * data.std(ddof=1) / np.sqrt(len(data)))
    return mean, mean - half, mean + half


def means_per_replication(frame: pd.DataFrame, keys: list[str], replications) -> pd.DataFrame:
    """One row per value of `keys` (e.g. year): each amount column's mean per replication with its 95%
    t-interval (AMOUNT, AMOUNT_ci_low, AMOUNT_ci_high), every one of `replications` counted, as 0 where `frame`
    (one row per replication and key) has no row for it."""
    amounts = [c for c in frame.columns if c not in ("replication", *keys)]
    grid = pd.MultiIndex.from_product([sorted(set(replications)),
                                       *(sorted(frame[k].unique()) for k in keys)], names=["replication", *keys])
    full = frame.groupby(["replication", *keys])[amounts].sum().reindex(grid, fill_value=0).reset_index()
    rows = []
    for key, group in full.groupby(keys, sort=True):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for amount in amounts:
            mean, low, high = mean_and_interval(group[amount])
            row.update({amount: mean, f"{amount}_ci_low": low, f"{amount}_ci_high": high})
        rows.append(row | {"replications": len(group)})
    return pd.DataFrame(rows)


def combine_replications(by_replication: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval of each metric over replications (no interval with one replication)."""
    rows = []
    for metric, group in by_replication.groupby("metric", sort=False):
        mean, low, high = mean_and_interval(group["value"])
        rows.append({"metric": metric, "value": mean, "ci_low": low, "ci_high": high,
                     "unit": group["unit"].iloc[0], "description": group["description"].iloc[0],
                     "replications": group["replication"].nunique(), "interval_method": INTERVAL_METHOD})
    return pd.DataFrame(rows)


def waits_by_drug(visits: pd.DataFrame) -> pd.DataFrame:
    """Per infusion type: visits due, given, and waits of those given (days)."""
    rows = []
    for drug, group in visits.groupby("drug", observed=True, sort=True):
        given = group.dropna(subset=["start_day"])
        rows.append({
            "drug": drug, "visits": len(group), "visits_given": len(given),
            "mean_wait_days": given["wait_days"].mean(),
            "mean_queue_wait_days": given["queue_wait_days"].mean(),
            "p95_queue_wait_days": given["queue_wait_days"].quantile(0.95) if len(given) else np.nan,
            "share_queued_over_7_days": (given["queue_wait_days"] > 7).mean() if len(given) else np.nan,
        })
    return pd.DataFrame(rows, columns=["drug", "visits", "visits_given", "mean_wait_days", "mean_queue_wait_days",
                                       "p95_queue_wait_days", "share_queued_over_7_days"])
