"""One synthetic patient for teaching: simulated with chosen attributes, then read week by week.

"Week w" is the course up to the end of that week: what happened on days before (w + 1) x 7, the story's
sentences of weeks up to w (`reports.patient_story.narrative` files a sentence under day // 7).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

import pandas as pd

import iimsim
from iimsim.pathway.definition import LINE_OF_STATE, TRANSITIONS, TransitionSpec
from iimsim.pathway.glucocorticoids import GLUCOCORTICOIDS
from iimsim.pathway.guards import GUARDS
from iimsim.pathway.rules import is_juvenile
from iimsim.reports.patient_story import narrative
from iimsim.simulation.runner import simulate_patient
from iimsim.simulation.tables import YEAR_DAYS

WEEK_DAYS = 7.0
# Comorbidities and features at diagnosis a teacher can choose: each forced on (probability 1) or off (0) for
# the patient through the scenario's cohort, so the rest of the patient's draws stay as they are.
COMORBIDITY_PATHS = {
    "diabetes": "cohort.{comorbidity}.p_diabetes",
    "osteoporosis": "cohort.{comorbidity}.p_osteoporosis",
    "glaucoma": "cohort.{comorbidity}.p_glaucoma",
    "high relapse risk": "cohort.{comorbidity}.p_high_relapse_risk",
    "interstitial lung disease": "cohort.p_ild.{subtype}",
    "an associated cancer": "cohort.p_cancer_associated.{subtype}",
}


def patient_overrides(subtype: str, comorbidities: Iterable[str]) -> dict[str, float]:
    """Scenario overrides giving a patient of `subtype` exactly the chosen comorbidities and none of the others."""
    chosen = set(comorbidities)
    unknown = sorted(chosen - set(COMORBIDITY_PATHS))
    if unknown:
        raise ValueError(f"unknown comorbidity {', '.join(unknown)}: choose from {', '.join(COMORBIDITY_PATHS)}")
    comorbidity = "juvenile_comorbidity" if is_juvenile(subtype) else "comorbidity"  # (a child's rates are its own)
    return {path.format(subtype=subtype, comorbidity=comorbidity): 1.0 if name in chosen else 0.0
            for name, path in COMORBIDITY_PATHS.items()}


def simulate_one(scenario: str, *, patient_id: int, subtype: str, severe: bool, weight_kg: float,
                 comorbidities: Iterable[str] = (), years: float | None = None) -> dict[str, pd.DataFrame]:
    """One patient's tables (patients, events, doses, assessments) as `iimsim patient` simulates them: patient
    `patient_id` of the scenario's cohort with the chosen subtype, severity, weight and comorbidities."""
    resolved = iimsim.resolve(scenario, years=years, **patient_overrides(subtype, comorbidities))
    tables = simulate_patient(resolved, patient_id, subtype=subtype, severe=severe, weight_kg=weight_kg)
    return {name: table.to_pandas() for name, table in tables.items()}


def last_week(patient: pd.Series) -> int:
    """The week in which follow-up ends (death or the horizon)."""
    return int(patient["followup_days"] // WEEK_DAYS)


def horizon_week(horizon_years: float) -> int:
    """The week in which the scenario's horizon falls: as far as a teacher may step, whenever the patient dies
    (the steps must not give the death away)."""
    return int(horizon_years * YEAR_DAYS // WEEK_DAYS)


def week_end_day(week: int) -> float:
    """The first day after week `week`: the course up to the end of the week is everything before it."""
    return (week + 1) * WEEK_DAYS


def state_at_end_of_week(events: pd.DataFrame, week: int) -> str:
    """The pathway state at the end of week `week`."""
    moves = events[events["is_transition"] & (events["day"] < week_end_day(week))]
    return "diagnosis" if moves.empty else str(moves.sort_values("day", kind="stable")["to_state"].iloc[-1])


# Guards the tables cannot settle: whether another agent is left in the line depends on those the patient has
# not yet tried or tolerated.
UNSETTLED_GUARDS = frozenset({"can_switch_agent"})


def _guard_facts(patient: pd.Series, events: pd.DataFrame, week: int) -> SimpleNamespace:
    """What the pathway's guards read about the patient at the end of week `week`: subtype and severity, and
    the line on which remission was last reached (0: never)."""
    moves = events[events["is_transition"] & (events["day"] < week_end_day(week))
                   & (events["to_state"] == "maintenance") & (events["event"] == "respond")]
    line = 0 if moves.empty else LINE_OF_STATE[moves.sort_values("day", kind="stable")["from_state"].iloc[-1]] or 0
    return SimpleNamespace(subtype=str(patient["subtype"]), severe=patient["severity"] == "severe", remission_line=line)


def next_moves(state: str, patient: pd.Series, events: pd.DataFrame, week: int) -> list[TransitionSpec]:
    """The transitions that may take the patient out of `state` next, as the machine would try them: for each
    trigger, in order, those whose guard holds for this patient or cannot be settled from the tables, up to the
    first that surely applies (the ones after it are never reached)."""
    facts = _guard_facts(patient, events, week)
    moves, settled = [], set()
    for t in TRANSITIONS:
        if t.source != state or t.trigger in settled:
            continue
        holds = True if t.guard is None else None if t.guard in UNSETTLED_GUARDS else GUARDS[t.guard](facts)
        if holds is False:
            continue
        moves.append(t)
        if holds:
            settled.add(t.trigger)
    return moves


def glucocorticoid_mg_per_day(doses: pd.DataFrame, day: float) -> float:
    """Prednisone-equivalent mg/day on `day` (days since diagnosis), summed over the glucocorticoids given."""
    rows = doses[doses["drug"].isin(GLUCOCORTICOIDS) & (doses["start_day"] <= day) & (doses["end_day"] > day)]
    return float(rows["prednisone_eq_mg_per_day"].sum())


def last_assessment(assessments: pd.DataFrame, week: int) -> pd.Series | None:
    """The most recent clinic assessment up to the end of week `week`, if any."""
    seen = assessments[assessments["day"] < week_end_day(week)]
    return None if seen.empty else seen.sort_values("day", kind="stable").iloc[-1]


def story(tables: dict[str, pd.DataFrame]) -> list[tuple[int, list[str]]]:
    """The whole story: (week, sentences) for every week in which something happened."""
    return narrative(tables["patients"].iloc[0], tables["events"], tables["doses"], tables.get("assessments"))


def story_so_far(weeks: list[tuple[int, list[str]]], week: int) -> list[tuple[int, list[str]]]:
    return [(w, sentences) for w, sentences in weeks if w <= week]


def next_story_week(weeks: list[tuple[int, list[str]]], week: int) -> int | None:
    """The next week after `week` in which something happens, or None after the last."""
    later = [w for w, _ in weeks if w > week]
    return min(later) if later else None


def previous_story_week(weeks: list[tuple[int, list[str]]], week: int) -> int | None:
    earlier = [w for w, _ in weeks if w < week]
    return max(earlier) if earlier else None
