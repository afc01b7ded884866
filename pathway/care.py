"""The Praxis mandatory steps around treatment: which checks a drug calls for before it starts, and what
diagnosis calls for (the statin stopped, cancer screening); PJP prophylaxis with immunosuppressants together.

"Update vaccines before starting immunosuppressants; screen for hepatitis B/C and baseline liver
function tests before methotrexate; women of childbearing potential require reliable contraception
when taking methotrexate; azathioprine after checking thiopurine methyltransferase; bone health:
DEXA scan" (Praxis, Prevention of Treatment Complications). Each step is done once per patient.
"""

from __future__ import annotations

import math

from iimsim.pathway.vocabulary import DRUGS

# Drugs that suppress the immune system (IVIG modulates it; placebo is a trial's control).
IMMUNOSUPPRESSANTS = frozenset(DRUGS) - {"ivig", "placebo"}
CARE_STEPS = ("vaccination_update", "hepatitis_screening", "contraception_counselling", "tpmt_test", "dexa_scan",
              "mri", "folic_acid", "statin_withdrawal", "cancer_screening", "enhanced_cancer_screening")
CARE_DETAIL = {
    "vaccination_update": "vaccines updated before the first immunosuppressant (Praxis)",
    "hepatitis_screening": "hepatitis B/C and liver function tests before methotrexate (Praxis)",
    "contraception_counselling": "reliable contraception on methotrexate, which is teratogenic (Praxis)",
    "tpmt_test": "thiopurine methyltransferase checked before azathioprine (Praxis)",
    "dexa_scan": "DEXA scan for bone health on glucocorticoid (Praxis)",
    "mri": "MRI of the muscles (T2 with fat suppression) at diagnosis (the Praxis monitoring)",
    "folic_acid": ("folic acid 1 mg a day with methotrexate (Praxis Medical Insights, Treatment of Inflammatory "
                   "Myopathy, 2025; BMJ Best Practice: folic acid supplementation is recommended)"),
    "statin_withdrawal": ("statin stopped: statin-associated anti-HMGCR myopathy (224th ENMC workshop, Allenbach et "
                          "al., Neuromuscul Disord 2018)"),
    "cancer_screening": ("cancer screening at diagnosis, basic panel: history, examination, blood tests, chest "
                         "radiograph, age- and sex-appropriate screening (IMACS, Oldroyd et al., Nat Rev Rheumatol "
                         "2023)"),
    "enhanced_cancer_screening": ("enhanced cancer screening at diagnosis: CT of the neck, chest, abdomen and pelvis, "
                                  "tumour markers (IMACS, Oldroyd et al., Nat Rev Rheumatol 2023)"),
}


def steps_before_agent(drug: str, female: bool, age_years: float,
                       childbearing_age_years: tuple[float, float]) -> tuple[str, ...]:
    """The checks starting `drug` calls for, in the order they are done."""
    steps = []
    if drug in IMMUNOSUPPRESSANTS:
        steps.append("vaccination_update")
    if drug == "methotrexate":
        steps.extend(("hepatitis_screening", "folic_acid"))
        low, high = childbearing_age_years
        if female and low <= age_years < high:
            steps.append("contraception_counselling")
    if drug == "azathioprine":
        steps.append("tpmt_test")
    return tuple(steps)



def steps_at_diagnosis(subtype: str, juvenile: bool, age_years: float, statin_exposed: bool,
                       enhanced_screening_subtypes: frozenset[str], enhanced_screening_from_age: float
                       ) -> tuple[str, ...]:
    """The steps diagnosis calls for. Statin-associated anti-HMGCR myopathy: the statin is stopped. Cancer: every
    adult screened with the basic panel (the IMACS guideline; not routine in juvenile-onset disease), and the
    enhanced panel too at higher risk: the subtypes named (dermatomyositis, the highest risk: Oldroyd et al.,
    Rheumatology 2021, RR 2.21) and from the age named (older patients: the polymyositis guideline summary)."""
    steps = ["statin_withdrawal"] if statin_exposed else []
    if not juvenile:
        steps.append("cancer_screening")
        if subtype in enhanced_screening_subtypes or age_years >= enhanced_screening_from_age:
            steps.append("enhanced_cancer_screening")
    return tuple(steps)


# PJP prophylaxis "when using multiple immunosuppressants" (Praxis Medical Insights, Treatment of Inflammatory
# Myopathy, 2025, Prevention of Treatment Complications): while two or more act beside the glucocorticoid (which has
# its own threshold), and with cyclophosphamide whatever else is given ("a high risk of opportunistic
# infections", BMJ Best Practice, Idiopathic inflammatory myopathies: treatment algorithm).
PROPHYLAXIS_WITH_ALONE = frozenset({"cyclophosphamide"})


def pjp_prophylaxis_until(acting: list[tuple[str, float]]) -> float:
    """The day the need for prophylaxis ends, from the agents on now as (drug, day its action ends); -inf for none."""
    ends = sorted((end for drug, end in acting if drug in IMMUNOSUPPRESSANTS), reverse=True)
    alone = max((end for drug, end in acting if drug in PROPHYLAXIS_WITH_ALONE), default=-math.inf)
    return max(alone, ends[1] if len(ends) > 1 else -math.inf)


def agents_prophylaxis_reason(acting: list[tuple[str, float]]) -> str:
    drugs = [drug for drug, _ in acting if drug in IMMUNOSUPPRESSANTS]
    if any(drug in PROPHYLAXIS_WITH_ALONE for drug in drugs) and len(drugs) == 1:
        return f"{drugs[0]}: a high risk of opportunistic infection"
    return f"immunosuppressants together: {' + '.join(drugs)}"
