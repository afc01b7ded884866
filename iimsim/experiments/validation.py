"""The validation table: simulated results against published figures (their sources in docs/sources.md).

Each target says what was published (value, definition, population, source), how
the simulation reads it, and a tolerance. Trial targets are reproduced by
simulating the trial inside the pathway: the trial's population entering the
line the trial studied, arms as scenarios run with the same seed (the same
patients), the outcome read at the trial's time point. Values are means over
replications with a 95% t-interval.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from iimsim.reports.validation_table import to_markdown
from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import deep_merge
from iimsim.scenarios.schema import DRUGS, SUBTYPES, Scenario
from iimsim.reports.summary import mean_and_interval
from iimsim.simulation.runner import collect_tables
from iimsim.reports.trial_endpoints import (  # noqa: F401  (the measures are the targets' vocabulary)
    Tables,
    at_week,
    by_week,
    cumulative_hazard_ratio,
    mean_at_week,
    mean_months_to_withdrawal,
    median_weeks_to,
    not_entering_in_a_flare,
    share_failing_first_line,
    share_reaching_drug_free_remission_by,
    share_never_in_remission,
    share_off_glucocorticoid_for_good_by,
    share_weak_among_survivors,
    share_with_a_flare,
    share_without_improvement_at_6_months,
    standardised_mortality_ratio,
    survival_at,
    survival_within,
    weeks_to_first,
)


def only(*subtypes: str) -> dict:
    """Overrides restricting the cohort to some subtypes, in equal shares."""
    share = 1.0 / len(subtypes)
    return {"cohort": {"subtype_shares": {s: (share if s in subtypes else 0.0) for s in SUBTYPES}}}


def ivig_at(line: str, share: float) -> dict:
    return {"lines": {line: {"p_ivig_severe": share, "p_ivig_non_severe": share}}}


COUNTERFACTUAL_MONOTHERAPY = {"teaching_counterfactual": True,
                              "regimen": {"first_line_steroid_sparing_agent": False}}


# -- trial arms ---------------------------------------------------------------------------------

PLACEBO = {"agents": {"placebo": {
    "source": "a trial's placebo: no effect, added to background therapy", "route": "subcutaneous",
    "kind": "titrated", "dose_unit": "mg/week", "start_dose": 0.0, "target_dose": 0.0, "full_effect_days": 0.0,
    "p_intolerance": 0.0, "intolerance_window_days": 28.0, "effect": 0.0}}}
# Background therapy stays as it was when the trial starts: no re-induction dose on entry, and the
# glucocorticoid dose held for the trial's 24 weeks (trials ask for stable background doses).
STABLE_BACKGROUND = {"glucocorticoids": {"raise_on_escalation": False, "escalation_hold_days": 168.0}}


OPTION_TABLES = ("options", "ild_options", "rp_ild_options")


def _zeroed(line: str) -> dict[str, float]:
    """Every option the built-in scenario's `line` offers in any of its tables, and every single drug, at 0."""
    section = load_scenario("baseline").lines.model_dump()[line]
    keys = {key for table in OPTION_TABLES for key in section[table]}
    keys |= {key for table in section["subtype_options"].values() for key in table}
    return {key: 0.0 for key in sorted(keys | {d for d in DRUGS if d != "placebo"})}


def only_option(line: str, drug: str) -> dict:
    """`line` gives `drug` alone, with ILD or without, whatever the scenario's options (option weights merge, so
    the rest are zeroed)."""
    weights = {**_zeroed(line), drug: 1.0}
    return {"lines": {line: {table: weights for table in OPTION_TABLES}}}


def third_line_with(drug: str) -> dict:
    return only_option("third_line", drug)


def merged(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out = deep_merge(out, part)
    return out


def trial_protocol(line: str, weeks: float) -> dict:
    """A trial keeps its patients on the treatment they were randomised to until its time point: no escalation
    for too little improvement before it (the clinic's 12-week and 6-month windows); rescue for worsening (a
    flare) still ends a patient's follow-up. ProDERM switched placebo patients only on confirmed deterioration
    (Aggarwal et al., Arthritis Res Ther 2023, figure 1)."""
    days = 2.0 * 7.0 * weeks  # (twice the time point: no clinician's clock, `failure_window_sd`, reaches it first)
    return {"lines": {line: {"minimal_improvement_by_days": days, "failure_assessment_days": days,
                             "max_days_on_line": max(days, 365.0)}}}


def added_at(line: str, drug: str, ivig: bool = False) -> dict:
    """A trial at `line`: `drug` (or placebo) added to the background agent, IVIG to all or none."""
    return merged(PLACEBO, STABLE_BACKGROUND, only_option(line, drug), ivig_at(line, 1.0 if ivig else 0.0))


def first_line_for(subtype: str, option: dict[str, float]) -> dict:
    """`subtype`'s first line gives `option` (a trial arm's drugs) alone, with ILD or without.

    Option weights merge with the scenario's, so every other drug is zeroed (else the subtype's own agent
    would stay beside the arm's); the ILD table, which a patient with ILD gets before the subtype's, is set
    to it too (for a cohort of that subtype alone)."""
    weights = {**_zeroed("first_line"), **option}
    return {"lines": {"first_line": {"subtype_options": {subtype: weights}, "ild_options": weights,
                                     "rp_ild_options": weights}}}


ADULT_DM_PM = ("DM", "PM")
NON_SEVERE = {"cohort": {"severity": {
    "p_weakness_below_mrc4": {s: 0.0 for s in SUBTYPES}, "p_respiratory_failure_given_ild": 0.0,
    "p_myocarditis": 0.0, "p_severe_dysphagia": 0.0, "p_other_life_threatening": 0.0}}}
def years(horizon: float) -> dict:
    return {"simulation": {"horizon_years": horizon}}


PRODERM_ARMS = {"ivig": merged(only("DM"), added_at("second_line", "placebo", ivig=True), years(2.0),
                               trial_protocol("second_line", 16)),
                "placebo": merged(only("DM"), added_at("second_line", "placebo", ivig=False), years(2.0),
                                  trial_protocol("second_line", 16))}
RIM_ARM = {"rituximab": merged(only("DM", "PM", "JDM"), third_line_with("rituximab"), STABLE_BACKGROUND,
                               ivig_at("third_line", 0.0),
                                   {"simulation": {"horizon_years": 4.0}}, trial_protocol("third_line", 44))}
# RIM was a placebo-phase trial: rituximab at weeks 0 and 1 ("early") or, after 8 weeks of placebo, at weeks 8
# and 9 ("late"), in groups of about equal size (93 and 102); its endpoints count from randomisation and pool the
# two groups (161 of 195 met the definition by week 44). Both arms here are the same patients.
RIM_ARMS = {"early": RIM_ARM["rituximab"],
            "late": merged(RIM_ARM["rituximab"], {"lines": {"third_line": {"agent_start_day": 56.0}}})}


def _pooled_share(measure: Callable[[Tables], float]) -> Callable[[dict[str, Tables]], float]:
    """A share over a trial's randomised groups of equal size (the same patients in each arm): their mean."""
    return lambda arms: sum(measure(t) for t in arms.values()) / len(arms)


def _pooled_median_weeks_to(line: str, week: float, column: str) -> Callable[[dict[str, Tables]], float]:
    """The median time to first meeting `column` over a trial's randomised groups pooled."""
    return lambda arms: float(pd.concat([weeks_to_first(t, line, week, column) for t in arms.values()]).median())
ABATACEPT_ARMS = {"abatacept": merged(only(*ADULT_DM_PM), added_at("third_line", "abatacept"),
                                          {"simulation": {"horizon_years": 4.0}}, trial_protocol("third_line", 24)),
                  "placebo": merged(only(*ADULT_DM_PM), added_at("third_line", "placebo"),
                                        {"simulation": {"horizon_years": 4.0}}, trial_protocol("third_line", 24))}
TOCILIZUMAB_ARMS = {"tocilizumab": merged(only(*ADULT_DM_PM), added_at("third_line", "tocilizumab"),
                                              {"simulation": {"horizon_years": 4.0}},
                                          trial_protocol("third_line", 24)),
                    "placebo": ABATACEPT_ARMS["placebo"]}
# PRINTO's protocol taper, in every arm (Giancane et al., Pediatr Rheumatol 2019;17:24, on the trial's
# protocol: after methylprednisolone pulses, prednisone 2 mg/kg/day, down to 1 mg/kg/day by month 2, 0.5 by month 4
# and 0.2 by month 6, each step taken only if the core-set measures improve). The scenario's ladder is in mg/day:
# this is that taper for a child of 28 kg (the cohort's mean JDM weight): 55 mg held 4 weeks, then 40, 30, 25, 20,
# 15 and 2.5 mg steps every 2.5 weeks (30 mg at week 6.5, 15 at week 14, 5 at week 24), a little slower than seed
# 001's ladder (25 mg at week 8, 12.5 at week 16, 2.5 at week 24); heavier children's mg/kg protocol would be slower
# still. The clinic still holds a step while the patient is not improving, as the protocol did.
PRINTO_PROTOCOL = {"glucocorticoids": {"initial_hold_days": 28.0, "initial_hold_max_days": 28.0, "taper_ladder_mg_per_day": [40.0, 30.0, 25.0, 20.0,
                                                                                              15.0],
                                       "ladder_step_days": 17.5, "low_dose_step_days": 17.5}}
# A trial arm gives its drug to every child randomised to it: the scenario's contraindication with ILD is the
# pathway's rule, not the trial's.
TRIAL_ARM_WITH_ILD = {"agents": {"methotrexate": {"contraindicated_with_ild": False}}}
PRINTO_ARMS = {"prednisone": merged(only("JDM"), COUNTERFACTUAL_MONOTHERAPY, PRINTO_PROTOCOL, years(1.0)),
               "ciclosporin": merged(only("JDM"), first_line_for("JDM", {"ciclosporin": 1.0}), PRINTO_PROTOCOL,
                                     years(1.0)),
               "methotrexate": merged(only("JDM"), first_line_for("JDM", {"methotrexate": 1.0}), PRINTO_PROTOCOL,
                                      years(1.0), TRIAL_ARM_WITH_ILD)}
# Anti-MDA5 rapidly progressive ILD (Tsuji et al. 2020): every DM patient anti-MDA5 with RP-ILD; the combined
# regimen is the pathway's, the historical step-up arm glucocorticoid alone at first (immunosuppressants only as
# the pathway escalates), on the same patients.
_RP_ILD_DM = merged(only("DM"), years(1.0), {"cohort": {
    "autoantibodies": {"DM": {"anti_mda5": 1.0, "anti_mi2": 0.0, "anti_tif1g": 0.0, "anti_nxp2": 0.0, "anti_sae": 0.0}},
    "p_rp_ild_given_anti_mda5": 1.0}})
# Kishi et al.'s registry: JDM from diagnosis, followed past 5 years so that a "final" discontinuation is one
# not undone in the next three.
JDM_REGISTRY = {"registry": merged(only("JDM"), years(8.0))}
RP_ILD_ARMS = {"combined": _RP_ILD_DM, "step_up": merged(_RP_ILD_DM, COUNTERFACTUAL_MONOTHERAPY)}
LIM_ARM = {"ivig": merged(only("DM", "PM", "IMNM_HMGCR", "IMNM_SRP", "ASS"), NON_SEVERE, years(0.5),
                              {"teaching_counterfactual": True, "regimen": {"induction_glucocorticoid": False},
                               **only_option("first_line", "ivig")})}


def _arm(name: str, measure: Callable[[Tables], float]) -> Callable[[dict[str, Tables]], float]:
    return lambda arms: measure(arms[name])


def _difference(a: str, b: str, measure: Callable[[Tables], float]) -> Callable[[dict[str, Tables]], float]:
    return lambda arms: measure(arms[a]) - measure(arms[b])


FITTED, HELD_OUT, INPUT_CHECK = "fitted", "held_out", "input_check"
ROLE_WORDS = {FITTED: "fitted", HELD_OUT: "held out", INPUT_CHECK: "input check"}


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
    # fitted: used by `iimsim calibrate`, or to set a parameter by hand; held_out: never used to set or design
    # anything, the check of the fit; input_check: reads back an input (not counted as a check)
    role: str = HELD_OUT

    @property
    def fitted(self) -> bool:
        return self.role == FITTED

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

    def miss(self, value: float) -> float:
        """How far outside the target, in tolerances (0 inside a range); for calibration."""
        if value != value:
            return 10.0
        if self.published_range is not None:
            low, high = self.published_range
            return max(low - value, value - high, 0.0) / max(high - low, 1e-9)
        return (value - self.published_value) / self.tolerance


def _proderm_simulation(arm: str, threshold: float) -> tuple[dict, Callable[[dict[str, Tables]], float]]:
    return PRODERM_ARMS, _arm(arm, not_entering_in_a_flare("second_line", at_week("second_line", 16,
                                                                                "tis_from_line_start", threshold)))


# How each target is re-enacted: its arms (scenario overrides, run on the same patients) and what is measured of
# them; None: not simulated. What was published, by whom, the tolerance and the role are data, in TARGETS_FILE.
SIMULATIONS: dict[str, tuple[dict, Callable[[dict[str, Tables]], float]] | None] = {
    'non_response': ({"cohort": {}}, _arm("cohort", share_never_in_remission)),
    'proderm_ivig_20': _proderm_simulation('ivig', 20),
    'proderm_placebo_20': _proderm_simulation('placebo', 20),
    'proderm_difference': (PRODERM_ARMS, _difference("ivig", "placebo", not_entering_in_a_flare("second_line", at_week(
               "second_line", 16, "tis_from_line_start", 20)))),
    'proderm_ivig_40': _proderm_simulation('ivig', 40),
    'proderm_ivig_60': _proderm_simulation('ivig', 60),
    'proderm_placebo_40': _proderm_simulation('placebo', 40),
    'proderm_placebo_60': _proderm_simulation('placebo', 60),
    'proderm_mean_tis': (PRODERM_ARMS, _arm("ivig", not_entering_in_a_flare("second_line", mean_at_week("second_line", 16,
                                                                            "tis_from_line_start")))),
    'rim_rituximab': (RIM_ARMS, _pooled_share(by_week("third_line", 44, "imacs_improvement"))),
    'rim_time': (RIM_ARMS, _pooled_median_weeks_to("third_line", 44, "imacs_improvement")),
    'printo_prednisone': (PRINTO_ARMS, _arm("prednisone", at_week("first_line", 26, "printo20"))),
    'printo_ciclosporin': (PRINTO_ARMS, _arm("ciclosporin", at_week("first_line", 26, "printo20"))),
    'printo_methotrexate': (PRINTO_ARMS, _arm("methotrexate", at_week("first_line", 26, "printo20"))),
    'abatacept': (ABATACEPT_ARMS, _arm("abatacept", at_week("third_line", 24, "imacs_improvement"))),
    'abatacept_placebo': (ABATACEPT_ARMS, _arm("placebo", at_week("third_line", 24, "imacs_improvement"))),
    'tocilizumab': (TOCILIZUMAB_ARMS, _difference("tocilizumab", "placebo", mean_at_week("third_line", 24,
                                                                               "tis_from_line_start"))),
    'lim_ivig_first_line': (LIM_ARM, _arm("ivig", by_week("first_line", 9, "tis_from_line_start", 40.0))),
    'treatment_duration': ({"cohort": deep_merge(only("PM"), {"simulation": {"horizon_years": 10.0}})}, _arm("cohort", mean_months_to_withdrawal)),
    'residual_weakness': ({"cohort": only("PM")}, _arm("cohort", share_weak_among_survivors)),
    'survival_pm_dm_5y': ({"cohort": only(*ADULT_DM_PM)}, _arm("cohort", survival_at(5.0))),
    'survival_pm_dm_10y': ({"cohort": merged(only(*ADULT_DM_PM), years(10.0))}, _arm("cohort", survival_at(10.0))),
    'survival_ass_5y': ({"cohort": only("ASS")}, _arm("cohort", survival_at(5.0))),
    'smr_dm_pm': ({"cohort": merged(only(*ADULT_DM_PM), years(10.0))}, _arm("cohort", standardised_mortality_ratio)),
    'smr_ibm': ({"cohort": merged(only("IBM"), years(10.0))}, _arm("cohort", standardised_mortality_ratio)),
    'ild_hazard_ratio': ({"cohort": only(*ADULT_DM_PM)}, _arm("cohort", cumulative_hazard_ratio("has_ild", 5.0))),
    'rp_ild_combined': (RP_ILD_ARMS, _arm("combined", survival_within(26 * 7.0))),
    'rp_ild_step_up': (RP_ILD_ARMS, _arm("step_up", survival_within(26 * 7.0))),
    'jdm_off_glucocorticoid_5y': (JDM_REGISTRY, _arm("registry", share_off_glucocorticoid_for_good_by(5.0))),
    'jdm_drug_free_5y': (JDM_REGISTRY, _arm("registry", share_reaching_drug_free_remission_by(5.0, 182.6))),
    'gc_monotherapy_failure': ({"counterfactual": COUNTERFACTUAL_MONOTHERAPY}, _arm("counterfactual", share_failing_first_line)),
    'ibm_no_response': ({"cohort": only("IBM")}, _arm("cohort", share_without_improvement_at_6_months)),
    'hmgcr_relapse': ({"cohort": deep_merge(only("IMNM_HMGCR"), {"simulation": {"horizon_years": 3.0}})}, _arm("cohort", share_with_a_flare)),
    'hmgcr_without_gc': None,  # not simulated
}
TARGETS_FILE = Path(__file__).with_name("validation_targets.toml")


def load_targets(path: Path = TARGETS_FILE) -> tuple[Target, ...]:
    """The published targets, in the file's order, each with the simulation that re-enacts it."""
    with path.open("rb") as file:
        rows = tomllib.load(file)["target"]
    keys = [row["key"] for row in rows]
    if len(set(keys)) != len(keys) or set(keys) != set(SIMULATIONS):
        raise ValueError(f"{path.name}: its targets {sorted(keys)} are not the simulated ones {sorted(SIMULATIONS)}")
    targets = []
    for row in rows:
        arms, measure = SIMULATIONS[row["key"]] or ({}, None)
        if "published_range" in row:
            row = {**row, "published_range": tuple(row["published_range"])}
        targets.append(Target(**row, arms=arms, measure=measure))
    return tuple(targets)


TARGETS: tuple[Target, ...] = load_targets()


def _replications(tables: dict[str, pd.DataFrame], replications: int) -> list[Tables]:
    return [{name: frame[frame["replication"] == r] for name, frame in tables.items()} for r in range(replications)]


def simulate_targets(targets: tuple[Target, ...], scenario: str = "baseline", patients: int = 2000,
                     replications: int = 5, seed: int | None = None, workers: int = 1,
                     overrides: dict | None = None,
                     progress: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Each simulated target's value per replication; arms shared between targets are simulated once."""
    base = merged(overrides or {}, {"simulation": {"patients": patients, "replications": replications,
                                                   **({"seed": seed} if seed is not None else {})}})
    cache: dict[str, list[Tables]] = {}
    values: dict[str, list[float]] = {}
    for target in targets:
        if target.measure is None:
            continue
        per_arm = {}
        for arm, arm_overrides in target.arms.items():
            resolved: Scenario = load_scenario(scenario, merged(base, arm_overrides))
            key = resolved.model_dump_json()
            if key not in cache:
                if progress:
                    progress(f"{target.key}: simulating {arm}")
                tables = {name: t.to_pandas() for name, t in collect_tables(resolved, workers).items()}
                cache[key] = _replications(tables, replications)
            per_arm[arm] = cache[key]
        values[target.key] = [target.measure({arm: runs[r] for arm, runs in per_arm.items()})
                              for r in range(replications)]
    return values


def validate(scenario: str = "baseline", patients: int = 2000, replications: int = 5, seed: int | None = None,
             workers: int = 1, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Simulate every target's arms and compare with the published values."""
    simulated = simulate_targets(TARGETS, scenario, patients, replications, seed, workers, progress=progress)
    rows = []
    for target in TARGETS:
        mean, low, high = mean_and_interval(simulated.get(target.key, []))
        rows.append({
            "target": target.target, "published_value": target.published_value, "unit": target.unit,
            "published_definition": target.definition, "population": target.population, "source": target.source,
            "simulated_as": target.simulated_as, "simulated_mean": mean, "ci_low": low, "ci_high": high,
            "tolerance": target.tolerance_text(), "within_tolerance": target.within(mean), "note": target.note,
            "role": ROLE_WORDS[target.role],
        })
    return pd.DataFrame(rows)


def command_line(scenario: str, patients: int, replications: int, seed: int | None) -> str:
    """The `iimsim validate` command that produces this table (named in validation.md)."""
    return " ".join(["iimsim validate", scenario, "--patients", str(patients), "--replications", str(replications),
                     *(["--seed", str(seed)] if seed is not None else [])])


def run_validation(scenario: str = "baseline", patients: int = 2000, replications: int = 5, seed: int | None = None,
                   workers: int = 1, out_dir: Path | str | None = None,
                   progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """`validate`; with `out_dir`, also writes validation.csv and validation.md there (each file replaced
    atomically) and, when the folder is a run, rebuilds its report with the table."""
    load_scenario(scenario)  # a bad scenario fails here, before any simulation
    if replications < 2:
        raise ValueError(f"replications = {replications}: the 95% CI needs at least 2")
    table = validate(scenario, patients, replications, seed, workers, progress=progress)
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        markdown = to_markdown(table, command_line(scenario, patients, replications, seed))
        for name, text in (("validation.csv", table.to_csv(index=False)), ("validation.md", markdown)):
            partial = folder / f".{name}.partial"
            partial.write_text(text, "utf-8")
            partial.replace(folder / name)
        if (folder / "manifest.json").exists() and (folder / "summary.csv").exists():
            from iimsim.reports.report import build_report

            build_report(folder)
    return table
