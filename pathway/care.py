"""Seed 001's mandatory steps around treatment: which checks a drug calls for before it starts.

"Update vaccines before starting immunosuppressants; screen for hepatitis B/C and baseline liver
function tests before methotrexate; women of childbearing potential require reliable contraception
when taking methotrexate; azathioprine after checking thiopurine methyltransferase; bone health:
DEXA scan" (seed 001, Prevention of Treatment Complications). Each step is done once per patient.
"""

from __future__ import annotations

from iimsim.scenarios.schema import DRUGS

# Drugs that suppress the immune system (IVIG modulates it; placebo is a trial's control).
IMMUNOSUPPRESSANTS = frozenset(DRUGS) - {"ivig", "placebo"}
CARE_STEPS = ("vaccination_update", "hepatitis_screening", "contraception_counselling", "tpmt_test", "dexa_scan",
              "mri")
CARE_DETAIL = {
    "vaccination_update": "vaccines updated before the first immunosuppressant (seed 001)",
    "hepatitis_screening": "hepatitis B/C and liver function tests before methotrexate (seed 001)",
    "contraception_counselling": "reliable contraception on methotrexate, which is teratogenic (seed 001)",
    "tpmt_test": "thiopurine methyltransferase checked before azathioprine (seed 001)",
    "dexa_scan": "DEXA scan for bone health on glucocorticoid (seed 001)",
    "mri": "MRI of the muscles (T2 with fat suppression) at diagnosis (seed 001's monitoring)",
}


def steps_before_agent(drug: str, female: bool, age_years: float,
                       childbearing_age_years: tuple[float, float]) -> tuple[str, ...]:
    """The checks starting `drug` calls for, in the order they are done."""
    steps = []
    if drug in IMMUNOSUPPRESSANTS:
        steps.append("vaccination_update")
    if drug == "methotrexate":
        steps.append("hepatitis_screening")
        low, high = childbearing_age_years
        if female and low <= age_years < high:
            steps.append("contraception_counselling")
    if drug == "azathioprine":
        steps.append("tpmt_test")
    return tuple(steps)
