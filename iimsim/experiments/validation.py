"""The validation table: simulated results against published figures (evidence.md, the seeds).

Each target says what was published (value, definition, population, source), how
the simulation reads it, and a tolerance. Trial targets are reproduced by
simulating the trial inside the pathway: the trial's population entering the
line the trial studied, arms as scenarios run with the same seed (the same
patients), the outcome read at the trial's time point. Values are means over
replications with a 95% t-interval.
"""

from __future__ import annotations

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
PRODERM = ("adults with active DM despite background therapy", "Aggarwal et al., ProDERM, NEJM 2022",
           "DM patients failing first line enter second line with IVIG (or placebo) added to their agent and "
           "glucocorticoid dose, if not in a flare at entry (ProDERM enrolled active disease on therapy stable for "
           "4 weeks); TIS from entry at the visit nearest week 16; rescue for worsening counts as non-response")
PRODERM_NOTE = ("The placebo arm improves because background therapy keeps acting (the agent still building, "
                "the taper held while not improving) and because a line starts when the disease is at its "
                "worst: entry at a failing visit regresses to the mean (measurement error and flares subside).")
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
PRINTO = ("new-onset JDM", "Ruperto et al., Lancet 2016",
          "JDM patients from diagnosis, first line with the arm's agent (none: the monotherapy counterfactual) "
          "and the trial's protocol taper (2 mg/kg/day to 1 by month 2, 0.5 by month 4, 0.2 by month 6: "
          "Giancane et al. 2019); PRINTO20 against diagnosis at the visit nearest week 26; escalation counts as "
          "non-response")
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


def _proderm(key: str, arm: str, threshold: float, value: float, tolerance: float, role: str,
             note: str = PRODERM_NOTE) -> Target:
    population, source, simulated_as = PRODERM
    return Target(key, f"ProDERM: TIS >= {threshold:g} at week 16, {arm} arm", value, "share",
                  f"TIS >= {threshold:g} at week 16; IVIG 2 g/kg every 4 weeks", population, source, simulated_as,
                  PRODERM_ARMS, _arm(arm, not_entering_in_a_flare("second_line", at_week("second_line", 16,
                                                                                       "tis_from_line_start",
                                                                                       threshold))),
                  tolerance=tolerance, role=role, note=note)


TARGETS: tuple[Target, ...] = (
    Target("non_response", "Patients not responding to treatment", 0.25, "share",
           "about 25% do not respond and need alternative or experimental therapy (review figure)",
           "all IIM", "seed 000", "share never reaching remission over 5 years",
           {"cohort": {}}, _arm("cohort", share_never_in_remission), tolerance=0.10, role=FITTED),
    _proderm("proderm_ivig_20", "ivig", 20, 0.787, 0.10, FITTED),
    _proderm("proderm_placebo_20", "placebo", 20, 0.438, 0.10, FITTED),
    Target("proderm_difference", "ProDERM: IVIG minus placebo, TIS >= 20 at week 16", 0.35, "share",
           "difference in TIS >= 20 responders (78.7% - 43.8%)", PRODERM[0], PRODERM[1], PRODERM[2],
           PRODERM_ARMS, _difference("ivig", "placebo", not_entering_in_a_flare("second_line", at_week(
               "second_line", 16, "tis_from_line_start", 20))),
           tolerance=0.10, role=FITTED),
    _proderm("proderm_ivig_40", "ivig", 40, 0.68, 0.10, FITTED),
    _proderm("proderm_ivig_60", "ivig", 60, 0.32, 0.10, FITTED),
    _proderm("proderm_placebo_40", "placebo", 40, 0.23, 0.10, HELD_OUT,
             "evidence.md: placebo values derived from reported differences (uncertain)"),
    _proderm("proderm_placebo_60", "placebo", 60, 0.08, 0.10, HELD_OUT,
             "evidence.md: placebo values derived from reported differences (uncertain)"),
    Target("proderm_mean_tis", "ProDERM: mean TIS at week 16, IVIG arm", 48.4, "points",
           "mean TIS at week 16 (secondary report; uncertain)", PRODERM[0], PRODERM[1],
           "as above: mean TIS among patients still on the trial's treatment at week 16", PRODERM_ARMS,
           _arm("ivig", not_entering_in_a_flare("second_line", mean_at_week("second_line", 16,
                                                                            "tis_from_line_start"))),
           tolerance=10.0),
    Target("rim_rituximab", "RIM: IMACS improvement by week 44", 0.83, "share",
           "met the IMACS definition of improvement by week 44", "refractory adult PM and DM, and JDM",
           "Oddis et al., RIM trial, Arthritis Rheum 2013",
           "PM, DM and JDM patients entering third line, randomised as RIM was: rituximab (added to background "
           "therapy) at entry or after 8 weeks of placebo; IMACS improvement against entry at any visit by week "
           "44, both groups pooled", RIM_ARMS,
           _pooled_share(by_week("third_line", 44, "imacs_improvement")), tolerance=0.10, role=FITTED),
    Target("rim_time", "RIM: median time to IMACS improvement", 20.0, "weeks",
           "median 20.2 weeks (rituximab late) vs 20.0 (early)", "refractory adult PM and DM, and JDM",
           "Oddis et al., RIM trial, Arthritis Rheum 2013",
           "the same patients and groups: median weeks from randomisation (entry) to first IMACS improvement, "
           "among those improving by week 44, both groups pooled", RIM_ARMS,
           _pooled_median_weeks_to("third_line", 44, "imacs_improvement"),
           tolerance=6.0, note="RIM's groups started rituximab at week 0 or week 8 and both took a median of 20 "
                               "weeks from randomisation; re-enacted the same way."),
    Target("printo_prednisone", "PRINTO: PRINTO20 at 6 months, prednisone alone", 0.51, "share",
           "PRINTO20 at 6 months", PRINTO[0], PRINTO[1], PRINTO[2], PRINTO_ARMS,
           _arm("prednisone", at_week("first_line", 26, "printo20")), tolerance=0.10, role=FITTED),
    Target("printo_ciclosporin", "PRINTO: PRINTO20 at 6 months, prednisone + ciclosporin", 0.70, "share",
           "PRINTO20 at 6 months", PRINTO[0], PRINTO[1], PRINTO[2], PRINTO_ARMS,
           _arm("ciclosporin", at_week("first_line", 26, "printo20")), tolerance=0.10, role=FITTED),
    Target("printo_methotrexate", "PRINTO: PRINTO20 at 6 months, prednisone + methotrexate", 0.72, "share",
           "PRINTO20 at 6 months", PRINTO[0], PRINTO[1], PRINTO[2], PRINTO_ARMS,
           _arm("methotrexate", at_week("first_line", 26, "printo20")), tolerance=0.10, role=FITTED),
    Target("abatacept", "Abatacept: IMACS improvement at week 24", 0.56, "share",
           "IMACS definition of improvement at week 24: 56.0% abatacept", "refractory IIM (adults)",
           "Aggarwal et al., Arthritis Rheumatol 2024", "adult DM and PM entering third line with abatacept "
           "added to background therapy; IMACS improvement against entry at the visit nearest week 24",
           ABATACEPT_ARMS, _arm("abatacept", at_week("third_line", 24, "imacs_improvement")), tolerance=0.10),
    Target("abatacept_placebo", "Abatacept trial: IMACS improvement at week 24, placebo", 0.425, "share",
           "IMACS definition of improvement at week 24: 42.5% placebo", "refractory IIM (adults)",
           "Aggarwal et al., Arthritis Rheumatol 2024", "the same patients with placebo added instead",
           ABATACEPT_ARMS, _arm("placebo", at_week("third_line", 24, "imacs_improvement")), tolerance=0.10,
           note=PRODERM_NOTE),
    Target("tocilizumab", "Tocilizumab minus placebo: mean TIS at week 24", 0.0, "points",
           "TIS from week 4 to 24 no different from placebo", "refractory DM/PM",
           "Oddis et al., ACR Open Rheumatol 2022", "adult DM and PM entering third line with tocilizumab or "
           "placebo added to background therapy: difference in mean TIS from entry at week 24",
           TOCILIZUMAB_ARMS, _difference("tocilizumab", "placebo", mean_at_week("third_line", 24,
                                                                               "tis_from_line_start")),
           tolerance=10.0),
    Target("lim_ivig_first_line", "First-line IVIG: at least moderate improvement by week 9", 0.42, "share",
           "8 of 19 at least moderate improvement (TIS >= 40) by week 9", "new-onset IIM, IVIG without "
           "glucocorticoid", "Lim et al., Rheumatology 2021", "non-severe DM, PM, IMNM and ASS from diagnosis "
           "with IVIG alone (no glucocorticoid, a research counterfactual): TIS >= 40 at any visit by week 9",
           LIM_ARM, _arm("ivig", by_week("first_line", 9, "tis_from_line_start", 40.0)), tolerance=0.15,
           note="19 patients: a wide tolerance."),
    Target("treatment_duration", "Average treatment duration", 27.0, "months",
           "mean duration of treatment", "polymyositis, 107 patients (1982)", "seed 002",
           "PM patients over 10 years: mean months from diagnosis to withdrawal of all treatment, among those "
           "withdrawn", {"cohort": deep_merge(only("PM"), {"simulation": {"horizon_years": 10.0}})},
           _arm("cohort", mean_months_to_withdrawal), tolerance=6.0, role=FITTED,
           note="fitted by hand: maintenance.withdrawal_after_days was set against it."),
    Target("residual_weakness", "Residual weakness despite treatment", 0.33, "share",
           "about one third keep muscle weakness", "treated PM", "seed 002",
           "PM patients alive at 5 years with damage at or above the weakness threshold",
           {"cohort": only("PM")}, _arm("cohort", share_weak_among_survivors), tolerance=0.10, role=FITTED),
    Target("survival_pm_dm_5y", "PM and DM: 5-year survival", 0.77, "share",
           "5-year survival 77% (95% CI 66-85), polymyositis and dermatomyositis alike",
           "160 PM and DM patients, Michigan 1997-2003", "Arthritis Res Ther 2012;14:R22",
           "DM and PM patients: share alive at 5 years", {"cohort": only(*ADULT_DM_PM)},
           _arm("cohort", survival_at(5.0)), tolerance=0.08, role=FITTED,
           note="the published range is wide (63% DM in Finland, Airio 2006, to 92% in Hungary, Danko); the "
                "fit takes the Michigan cohort's, whose 22% cancer is nearest the model's."),
    Target("survival_pm_dm_10y", "PM and DM: 10-year survival", 0.62, "share",
           "10-year survival 62% (95% CI 48-73)", "160 PM and DM patients, Michigan 1997-2003",
           "Arthritis Res Ther 2012;14:R22", "DM and PM patients over 10 years: share alive at 10 years",
           {"cohort": merged(only(*ADULT_DM_PM), years(10.0))}, _arm("cohort", survival_at(10.0)), tolerance=0.10),
    Target("survival_ass_5y", "Anti-Jo1 antisynthetase syndrome: 5-year survival", 0.877, "share",
           "5-year survival 87.7%", "anti-Jo1 positive patients", "Semin Arthritis Rheum 2016",
           "ASS patients: share alive at 5 years", {"cohort": only("ASS")}, _arm("cohort", survival_at(5.0)),
           tolerance=0.06, role=FITTED),
    Target("smr_dm_pm", "DM and PM: standardised mortality ratio", 2.5, "ratio",
           "SMR DM 2.6, PM 2.4 against the general population", "Norwegian IIM cohort",
           "Dobloug et al., Semin Arthritis Rheum 2015;45:301-8", "DM and PM patients over 10 years: deaths over "
           "those the general population of their ages and sexes would have had (the model's life table)",
           {"cohort": merged(only(*ADULT_DM_PM), years(10.0))}, _arm("cohort", standardised_mortality_ratio),
           tolerance=1.0),
    Target("smr_ibm", "IBM: standardised mortality ratio", 1.7, "ratio", "SMR 1.7 against the general population",
           "Norwegian IIM cohort", "Dobloug et al., Semin Arthritis Rheum 2015;45:301-8",
           "IBM patients over 10 years: deaths over those the general population would have had",
           {"cohort": merged(only("IBM"), years(10.0))}, _arm("cohort", standardised_mortality_ratio),
           tolerance=0.7, role=FITTED, note="mortality.myositis_hazard_ratio_by_subtype.IBM is fitted to it."),
    Target("ild_hazard_ratio", "ILD: hazard ratio of death", 2.13, "ratio",
           "HR 2.13 for death with ILD (1/5/10-year survival 97/91/81% with ILD, 99/95/90% without)", "IIM",
           "Lung 2016 (doi 10.1007/s00408-016-9896-x)", "DM and PM patients: the ratio of the 5-year cumulative "
           "hazards of death (-log survival) with ILD to without", {"cohort": only(*ADULT_DM_PM)},
           _arm("cohort", cumulative_hazard_ratio("has_ild", 5.0)), tolerance=0.8,
           note="the model applies the published HR to active myositis's hazard only; the crude ratio it gives "
                "is what is checked."),
    Target("rp_ild_combined", "Anti-MDA5 ILD: 6-month survival with early combined immunosuppression", 0.89,
           "share", "6-month survival 89% with high-dose glucocorticoid, tacrolimus and IV cyclophosphamide from "
           "the start", "29 new-onset anti-MDA5 DM with ILD", "Tsuji et al., Arthritis Rheumatol 2020;72:488-98",
           "anti-MDA5 DM patients with rapidly progressive ILD, on the pathway (a pulse, then tacrolimus and "
           "cyclophosphamide from the start): share alive at 26 weeks", RP_ILD_ARMS,
           _arm("combined", survival_within(26 * 7.0)), tolerance=0.10, role=FITTED),
    Target("rp_ild_step_up", "Anti-MDA5 ILD: 6-month survival with step-up treatment", 0.33, "share",
           "6-month survival 33% with high-dose glucocorticoid and immunosuppressants added step by step "
           "(historical control)", "15 anti-MDA5 DM with ILD", "Tsuji et al., Arthritis Rheumatol 2020;72:488-98",
           "the same patients given glucocorticoid alone at first (a pulse, then oral), immunosuppressants only "
           "as the pathway escalates: share alive at 26 weeks", RP_ILD_ARMS,
           _arm("step_up", survival_within(26 * 7.0)), tolerance=0.15, note="15 patients: a wide tolerance."),
    Target("jdm_off_glucocorticoid_5y", "JDM: final glucocorticoid discontinuation by 5 years", 0.56, "share",
           "probability of final corticosteroid discontinuation 56% by 60 months", "North American JDM registry",
           "Kishi et al., Childhood Myositis Heterogeneity Study Group (corticosteroid discontinuation, complete "
           "clinical response and remission in JDM)", "JDM patients alive at 5 years, followed to 8: share whose "
           "glucocorticoid stopped by 5 years and never restarted", JDM_REGISTRY,
           _arm("registry", share_off_glucocorticoid_for_good_by(5.0)),
           tolerance=0.15, note="a registry of the 1990s and 2000s, with slower tapers than today's"),
    Target("jdm_drug_free_5y", "JDM: remission off all treatment by 5 years", 0.30, "share",
           "probability of remission (off all treatment) 30% by 60 months", "North American JDM registry",
           "Kishi et al., Childhood Myositis Heterogeneity Study Group", "JDM patients: share who by 5 years have "
           "been in drug-free remission for 6 months without a break (the registry's remission: inactive disease "
           "off all treatment for at least 6 months)", JDM_REGISTRY,
           _arm("registry", share_reaching_drug_free_remission_by(5.0, 182.6)), tolerance=0.15),
    Target("gc_monotherapy_failure", "Glucocorticoid monotherapy failure", 0.86, "share",
           "glucocorticoid alone fails in 86% (unverified: no primary source traced)", "IIM",
           "seed 001 (unverified)", "the matching counterfactual (no steroid-sparing agent at first line): share "
           "whose first-line induction ends without remission",
           {"counterfactual": COUNTERFACTUAL_MONOTHERAPY},
           _arm("counterfactual", share_failing_first_line), tolerance=0.10, role=FITTED),
    Target("ibm_no_response", "IBM: no response to prednisone", 0.43, "share",
           "43% no response, no complete response", "IBM", "Joffe et al., Am J Med 1993",
           "IBM patients: TIS from diagnosis below 20 at 6 months", {"cohort": only("IBM")},
           _arm("cohort", share_without_improvement_at_6_months), tolerance=0.15, role=INPUT_CHECK,
           note="the share of IBM patients who respond to nothing (p_refractory 0.43) is this figure; what the "
                "row checks is that noise and partial responders do not move it far."),
    Target("hmgcr_relapse", "Statin anti-HMGCR: relapse on taper", 0.65, "share",
           "65% relapsed as treatment was tapered", "statin-associated autoimmune myopathy",
           "Wu et al., Can J Neurol Sci 2014", "anti-HMGCR IMNM patients with at least one flare or relapse "
           "within 3 years", {"cohort": deep_merge(only("IMNM_HMGCR"), {"simulation": {"horizon_years": 3.0}})},
           _arm("cohort", share_with_a_flare), tolerance=0.15, role=INPUT_CHECK,
           note="anti-HMGCR's flare rate was derived from this figure."),
    Target("hmgcr_without_gc", "Statin anti-HMGCR: remission without glucocorticoids", 0.25, "share",
           "remission without glucocorticoid; 10% failed triple induction", "statin-associated anti-HMGCR IMNM",
           "Arthritis Res Ther 2019 (doi 10.1186/s13075-019-2093-6)", "not simulated",
           note="not reproducible: the pathway always gives anti-HMGCR IMNM glucocorticoid with combination "
                "therapy from the outset (seed 001)."),
)


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
