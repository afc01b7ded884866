"""Trial endpoints and cohort measures: one number per replication, read from a run's tables.

A trial's arm is the patients entering the line it studied; its endpoint (TIS, the IMACS definition of
improvement, PRINTO20) is read from the `assessments` table at the trial's time point, as trials do: the last
visit in the window, carried forward at most one interval, and rescue therapy (escalation, a flare needing more
glucocorticoid) or death counted as non-response.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from iimsim.simulation.tables import YEAR_DAYS

Tables = dict[str, pd.DataFrame]


def share_never_in_remission(t: Tables) -> float:
    return float(t["patients"]["time_to_remission_days"].isna().mean())


def _first_entry(t: Tables, line: str) -> pd.Series:
    """Each patient's first day on `line` (entered from another state)."""
    e = t["events"][t["events"]["is_transition"]]
    return e[(e["to_state"] == line) & (e["from_state"] != line)].groupby("patient_id")["day"].min()


def not_entering_in_a_flare(line: str, measure: Callable[[Tables], float],
                            rise: float = 0.15) -> Callable[[Tables], float]:
    """`measure` over the patients who enter `line` with active disease on stable therapy rather than in a flare:
    a patient whose measured activity at entry is `rise` (the clinic's flare criterion, assessment.flare_rise) or
    more above the lowest measured since their previous episode began (the clinic's own reference for a flare)
    is left out, as a trial asking for stable background therapy would not enrol them (a flare is treated with
    more glucocorticoid first)."""
    def filtered(t: Tables) -> float:
        entry = _first_entry(t, line)
        e = t["events"]
        e = e[e["is_transition"] & e["patient_id"].isin(entry.index)]
        e = e[e["day"].to_numpy() < entry.reindex(e["patient_id"]).to_numpy()]
        episode = e.groupby("patient_id")["day"].max()  # the previous episode began at the last transition
        a = t["assessments"]
        a = a[a["patient_id"].isin(entry.index)]
        since = a["day"].to_numpy() - entry.reindex(a["patient_id"]).to_numpy()
        began = episode.reindex(a["patient_id"]).fillna(-math.inf).to_numpy()
        at_entry = a[since == 0].groupby("patient_id")["activity_measured"].last()
        before = a[(since < 0) & (a["day"].to_numpy() >= began)].groupby("patient_id")["activity_measured"].min()
        flaring = at_entry - before.reindex(at_entry.index) >= rise - 1e-9
        out = set(flaring.index[flaring.fillna(False).to_numpy(dtype=bool)])
        return measure({name: (frame[~frame["patient_id"].isin(out)] if "patient_id" in frame else frame)
                        for name, frame in t.items()})
    return filtered


def _trial_assessments(t: Tables, line: str, until_days: float) -> tuple[pd.Series, pd.DataFrame]:
    """Patients entering `line` and their assessments up to `until_days` after entry while still on the line's
    treatment (on it, or in remission from it); `since_entry_days` counts from entry. A patient who escalated,
    flared (rescue therapy) or died has no assessment after that: a non-responder, as trials count them."""
    entry = _first_entry(t, line)
    a = t["assessments"]
    a = a[a["patient_id"].isin(entry.index) & a["state"].isin([line, "maintenance"])]
    a = a.assign(since_entry_days=a["day"].to_numpy() - entry.reindex(a["patient_id"]).to_numpy())
    a = a[(a["since_entry_days"] > 0) & (a["since_entry_days"] <= until_days)]
    # Escalation, a flare needing more glucocorticoid (rescue therapy) or death ends the trial's follow-up.
    left = t["events"][t["events"]["is_transition"] & (t["events"]["event"].isin(["fail", "flare", "die"]))]
    left = left[left["patient_id"].isin(entry.index)]
    left = left.assign(since=left["day"].to_numpy() - entry.reindex(left["patient_id"]).to_numpy())
    first_left = left[left["since"] > 0].groupby("patient_id")["since"].min()
    a = a[a["since_entry_days"] < first_left.reindex(a["patient_id"]).fillna(math.inf).to_numpy()]
    return entry, a.assign(left_days=first_left.reindex(a["patient_id"]).fillna(math.inf).to_numpy())


# An endpoint is read at the patient's last visit up to four weeks after the trial's time point (its visit
# window), looking back at most one interval between visits in remission (3 months), as trials carry the last
# observation forward; a patient who failed, flared or died within the window is a non-responder.
ENDPOINT_AFTER_DAYS = 28.0
ENDPOINT_LOOKBACK_DAYS = 91.0


def _at_time_point(t: Tables, line: str, days: float) -> tuple[pd.Series, pd.DataFrame]:
    entry, a = _trial_assessments(t, line, days + ENDPOINT_AFTER_DAYS)
    a = a[(a["since_entry_days"] >= days - ENDPOINT_LOOKBACK_DAYS) & (a["left_days"] > days)]
    return entry, a.loc[a.groupby("patient_id")["since_entry_days"].idxmax()]


def _share_meeting(entry: pd.Series, rows: pd.DataFrame, column: str, threshold: float | None) -> float:
    """Share of the patients who entered with a row meeting the endpoint: `column` true, or at least `threshold`."""
    if entry.empty:
        return math.nan
    met = rows[column] if threshold is None else rows[column] >= threshold
    return float(rows.loc[met, "patient_id"].nunique() / len(entry))


def at_week(line: str, week: float, column: str, threshold: float | None = None) -> Callable[[Tables], float]:
    """Share of patients entering `line` meeting an endpoint at `week`."""
    return lambda t: _share_meeting(*_at_time_point(t, line, 7.0 * week), column, threshold)


def mean_at_week(line: str, week: float, column: str) -> Callable[[Tables], float]:
    """Mean of `column` at `week` among patients still on the line's treatment."""
    def measure(t: Tables) -> float:
        _, last = _at_time_point(t, line, 7.0 * week)
        return float(last[column].mean()) if len(last) else math.nan
    return measure


def by_week(line: str, week: float, column: str, threshold: float | None = None) -> Callable[[Tables], float]:
    """Share of patients entering `line` meeting the endpoint at any assessment by `week`."""
    return lambda t: _share_meeting(*_trial_assessments(t, line, 7.0 * week), column, threshold)


def weeks_to_first(t: Tables, line: str, week: float, column: str) -> pd.Series:
    """Weeks from entering `line` to first meeting `column`, for each patient meeting it by `week`."""
    _, a = _trial_assessments(t, line, 7.0 * week)
    return a[a[column]].groupby("patient_id")["since_entry_days"].min() / 7.0


def median_weeks_to(line: str, week: float, column: str) -> Callable[[Tables], float]:
    """Median weeks from entering `line` to first meeting `column`, among those meeting it by `week`."""
    def measure(t: Tables) -> float:
        first = weeks_to_first(t, line, week, column)
        return float(first.median()) if len(first) else math.nan
    return measure


def mean_months_to_withdrawal(t: Tables) -> float:
    e = t["events"]
    withdrawn = e[e["event"] == "withdraw"].groupby("patient_id")["day"].min()
    return float(withdrawn.mean() / (YEAR_DAYS / 12)) if len(withdrawn) else math.nan


def share_weak_among_survivors(t: Tables) -> float:
    alive = t["patients"][~t["patients"]["died"]]
    return float(alive["residual_weakness"].mean())


def survival_at(years: float) -> Callable[[Tables], float]:
    def measure(t: Tables) -> float:
        return float((t["patients"]["followup_days"] >= years * YEAR_DAYS - 1e-9).mean())
    return measure


def share_failing_first_line(t: Tables) -> float:
    """Among patients whose first-line induction ended in a decision (not death), the share not remitting."""
    e = t["events"]
    out = e[e["is_transition"] & (e["from_state"] == "first_line") & (e["to_state"] != "first_line")
            & (e["to_state"] != "dead")]
    first = out.groupby("patient_id")["event"].first()
    return float((first != "respond").mean()) if len(first) else math.nan


def share_without_improvement_at_6_months(t: Tables) -> float:
    """Among patients followed 6 months, the share whose TIS from diagnosis is below minimal (20)."""
    tis = t["patients"]["tis_6_months"].dropna()
    return float((tis < 20).mean()) if len(tis) else math.nan


def share_with_a_flare(t: Tables) -> float:
    return float((t["patients"]["flares"] > 0).mean())


def standardised_mortality_ratio(t: Tables) -> float:
    """Deaths observed over those the general population of the same ages and sexes would have had over the same
    follow-up (the patients table's population_expected_deaths)."""
    p = t["patients"]
    expected = float(p["population_expected_deaths"].sum())
    return float(p["died"].sum()) / expected if expected > 0 else math.nan


def cumulative_hazard_ratio(column: str, years: float) -> Callable[[Tables], float]:
    """The ratio of the cumulative hazards of death by `years` (-log survival) of patients with `column` true to
    those without: what a proportional-hazards ratio reads as, without the model."""
    def measure(t: Tables) -> float:
        p = t["patients"]
        survived = p["followup_days"] >= years * YEAR_DAYS - 1e-9
        with_it, without = survived[p[column]].mean(), survived[~p[column]].mean()
        if not 0 < with_it < 1 or not 0 < without < 1:
            return math.nan
        return math.log(with_it) / math.log(without)
    return measure


def survival_within(days: float) -> Callable[[Tables], float]:
    """Share of patients alive `days` after diagnosis (or followed to it)."""
    return lambda t: float((t["patients"]["followup_days"] >= days - 1e-9).mean())


def _alive_at(t: Tables, day: float) -> pd.Index:
    p = t["patients"]
    return pd.Index(p.loc[p["followup_days"] >= day, "patient_id"])


def share_off_glucocorticoid_at(years: float) -> Callable[[Tables], float]:
    """Among patients alive `years` after diagnosis, the share on no glucocorticoid that day."""
    def measure(t: Tables) -> float:
        day = years * YEAR_DAYS - 0.5
        alive = _alive_at(t, day + 0.5)
        d = t["doses"]
        on = d[d["prednisone_eq_mg_per_day"].notna() & (d["prednisone_eq_mg_per_day"] > 0) & (d["start_day"] <= day)
               & (d["end_day"] > day)]["patient_id"]
        return float(1 - alive.isin(on).mean()) if len(alive) else math.nan
    return measure


def share_in_drug_free_remission_at(years: float) -> Callable[[Tables], float]:
    """Among patients alive `years` after diagnosis, the share in drug-free remission that day."""
    def measure(t: Tables) -> float:
        day = years * YEAR_DAYS - 0.5
        alive = _alive_at(t, day + 0.5)
        e = t["events"]
        moves = e[e["is_transition"] & (e["day"] <= day)]
        state = moves.groupby("patient_id")["to_state"].last()
        free = state[state == "drug_free_remission"].index
        return float(alive.isin(free).mean()) if len(alive) else math.nan
    return measure


def share_off_glucocorticoid_for_good_by(years: float) -> Callable[[Tables], float]:
    """Among patients alive `years` after diagnosis, the share whose glucocorticoid stopped by then and never
    restarted while followed: a registry's "final discontinuation" (the tables' horizon says how long after)."""
    def measure(t: Tables) -> float:
        day = years * YEAR_DAYS - 0.5
        alive = _alive_at(t, day + 0.5)
        d = t["doses"]
        on = d[d["prednisone_eq_mg_per_day"].notna() & (d["prednisone_eq_mg_per_day"] > 0) & (d["end_day"] > day)]
        return float(1 - alive.isin(on["patient_id"]).mean()) if len(alive) else math.nan
    return measure


def share_reaching_drug_free_remission_by(years: float, lasting_days: float) -> Callable[[Tables], float]:
    """The share who by `years` have been in drug-free remission for `lasting_days` without a break (a registry's
    "remission": inactive off all treatment for months), among those alive then or reaching it before death."""
    def measure(t: Tables) -> float:
        by_day = years * YEAR_DAYS
        p = t["patients"].set_index("patient_id")
        e = t["events"]
        moves = e[e["is_transition"]].sort_values(["patient_id", "day"], kind="stable")
        left_day = moves.groupby("patient_id")["day"].shift(-1)
        left_day = left_day.fillna(moves["patient_id"].map(p["followup_days"]))
        stays = moves[(moves["to_state"] == "drug_free_remission")]
        lasted = stays[(left_day[stays.index] - stays["day"] >= lasting_days)
                       & (stays["day"] + lasting_days <= by_day)]["patient_id"].unique()
        counted = p.index[(p["followup_days"] >= by_day - 1e-9) | p.index.isin(lasted)]
        return float(counted.isin(lasted).mean()) if len(counted) else math.nan
    return measure
