"""Clinical rules by subtype and severity (Praxis, BMJ Best Practice), free of time and chance."""

from __future__ import annotations

JUVENILE_SUBTYPES = frozenset({"JDM"})
# IBM has its own pathway: a trial of prednisone with methotrexate ("generally resistant to standard immunotherapy,
# but a trial of prednisone with methotrexate is reasonable for newly diagnosed patients", Praxis Medical Insights,
# Treatment of Inflammatory Myopathy, 2025), judged like a first line, then supportive care: no escalation (most
# "become unresponsive and disease progresses despite treatment", the same), no IV pulse (the pulse is for severe
# inflammatory myositis, BMJ Best Practice, Idiopathic inflammatory myopathies: treatment algorithm; IBM is
# refractory to it: Aggarwal and Oddis, Degener Neurol Neuromuscul Dis 2012) and no IVIG (below).
NO_ESCALATION_SUBTYPES = frozenset({"IBM"})
NO_PULSE_SUBTYPES = frozenset({"IBM"})
# Anti-HMGCR IMNM: combination therapy from the outset, never glucocorticoid monotherapy
# (Praxis); IVIG joins glucocorticoid and immunosuppressant (triple induction: StatinHMGCR2019 in
# docs/sources.md).
IVIG_FROM_OUTSET_SUBTYPES = frozenset({"IMNM_HMGCR"})
# IBM: no IVIG. "Generally resistant to standard immunotherapy" (Praxis Medical Insights, Treatment of Inflammatory
# Myopathy, 2025); IVIG may at most slow progression, its lasting effect unclear (Aggarwal and Oddis, Degener Neurol
# Neuromuscul Dis 2012), and the scenario gives it no effect in IBM (at most partial, brief responses: What is the
# treatment for myositis?, 2025).
NO_IVIG_SUBTYPES = frozenset({"IBM"})
# What a later line's agent does to the oral immunosuppressant the patient is on: agents that JOIN it are given
# beside it, as in their trials (rituximab: RIM, Oddis et al., Arthritis Rheum 2013, on background
# immunosuppressants; abatacept: Aggarwal et al., Arthritis Rheumatol 2024; tocilizumab: Oddis et al., ACR Open
# Rheumatol 2022; IVIG "in combination with ... other immunosuppressants", BMJ Best Practice, Idiopathic
# inflammatory myopathies: treatment algorithm); a trial's placebo is added to background therapy too. Every other
# agent REPLACES it: cyclophosphamide is "remission induction therapy" (the same algorithm), given alone with the
# glucocorticoid and followed by an oral maintenance agent (its scenario's `followed_by`), not stacked on
# mycophenolate or a calcineurin inhibitor.
JOINS_BACKGROUND = frozenset({"rituximab", "abatacept", "tocilizumab", "ivig", "placebo"})
SEVERE_FEATURES = (
    "weakness_below_mrc4",
    "respiratory_failure_ild",
    "myocarditis",
    "severe_dysphagia",
    "other_life_threatening",
)


def is_severe(features: dict[str, bool]) -> bool:
    """BMJ Best Practice: severe if any of global weakness worse than MRC 4, respiratory failure
    from ILD, myocarditis, severe dysphagia or another life-threatening complication."""
    return any(features[name] for name in SEVERE_FEATURES)


def pulse_indicated(subtype: str) -> bool:
    """A severe patient of this subtype starts with an IV pulse (BMJ Best Practice), unless its pathway has none."""
    return subtype not in NO_PULSE_SUBTYPES


def escalation_allowed(subtype: str) -> bool:
    return subtype not in NO_ESCALATION_SUBTYPES


def ivig_from_outset(subtype: str) -> bool:
    return subtype in IVIG_FROM_OUTSET_SUBTYPES


def ivig_allowed(subtype: str) -> bool:
    return subtype not in NO_IVIG_SUBTYPES


def is_juvenile(subtype: str) -> bool:
    return subtype in JUVENILE_SUBTYPES


def steroid_risk(diabetes: bool, osteoporosis: bool, glaucoma: bool) -> bool:
    """BMJ Best Practice, Praxis: a lower glucocorticoid dose with diabetes, osteoporosis or glaucoma."""
    return diabetes or osteoporosis or glaucoma


def keeps_background_agent(option: tuple[str, ...]) -> bool:
    """An option made only of agents that join the oral immunosuppressant keeps it; any other replaces it."""
    return all(drug in JOINS_BACKGROUND for drug in option)


def agents_failed(trigger: str, source: str, option: tuple[str, ...]) -> tuple[str, ...]:
    """The agents a transition shows to have failed: the line's own when it fails, or the remission line's when
    a flare on maintenance escalates beyond it (a relapse after withdrawal re-induces the line that worked)."""
    if trigger == "fail" or (trigger == "flare" and source == "maintenance"):
        return option
    return ()


def supportive_care_floor_mg_per_day(subtype: str, supportive_mg_per_day: float) -> float:
    """Glucocorticoid left in supportive care: IBM stops after its failed trial."""
    return 0.0 if subtype in NO_ESCALATION_SUBTYPES else supportive_mg_per_day


def bone_protection(osteoporosis: bool) -> str:
    """Praxis: calcium and vitamin D for all on glucocorticoid, a bisphosphonate with osteoporosis."""
    return "calcium + vitamin D + bisphosphonate" if osteoporosis else "calcium + vitamin D"


def contraindicated(ild: bool, with_ild: frozenset[str]) -> frozenset[str]:
    """Agents a patient is never given (as if not tolerated): those the scenario contraindicates with ILD."""
    return with_ild if ild else frozenset()
