"""Synthetic patients: attributes drawn from the scenario's cohort distributions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from statistics import NormalDist

from iimsim.pathway.rules import SEVERE_FEATURES, is_juvenile, is_severe
from iimsim.scenarios.schema import SUBTYPES, Cohort, Normal
from iimsim.simulation.streams import ATTRIBUTE_SLOTS, MORE_ATTRIBUTE_SLOTS, normal_quantile

SLOT = {name: i for i, name in enumerate(ATTRIBUTE_SLOTS)}
MORE = {name: i for i, name in enumerate(MORE_ATTRIBUTE_SLOTS)}


@dataclass(frozen=True)
class TruncatedNormal:
    """Inverse-CDF draws from a normal truncated to [min, max]."""

    dist: NormalDist | None
    mean: float
    low_p: float
    high_p: float

    @classmethod
    def of(cls, spec: Normal) -> TruncatedNormal:
        if spec.sd == 0:
            return cls(None, spec.mean, 0.0, 1.0)
        dist = NormalDist(spec.mean, spec.sd)
        return cls(dist, spec.mean, dist.cdf(spec.min), dist.cdf(spec.max))

    def quantile(self, u: float) -> float:
        if self.dist is None:
            return self.mean
        p = self.low_p + u * (self.high_p - self.low_p)
        return self.dist.inv_cdf(min(max(p, 1e-12), 1 - 1e-12))


@dataclass(frozen=True)
class WeightForAge:
    """A child's weight from age and sex by a growth reference's LMS values (Cole and Green 1992), linearly
    interpolated between its ages; the z-score from a uniform, within +/- the reference's z_limit."""

    rows: dict[str, tuple[tuple[float, float, float, float], ...]]
    low_p: float
    high_p: float

    @classmethod
    def of(cls, reference) -> WeightForAge:
        limit = NormalDist()
        return cls({sex: tuple(tuple(row) for row in getattr(reference, sex)) for sex in ("female", "male")},
                   limit.cdf(-reference.z_limit), limit.cdf(reference.z_limit))

    def weight_kg(self, sex: str, age_years: float, u: float) -> float:
        rows = self.rows[sex]
        age = min(max(age_years, rows[0][0]), rows[-1][0])
        i = next(k for k in range(1, len(rows)) if age <= rows[k][0])
        (a0, *lms0), (a1, *lms1) = rows[i - 1], rows[i]
        w = (age - a0) / (a1 - a0)
        lam, m, s = (x0 + w * (x1 - x0) for x0, x1 in zip(lms0, lms1))
        z = normal_quantile(self.low_p + u * (self.high_p - self.low_p))
        return m * math.exp(s * z) if abs(lam) < 1e-12 else m * (1.0 + lam * s * z) ** (1.0 / lam)


@dataclass(frozen=True)
class Attributes:
    subtype: str
    sex: str
    age_years: float
    weight_kg: float
    height_cm: float | None  # adults only (children are dosed on actual weight and body surface from weight)
    statin_exposed: bool  # anti-HMGCR myopathy on a statin at diagnosis (statin-associated)
    ild: bool
    features: tuple[bool, ...]
    severe: bool
    diabetes: bool
    osteoporosis: bool
    glaucoma: bool
    high_relapse_risk: bool


class CohortSampler:
    def __init__(self, cohort: Cohort) -> None:
        self._cumulative = list(accumulate(cohort.subtype_shares.of(s) for s in SUBTYPES))
        self._female = {s: cohort.p_female.of(s) for s in SUBTYPES}
        self._age = {s: TruncatedNormal.of(cohort.age_years.of(s)) for s in SUBTYPES}
        self._adult_weight = TruncatedNormal.of(cohort.adult_weight_kg)
        self._child_weight = WeightForAge.of(cohort.child_weight_for_age)
        self._height = {sex: cohort.adult_height_cm.of(sex) for sex in ("female", "male")}
        self._height_weight_r = cohort.height_weight_correlation
        self._weight_spec = cohort.adult_weight_kg
        self._p_statin = cohort.p_statin_given_anti_hmgcr
        self._ild = {s: cohort.p_ild.of(s) for s in SUBTYPES}
        sev = cohort.severity
        self._weakness = {s: sev.p_weakness_below_mrc4.of(s) for s in SUBTYPES}
        self._feature_p = (sev.p_respiratory_failure_given_ild, sev.p_myocarditis,
                           sev.p_severe_dysphagia, sev.p_other_life_threatening)
        self._comorbidity_p = {juvenile: (com.p_diabetes, com.p_osteoporosis, com.p_glaucoma, com.p_high_relapse_risk)
                               for juvenile, com in ((False, cohort.comorbidity), (True, cohort.juvenile_comorbidity))}

    def subtype(self, u: float) -> str:
        threshold = u * self._cumulative[-1]
        for subtype, cumulative in zip(SUBTYPES, self._cumulative):
            if threshold < cumulative:
                return subtype
        return SUBTYPES[-1]

    def height_cm(self, sex: str, weight_kg: float, u: float) -> float:
        """An adult's height, correlated with weight (a normal whose mean moves with the weight's z-score), whole cm
        within the scenario's bounds."""
        spec, w = self._height[sex], self._weight_spec
        z_weight = (weight_kg - w.mean) / w.sd if w.sd > 0 else 0.0
        r = self._height_weight_r
        z = r * z_weight + (1.0 - r * r) ** 0.5 * normal_quantile(u)
        return float(round(min(max(spec.mean + spec.sd * z, spec.min), spec.max)))

    def draw(self, u: list[float], subtype: str | None = None, severe: bool | None = None,
             weight_kg: float | None = None, more: list[float] | None = None) -> Attributes:
        """A patient from uniforms `u` (and `more`, the later attributes' stream); `subtype`, `severe` and
        `weight_kg` may be fixed (a chosen patient)."""
        subtype = subtype or self.subtype(u[SLOT["subtype"]])
        juvenile = is_juvenile(subtype)
        ild = u[SLOT["ild"]] < self._ild[subtype]
        p_resp, p_myo, p_dys, p_other = self._feature_p
        features = (
            u[SLOT["weakness_below_mrc4"]] < self._weakness[subtype],
            ild and u[SLOT["respiratory_failure_ild"]] < p_resp,
            u[SLOT["myocarditis"]] < p_myo,
            u[SLOT["severe_dysphagia"]] < p_dys,
            u[SLOT["other_life_threatening"]] < p_other,
        )
        if severe is False:
            features = (False,) * len(features)
        elif severe is True and not any(features):
            features = (True, *features[1:])  # weakness worse than MRC 4, the commonest severe feature
        p_dia, p_ost, p_gla, p_rel = self._comorbidity_p[juvenile]
        sex = "female" if u[SLOT["sex"]] < self._female[subtype] else "male"
        age = round(self._age[subtype].quantile(u[SLOT["age"]]), 1)
        if weight_kg is None:
            weight_kg = (self._child_weight.weight_kg(sex, age, u[SLOT["weight"]]) if juvenile
                         else self._adult_weight.quantile(u[SLOT["weight"]]))
        weight_kg = round(weight_kg, 1)
        height = None if juvenile or more is None else self.height_cm(sex, weight_kg, more[MORE["height"]])
        return Attributes(
            subtype=subtype,
            sex=sex,
            age_years=age,
            weight_kg=weight_kg,
            height_cm=height,
            statin_exposed=(subtype == "IMNM_HMGCR" and more is not None and more[MORE["statin"]] < self._p_statin),
            ild=ild,
            features=features,
            severe=is_severe(dict(zip(SEVERE_FEATURES, features))),
            diabetes=u[SLOT["diabetes"]] < p_dia,
            osteoporosis=u[SLOT["osteoporosis"]] < p_ost,
            glaucoma=u[SLOT["glaucoma"]] < p_gla,
            high_relapse_risk=u[SLOT["high_relapse_risk"]] < p_rel,
        )
