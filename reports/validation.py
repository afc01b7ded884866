"""The validation table: simulated results against published figures (evidence.md, the seeds).

Each target says what was published (value, definition, population, source), how
the simulation reads it, and a tolerance. Trial targets are reproduced by
simulating the trial inside the pathway: the trial's population entering the
line the trial studied, arms as scenarios run with the same seed (the same
patients), the outcome read at the trial's time point. Values are means over
replications with a 95% t-interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from scenarios import load_scenario
from scenarios.loader import deep_merge
from scenarios.schema import SUBTYPES, Scenario
from simulation.model import YEAR_DAYS
from reports.summary import mean_and_interval
from simulation.runner import collect_tables

Tables = dict[str, pd.DataFrame]


def only(*subtypes: str) -> dict:
    """Overrides restricting the cohort to some subtypes, in equal shares."""
    share = 1.0 / len(subtypes)
    return {"cohort": {"subtype_shares": {s: (share if s in subtypes else 0.0) for s in SUBTYPES}}}


def ivig_at(line: str, share: float) -> dict:
    return {"lines": {line: {"p_ivig_severe": share, "p_ivig_non_severe": share}}}


COUNTERFACTUAL_MONOTHERAPY = {"teaching_counterfactual": True,
                              "regimen": {"first_line_steroid_sparing_agent": False}}


# -- measures: one number per replication from its tables ---------------------------------------


def share_never_in_remission(t: Tables) -> float:
    return float(t["patients"]["time_to_remission_days"].isna().mean())


def responders_within(line: str, days: float) -> Callable[[Tables], float]:
    """Among patients entering `line` (first time), the share recognised in remission from it within
    `days`; deaths and escalations count as non-response (intention to treat)."""
    def measure(t: Tables) -> float:
        e = t["events"][t["events"]["is_transition"]]
        entry = e[(e["to_state"] == line) & (e["from_state"] != line)].groupby("patient_id")["day"].min()
        if entry.empty:
            return math.nan
        responses = e[(e["event"] == "respond") & (e["from_state"] == line)]
        responses = responses[responses["patient_id"].isin(entry.index)]
        delay = responses["day"].to_numpy() - entry.reindex(responses["patient_id"]).to_numpy()
        responded = set(responses["patient_id"][(delay >= 0) & (delay <= days)])
        return len(responded) / len(entry)
    return measure


def mean_months_to_withdrawal(t: Tables) -> float:
    e = t["events"]
    withdrawn = e[e["event"] == "withdraw"].groupby("patient_id")["day"].min()
    return float(withdrawn.mean() / (YEAR_DAYS / 12)) if len(withdrawn) else math.nan


def share_survivors_not_in_remission(t: Tables) -> float:
    p = t["patients"]
    alive = p[~p["died"]]
    return float((~alive["final_state"].isin(["maintenance", "drug_free_remission"])).mean())


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


# -- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str
    target: str
    published_value: float
    unit: str
    definition: str
    population: str
    source: str
    simulated_as: str
    arms: dict[str, dict] = field(default_factory=dict)
    measure: Callable[[dict[str, Tables]], float] | None = None
    tolerance: float | None = None
    published_range: tuple[float, float] | None = None
    note: str = ""

    def tolerance_text(self) -> str:
        if self.published_range is not None:
            return f"within {self.published_range[0]:g}-{self.published_range[1]:g}"
        return "" if self.tolerance is None else f"+/- {self.tolerance:g}"

    def within(self, value: float) -> bool | None:
        if value != value:
            return None
        if self.published_range is not None:
            return self.published_range[0] <= value <= self.published_range[1]
        return abs(value - self.published_value) <= self.tolerance


def _one(measure: Callable[[Tables], float]) -> Callable[[dict[str, Tables]], float]:
    return lambda arms: measure(arms["cohort"])


def _difference(measure: Callable[[Tables], float]) -> Callable[[dict[str, Tables]], float]:
    return lambda arms: measure(arms["ivig"]) - measure(arms["placebo"])


PRODERM_ARMS = {"ivig": deep_merge(only("DM"), ivig_at("second_line", 1.0)),
                "placebo": deep_merge(only("DM"), ivig_at("second_line", 0.0))}
PRODERM_NOTE = ("ProDERM's responders improved by TIS >= 20 (minimal improvement); the model's response is "
                "remission recognised at an assessment, a stricter outcome, so both arms read lower.")

TARGETS: tuple[Target, ...] = (
    Target("non_response", "Patients not responding to treatment", 0.25, "share",
           "about 25% do not respond and need alternative or experimental therapy (review figure)",
           "all IIM", "seed 000", "share never reaching remission over 5 years",
           {"cohort": {}}, _one(share_never_in_remission), tolerance=0.10),
    Target("proderm_ivig", "IVIG response at week 16, IVIG arm", 0.79, "share",
           "TIS >= 20 at week 16; IVIG 2 g/kg every 4 weeks", "adults with active DM on background therapy",
           "Aggarwal et al., ProDERM, NEJM 2022", "DM patients entering second line, IVIG added: "
           "remission within 16 weeks", PRODERM_ARMS, lambda arms: responders_within("second_line", 112)(arms["ivig"]),
           tolerance=0.10, note=PRODERM_NOTE),
    Target("proderm_placebo", "IVIG response at week 16, placebo arm", 0.44, "share",
           "TIS >= 20 at week 16", "adults with active DM on background therapy",
           "Aggarwal et al., ProDERM, NEJM 2022", "the same patients without IVIG (common random numbers)",
           PRODERM_ARMS, lambda arms: responders_within("second_line", 112)(arms["placebo"]), tolerance=0.10,
           note=PRODERM_NOTE),
    Target("proderm_difference", "IVIG minus placebo at week 16", 0.35, "share",
           "difference in TIS >= 20 responders (79% - 44%)", "adults with active DM on background therapy",
           "Aggarwal et al., ProDERM, NEJM 2022", "difference between the two simulated arms",
           PRODERM_ARMS, _difference(responders_within("second_line", 112)), tolerance=0.10,
           note="with remission as the outcome both arms read lower, and so does their difference."),
    Target("rim_rituximab", "Rituximab: improvement by week 44 in refractory disease", 0.83, "share",
           "met the IMACS definition of improvement by week 44", "refractory adult PM and DM, and JDM",
           "Oddis et al., RIM trial, Arthritis Rheum 2013",
           "PM, DM and JDM patients starting rituximab at third line: remission within 44 weeks",
           {"rituximab": deep_merge(only("DM", "PM", "JDM"), {"lines": {"third_line": {
               "options": {"rituximab": 1.0, "cyclophosphamide": 0.0, "abatacept": 0.0},
               "ild_options": {"rituximab": 1.0, "cyclophosphamide": 0.0}}}})},
           lambda arms: responders_within("third_line", 308)(arms["rituximab"]), tolerance=0.10,
           note="RIM's definition of improvement is far less strict than remission; the model has no "
                "separate 'improved' state, so it reads lower."),
    Target("treatment_duration", "Average treatment duration", 27.0, "months",
           "mean duration of treatment", "polymyositis, 107 patients (1982)", "seed 002",
           "PM patients over 10 years: mean months from diagnosis to withdrawal of all treatment, among those "
           "withdrawn", {"cohort": deep_merge(only("PM"), {"simulation": {"horizon_years": 10.0}})},
           _one(mean_months_to_withdrawal), tolerance=6.0),
    Target("residual_weakness", "Residual weakness despite treatment", 0.33, "share",
           "about one third keep muscle weakness", "treated PM", "seed 002",
           "proxy: share of PM patients alive at 5 years not in remission (in a treatment line or supportive "
           "care)", {"cohort": only("PM")}, _one(share_survivors_not_in_remission), tolerance=0.10,
           note="a proxy that reads low: residual weakness includes damage in patients in remission, and the "
                "model tracks remission, not muscle strength."),
    Target("survival_5y", "5-year survival", 0.95, "share",
           "5-year survival of treated patients; published cohorts range from 63% (DM, Finland) to 92% "
           "(Hungary)", "treated IIM", "seed 002; Airio 2006; Arthritis Res Ther 2012;14:R22; Danko",
           "share alive at 5 years", {"cohort": {"simulation": {"horizon_years": 5.0}}},
           _one(survival_at(5.0)), published_range=(0.63, 0.95),
           note="seed 002's 95% is above every published cohort; the tolerance is the cohorts' range."),
    Target("gc_monotherapy_failure", "Glucocorticoid monotherapy failure", 0.86, "share",
           "glucocorticoid alone fails in 86% (unverified: no primary source traced)", "IIM",
           "seed 001 (unverified)", "the matching counterfactual (no steroid-sparing agent at first line): share "
           "whose first-line induction ends without remission",
           {"counterfactual": COUNTERFACTUAL_MONOTHERAPY},
           lambda arms: share_failing_first_line(arms["counterfactual"]), tolerance=0.10,
           note="the counterfactual's response probability is this figure's complement, so the row checks the "
                "mechanism, not the number."),
    Target("hmgcr_without_gc", "Statin anti-HMGCR: remission without glucocorticoids", 0.25, "share",
           "remission without glucocorticoid; 10% failed triple induction", "statin-associated anti-HMGCR IMNM",
           "Arthritis Res Ther 2019 (doi 10.1186/s13075-019-2093-6)", "not simulated",
           note="not reproducible: the pathway always gives anti-HMGCR IMNM glucocorticoid with combination "
                "therapy from the outset (seed 001); a glucocorticoid-free arm would need a response figure "
                "that is this target itself."),
)


def _replications(tables: dict[str, pd.DataFrame], replications: int) -> list[Tables]:
    return [{name: frame[frame["replication"] == r] for name, frame in tables.items()} for r in range(replications)]


def validate(scenario: str = "baseline", patients: int = 2000, replications: int = 5, seed: int | None = None,
             workers: int = 1, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Simulate every target's arms and compare with the published values."""
    base = {"simulation": {"patients": patients, "replications": replications,
                           **({"seed": seed} if seed is not None else {})}}
    cache: dict[str, list[Tables]] = {}
    rows = []
    for target in TARGETS:
        values: list[float] = []
        if target.measure is not None:
            per_arm = {}
            for arm, overrides in target.arms.items():
                resolved: Scenario = load_scenario(scenario, deep_merge(base, overrides))
                key = resolved.model_dump_json()
                if key not in cache:
                    if progress:
                        progress(f"{target.key}: simulating {arm}")
                    tables = {name: t.to_pandas() for name, t in collect_tables(resolved, workers).items()}
                    cache[key] = _replications(tables, replications)
                per_arm[arm] = cache[key]
            values = [target.measure({arm: runs[r] for arm, runs in per_arm.items()}) for r in range(replications)]
        mean, low, high = mean_and_interval(values)
        rows.append({
            "target": target.target, "published_value": target.published_value, "unit": target.unit,
            "published_definition": target.definition, "population": target.population, "source": target.source,
            "simulated_as": target.simulated_as, "simulated_mean": mean, "ci_low": low, "ci_high": high,
            "tolerance": target.tolerance_text(), "within_tolerance": target.within(mean), "note": target.note,
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, command: str) -> str:
    def fmt(value: float, unit: str) -> str:
        if value != value:
            return ""
        return f"{100 * value:.1f}%" if unit == "share" else f"{value:.1f}"

    lines = [f"Produced by `{command}`.", "",
             "| target | published | simulated (95% CI) | tolerance | within | population, source | simulated as |",
             "|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        unit = row.unit
        simulated = fmt(row.simulated_mean, unit)
        if row.ci_low == row.ci_low:
            simulated += f" ({fmt(row.ci_low, unit)} to {fmt(row.ci_high, unit)})"
        within = {True: "yes", False: "**no**", None: "n/a"}[row.within_tolerance]
        tolerance = row.tolerance
        if unit == "share" and row.tolerance.startswith("+/-"):
            tolerance = f"+/- {100 * float(row.tolerance[4:]):g} points"
        elif unit == "share" and row.tolerance.startswith("within"):
            low, high = row.tolerance[7:].split("-")
            tolerance = f"{100 * float(low):g}-{100 * float(high):g}%"
        note = f" {row.note}" if row.note else ""
        lines.append(f"| {row.target} | {fmt(row.published_value, unit)}: {row.published_definition} | "
                     f"{simulated or 'not simulated'} | {tolerance} | {within} | {row.population}; {row.source} | "
                     f"{row.simulated_as}.{note} |")
    return "\n".join(lines) + "\n"
