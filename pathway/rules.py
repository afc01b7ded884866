"""Clinical rules by subtype and severity (seeds 001, 003), free of time and chance."""

from __future__ import annotations

JUVENILE_SUBTYPES = frozenset({"JDM"})
# IBM: a trial of prednisone with methotrexate; most do not respond and progress (seed 003).
NO_ESCALATION_SUBTYPES = frozenset({"IBM"})
# Anti-HMGCR IMNM: combination therapy from the outset, never glucocorticoid monotherapy
# (seed 001); IVIG joins glucocorticoid and immunosuppressant (triple induction, evidence.md).
IVIG_FROM_OUTSET_SUBTYPES = frozenset({"IMNM_HMGCR"})
# Agents given alongside the patient's oral immunosuppressant rather than replacing it.
# A trial's placebo is added to background therapy too (validation re-enacts trials with it).
ADD_ON_AGENTS = frozenset({"rituximab", "cyclophosphamide", "abatacept", "tocilizumab", "ivig", "placebo"})
SEVERE_FEATURES = (
    "weakness_below_mrc4",
    "respiratory_failure_ild",
    "myocarditis",
    "severe_dysphagia",
    "other_life_threatening",
)


def is_severe(features: dict[str, bool]) -> bool:
    """Seed 003: severe if any of global weakness worse than MRC 4, respiratory failure
    from ILD, myocarditis, severe dysphagia or another life-threatening complication."""
    return any(features[name] for name in SEVERE_FEATURES)


def escalation_allowed(subtype: str) -> bool:
    return subtype not in NO_ESCALATION_SUBTYPES


def ivig_from_outset(subtype: str) -> bool:
    return subtype in IVIG_FROM_OUTSET_SUBTYPES


def is_juvenile(subtype: str) -> bool:
    return subtype in JUVENILE_SUBTYPES


def steroid_risk(diabetes: bool, osteoporosis: bool, glaucoma: bool) -> bool:
    """Seed 003/001: a lower glucocorticoid dose with diabetes, osteoporosis or glaucoma."""
    return diabetes or osteoporosis or glaucoma


def keeps_background_agent(option: tuple[str, ...]) -> bool:
    """An option made only of add-on agents keeps the current oral immunosuppressant."""
    return all(drug in ADD_ON_AGENTS for drug in option)


def supportive_care_floor_mg_per_day(subtype: str, supportive_mg_per_day: float) -> float:
    """Glucocorticoid left in supportive care: IBM stops after its failed trial."""
    return 0.0 if subtype in NO_ESCALATION_SUBTYPES else supportive_mg_per_day


def bone_protection(osteoporosis: bool) -> str:
    """Seed 001: calcium and vitamin D for all on glucocorticoid, a bisphosphonate with osteoporosis."""
    return "calcium + vitamin D + bisphosphonate" if osteoporosis else "calcium + vitamin D"
