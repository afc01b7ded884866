"""The treatment pathway of BMJ Best Practice, written once as data.

Everything else is derived from these tables: the runtime `transitions.Machine`
(`pathway.machine`), the diagram and JSON exports, the `days_in_<state>` columns
and the docs table in the README. Nothing else restates the pathway.

Guards are names of predicates in `pathway.guards`; transitions sharing a
trigger and a source are tried in the order written here, first match wins
(an unguarded transition is the fallback and comes last).
"""

from __future__ import annotations

from dataclasses import dataclass

# (name, line of therapy or None, description). Lines number escalation steps:
# 1 = first-line induction (the IV pulse belongs to it), 2 = second line,
# 3 = third line, 4 = refractory combination, 5 = refractory alternative.
STATES: tuple[tuple[str, int | None, str], ...] = (
    ("diagnosis", None, "Diagnosed; triage by severity and subtype (BMJ Best Practice)"),
    ("iv_pulse", 1, "IV methylprednisolone pulse, severe disease only (BMJ Best Practice)"),
    ("first_line", 1, "Oral glucocorticoid + steroid-sparing agent from day one (BMJ Best Practice)"),
    ("second_line", 2, "Ciclosporin, tacrolimus or mycophenolate + glucocorticoid (BMJ Best Practice)"),
    ("third_line", 3, "Rituximab, cyclophosphamide or abatacept + glucocorticoid (BMJ Best Practice)"),
    ("refractory_combination", 4, "Refractory: combination immunosuppression (BMJ Best Practice)"),
    ("refractory_alternative", 5, "Refractory: alternative immunosuppressant (BMJ Best Practice)"),
    ("maintenance", None, "Remission: immunosuppressant, glucocorticoid tapered to low dose or off"),
    ("drug_free_remission", None, "Remission with all treatment withdrawn"),
    ("supportive_care", None, "Refractory or progressive (IBM): supportive care"),
    ("dead", None, "Died"),
)

STATE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in STATES)
LINE_OF_STATE: dict[str, int | None] = {name: line for name, line, _ in STATES}
TREATMENT_LINE_STATES: tuple[str, ...] = (
    "first_line", "second_line", "third_line", "refractory_combination", "refractory_alternative",
)
LIVING_STATES: tuple[str, ...] = tuple(s for s in STATE_NAMES if s != "dead")
# Where a patient spends time under care, as the reports count it: a line of therapy, remission, all treatment
# withdrawn, supportive care (not the day of diagnosis or the pulse's days, which belong to the first line's start).
CARE_STATES: tuple[str, ...] = (*TREATMENT_LINE_STATES, "maintenance", "drug_free_remission", "supportive_care")
TERMINAL_STATES: tuple[str, ...] = ("dead",)


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    source: str
    dest: str
    guard: str | None = None
    why: str = ""


def _t(trigger: str, source: str, dest: str, guard: str | None = None, why: str = "") -> TransitionSpec:
    return TransitionSpec(trigger, source, dest, guard, why)


TRANSITIONS: tuple[TransitionSpec, ...] = (
    # Triage at diagnosis (BMJ Best Practice: severe = weakness < MRC 4, ILD respiratory failure,
    # myocarditis, severe dysphagia, other life-threatening complication).
    _t("triage", "diagnosis", "iv_pulse", "pulse_indicated", "severe (not IBM): IV pulse first"),
    _t("triage", "diagnosis", "first_line", None, "non-severe: oral induction"),
    _t("pulse_complete", "iv_pulse", "first_line", None, "pulse course done: oral glucocorticoid"),
    # Response at an assessment: remission (the scenario's criterion), into maintenance.
    *(_t("respond", s, "maintenance", None, "remission at assessment") for s in TREATMENT_LINE_STATES),
    # Failure at an assessment (less than minimal improvement by the line's window, not in remission by
    # its failure assessment, or a second flare): escalate (IBM: no escalation, Praxis, BMJ Best Practice).
    _t("fail", "first_line", "supportive_care", "no_escalation", "IBM: progresses despite trial"),
    _t("fail", "first_line", "second_line", None, "refractory to first line"),
    _t("fail", "second_line", "third_line", None, "refractory to second line"),
    _t("fail", "third_line", "refractory_combination", None, "refractory to third line"),
    _t("fail", "refractory_combination", "refractory_alternative", None, "refractory to combination"),
    _t("fail", "refractory_alternative", "supportive_care", None, "no option left"),
    # Intolerance: switch agent within the line where one is left, else escalate (BMJ Best Practice).
    *(_t("intolerance", s, s, "can_switch_agent", "switch agent within the line")
      for s in TREATMENT_LINE_STATES),
    _t("intolerance", "first_line", "supportive_care", "no_escalation", "IBM: no further immunotherapy"),
    _t("intolerance", "first_line", "second_line", None, "no first-line agent left"),
    _t("intolerance", "second_line", "third_line", None, "no second-line agent left"),
    _t("intolerance", "third_line", "refractory_combination", None, "no third-line agent left"),
    _t("intolerance", "refractory_combination", "refractory_alternative", None, "no combination left"),
    _t("intolerance", "refractory_alternative", "supportive_care", None, "no option left"),
    # Flare during the taper, seen at an assessment: the glucocorticoid is stepped back up on the same
    # line (BMJ Best Practice: tapered according to clinical response); a second flare on the line fails it.
    *(_t("flare", s, s, None, "flare during taper: dose stepped back up") for s in TREATMENT_LINE_STATES),
    # Flare on maintenance: glucocorticoid raised and escalation beyond the line that
    # brought remission (BMJ Best Practice: escalate when refractory).
    _t("flare", "maintenance", "supportive_care", "no_escalation", "IBM: no further immunotherapy"),
    _t("flare", "maintenance", "second_line", "remission_on_line_1", "flare: escalate to second line"),
    _t("flare", "maintenance", "third_line", "remission_on_line_2", "flare: escalate to third line"),
    _t("flare", "maintenance", "refractory_combination", "remission_on_line_3", "flare: combination"),
    _t("flare", "maintenance", "refractory_alternative", None, "flare after refractory-line remission"),
    # The disease returns, mildly, as the glucocorticoid is withdrawn in remission: back to the lowest dose
    # that held it, kept there (steroid-dependent; BMJ Best Practice: stop the glucocorticoid or keep a low
    # dose).
    _t("rebound", "maintenance", "maintenance", None, "steroid-dependent: back to the lowest dose that held"),
    # Withdrawal of the remaining treatment after a stable period off glucocorticoid.
    _t("withdraw", "maintenance", "drug_free_remission", None, "treatment withdrawn"),
    # Relapse after withdrawal: re-induce with the line that brought remission.
    _t("relapse", "drug_free_remission", "first_line", "remission_on_line_1", "relapse: re-induce"),
    _t("relapse", "drug_free_remission", "second_line", "remission_on_line_2", "relapse: re-induce"),
    _t("relapse", "drug_free_remission", "third_line", "remission_on_line_3", "relapse: re-induce"),
    _t("relapse", "drug_free_remission", "refractory_combination", "remission_on_line_4", "relapse"),
    _t("relapse", "drug_free_remission", "refractory_alternative", None, "relapse: re-induce"),
    # Death, from any living state.
    *(_t("die", s, "dead", None, "death") for s in LIVING_STATES),
)

TRIGGERS: tuple[str, ...] = tuple(dict.fromkeys(t.trigger for t in TRANSITIONS))
