"""The scenario schema: every field, its unit (in its name) and its bounds.

pydantic does the validation so that a bad value gets an error naming the field
and the value. Models are strict (no silent coercion of "0.5" to 0.5) and forbid
unknown keys. Every section has a `source` (a source's key in square brackets, e.g. [BMJ-BP-IIM],
listed in docs/sources.md, or text starting "illustrative" or "calibrated") and may name per-field sources in
`sources`.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from iimsim.pathway.vocabulary import (DRUGS, STEROID_SPARING_FIRST_LINE, SUBTYPE_NAMES,  # noqa: F401  (re-exported)
                                       SUBTYPES)


# Bounds that keep a run's size and its arithmetic finite (a value beyond them would exhaust the machine or
# overflow, never model anything real); pydantic's message names the bound.
MAX_MAGNITUDE = 1e12  # any number: doses, prices, effects, rates
MIN_POSITIVE = 1e-9  # a positive number: no quotient by it overflows
MAX_DAYS = 36_525.0  # any duration: 100 years
MAX_PATIENTS = 5_000_000  # simulated in one run, over all replications: the summary holds a row for each
MAX_REPLICATIONS = 1000
MAX_HORIZON_YEARS = 100.0
MAX_SCHEDULE_STEPS = 1000  # dose steps of one titration, infusion course or glucocorticoid taper
MAX_RATE_PER_YEAR = 365.0  # events of one kind per patient-year: one a day
MAX_LIST_ITEMS = 100  # items of a list or table of numbers (ladder rungs, bands, options, parameters)
MAX_LOG_UNITS = 20.0  # an effect or flare on the log scale of activity: exp(20) is past any real change
MAX_LOG_SD = 3.0  # a between-patient (lognormal) sd: exp(3 sd) is a factor of 8,000
MIN_INFUSION_DOSE_PER_DAY = 1e-5  # of the agent's unit: schedules keep 6 decimals, so less would round to nothing
MAX_CHAIRS = 100  # chairs of one infusion unit (every closing holds each one: work per night)
MAX_UNIT_PATIENTS = 100_000  # per replication with an infusion unit: they share one simulation in memory
MAX_NAME_CHARACTERS = 200
MAX_DESCRIPTION_CHARACTERS = 20_000

MAX_RATIO = 1000.0  # a hazard or rate ratio (their products stay within a rate of one a day, checked in use)
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Real = Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
NonNegative = Annotated[float, Field(ge=0.0, le=MAX_MAGNITUDE)]
Positive = Annotated[float, Field(ge=MIN_POSITIVE, le=MAX_MAGNITUDE)]
# Every interval and duration in days is at least a day (a shorter clinic interval or dose step would multiply a
# patient's events past counting) and at most MAX_DAYS; a lag that may be 0 ("at once") is NonNegativeDays.
PositiveDays = Annotated[float, Field(ge=1.0, le=MAX_DAYS)]
NonNegativeDays = Annotated[float, Field(ge=0.0, le=MAX_DAYS)]
Count = Annotated[int, Field(ge=0, le=MAX_SCHEDULE_STEPS)]
LogUnits = Annotated[float, Field(ge=0.0, le=MAX_LOG_UNITS)]
LogSd = Annotated[float, Field(ge=0.0, le=MAX_LOG_SD)]
Ratio = Annotated[float, Field(ge=MIN_POSITIVE, le=MAX_RATIO)]
DeathRatePerYear = Annotated[float, Field(ge=0.0, le=MAX_RATE_PER_YEAR)]
Drug = Literal[
    "methotrexate", "azathioprine", "mycophenolate", "ciclosporin", "tacrolimus",
    "rituximab", "cyclophosphamide", "abatacept", "tocilizumab", "ivig", "placebo",
]

T = TypeVar("T")


class Strict(BaseModel):
    # allow_inf_nan=False: no infinite or NaN number (TOML can write both) reaches the arithmetic
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """A section of clinical numbers: where they come from."""

    source: Annotated[str, Field(min_length=1)]
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sources_name_fields(self):
        unknown = sorted(set(self.sources) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"sources names unknown fields: {', '.join(unknown)}")
        return self


class BySubtype(Strict, Generic[T]):
    DM: T
    PM: T
    IMNM_HMGCR: T
    IMNM_SRP: T
    ASS: T
    IBM: T
    JDM: T

    def of(self, subtype: str) -> T:
        return getattr(self, subtype)


class BySex(Strict, Generic[T]):
    female: T
    male: T

    def of(self, sex: str) -> T:
        return getattr(self, sex)


class Normal(Strict):
    """A normal distribution truncated to [min, max]."""

    mean: Real  # in the unit of the quantity drawn (its name says it)
    sd: NonNegative  # standard deviation before truncation, in the same unit
    min: Real  # lowest value drawn, in the same unit
    max: Real  # highest value drawn, in the same unit

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"need min <= mean <= max, got {self.min}, {self.mean}, {self.max}")
        return self


class PositiveNormal(Normal):
    """A truncated normal for quantities that cannot be negative (weights, ages)."""

    min: Positive


class GrowthReference(Strict):
    """A weight-for-age reference by the LMS method (Cole and Green 1992): by sex, rows of [age_years, L, M, S] at
    ascending ages; a child's weight is M (1 + L S z)^(1/L) at its age (L, M, S interpolated), z a standard normal
    score within +/- z_limit."""

    female: Annotated[list[Annotated[list[float], Field(min_length=4, max_length=4)]], Field(min_length=2)]  # rows
    male: Annotated[list[Annotated[list[float], Field(min_length=4, max_length=4)]], Field(min_length=2)]  # rows
    z_limit: Positive  # standard deviations: a child's z score is drawn within +/- this

    @model_validator(mode="after")
    def _ascending_ages_positive_medians(self):
        for sex in ("female", "male"):
            rows = getattr(self, sex)
            ages = [row[0] for row in rows]
            if ages != sorted(set(ages)):
                raise ValueError(f"{sex}: ages must ascend, got {ages}")
            bad = [row for row in rows if row[2] <= 0 or row[3] <= 0]
            if bad:
                raise ValueError(f"{sex}: M and S must be above 0, got {bad[0]}")
            for age, lam, _, s in rows:
                if lam < 0 and 1.0 + lam * s * self.z_limit <= 0:
                    raise ValueError(f"{sex}: z_limit {self.z_limit:g} is beyond the reference at age {age:g}")
        return self

    def lightest_kg(self) -> float:
        """The lightest weight the reference gives (at -z_limit, at any age it lists)."""
        import math

        weights = []
        for _, lam, m, s in (*self.female, *self.male):
            z = -self.z_limit
            weights.append(m * math.exp(s * z) if lam == 0 else m * max(1.0 + lam * s * z, 1e-12) ** (1.0 / lam))
        return min(weights)


class Simulation(Strict):
    patients: Annotated[int, Field(gt=0, le=MAX_PATIENTS)] = 1000  # per replication, all diagnosed on day 0
    horizon_years: Annotated[float, Field(gt=0.0, le=MAX_HORIZON_YEARS)] = 5.0  # follow-up from diagnosis
    # of the random streams: the same seed gives the same tables whatever the number of workers
    seed: Annotated[int, Field(ge=0, lt=2**64)] = 20261122
    replications: Annotated[int, Field(gt=0, le=MAX_REPLICATIONS)] = 1  # runs of new patients, each its own streams

    @model_validator(mode="after")
    def _run_fits_the_machine(self):
        if self.patients * self.replications > MAX_PATIENTS:
            raise ValueError(f"patients x replications = {self.patients:,} x {self.replications:,}: at most "
                             f"{MAX_PATIENTS:,} patients in one run")
        return self


class Severity(Sourced):
    """BMJ Best Practice's severe criteria, each drawn per patient."""

    p_weakness_below_mrc4: BySubtype[Probability]
    p_respiratory_failure_given_ild: Probability
    p_myocarditis: Probability
    p_severe_dysphagia: Probability
    p_other_life_threatening: Probability


class Comorbidity(Sourced):
    p_diabetes: Probability
    p_osteoporosis: Probability
    p_glaucoma: Probability
    p_high_relapse_risk: Probability


class Cohort(Sourced):
    subtype_shares: BySubtype[Probability]
    p_female: BySubtype[Probability]
    age_years: BySubtype[PositiveNormal]
    adult_weight_kg: PositiveNormal
    child_weight_for_age: GrowthReference  # children's (JDM's) weight from their age and sex
    adult_height_cm: BySex[PositiveNormal]
    height_weight_correlation: Annotated[float, Field(ge=-1.0, le=1.0)]  # between an adult's height and weight
    p_ild: BySubtype[Probability]
    autoantibodies: BySubtype[dict[str, Probability]]
    p_cancer_associated: BySubtype[Probability]  # cancer within the cancer-associated window of diagnosis
    p_rp_ild_given_anti_mda5: Probability  # rapidly progressive ILD among anti-MDA5 patients (severe at diagnosis)
    p_statin_given_anti_hmgcr: Probability  # anti-HMGCR patients on a statin at diagnosis (statin-associated)
    severity: Severity
    comorbidity: Comorbidity
    juvenile_comorbidity: Comorbidity  # children's (JDM's) rates at diagnosis

    @model_validator(mode="after")
    def _shares_sum_to_one(self):
        total = sum(self.subtype_shares.of(s) for s in SUBTYPES)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"subtype_shares must sum to 1, got {total:g}")
        for subtype in SUBTYPES:
            shares = self.autoantibodies.of(subtype)
            if sum(shares.values()) > 1.0 + 1e-9:
                raise ValueError(f"autoantibodies.{subtype}: prevalences sum to more than 1 "
                                 f"({sum(shares.values()):g}); the rest are seronegative")
        return self


class Glucocorticoids(Sourced):
    pulse_methylprednisolone_mg_per_day: Positive
    pulse_days: Annotated[int, Field(ge=1, le=5)]
    methylprednisolone_to_prednisone: Positive  # mg of prednisone-equivalent per mg of methylprednisolone
    standard_mg_per_kg_per_day: Positive
    steroid_risk_mg_per_kg_per_day: Positive
    high_relapse_risk_mg_per_kg_per_day: Positive
    max_mg_per_day: Positive
    jdm_mg_per_kg_per_day: Positive
    jdm_max_mg_per_day: Positive
    dose_rounding_mg: Positive
    initial_hold_days: PositiveDays  # the induction dose at least this long before the first step (a good response)
    # ... and at most this long (no response yet: held, then the taper goes on); none: initial_hold_days
    initial_hold_max_days: PositiveDays | None = None
    taper_ladder_mg_per_day: Annotated[list[Positive], Field(max_length=MAX_LIST_ITEMS)]
    ladder_step_days: PositiveDays
    low_dose_decrement_mg: Positive
    low_dose_step_days: PositiveDays
    maintenance_mg_per_day: NonNegative
    scheme: Literal["daily", "alternate_day"] = "daily"
    alternate_day_after_days: PositiveDays = 30.0
    flare_mg_per_kg_per_day: Positive
    flare_hold_days: PositiveDays
    escalation_mg_per_kg_per_day: Positive
    escalation_hold_days: PositiveDays
    supportive_care_mg_per_day: NonNegative
    # A child's IV pulse (JDM): methylprednisolone by weight, at most the cap a day, rounded to what is drawn up.
    jdm_pulse_mg_per_kg_per_day: Positive
    jdm_pulse_max_mg_per_day: Positive
    jdm_pulse_round_to_mg: Positive
    pjp_threshold_mg_per_day: Positive
    pjp_min_days: PositiveDays
    high_dose_max_days: PositiveDays
    # Above this (prednisone-equivalent mg/day) a dose is high: a stall does not hold it, a flare on it fails the line.
    high_dose_mg_per_day: Positive = 30.0
    # Clinicians walk the ladder at their own pace, never faster than it: each patient's step intervals are
    # multiplied by 1 + taper_slack * exp(taper_pace_sd * z), z the same standard normal as the clinician's patience
    # with a line (visits.failure_window_sd). taper_slack 0: every patient on the Praxis clock.
    taper_slack: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    taper_pace_sd: LogSd = 0.0
    # While the disease is improving but not yet controlled, the steps take this many times longer (1: no slower).
    partial_response_pace: Annotated[float, Field(ge=1.0, le=10.0)] = 1.0
    flare_steps_back: Annotated[int, Field(ge=1, le=MAX_LIST_ITEMS)] = 2  # a mild flare: back this many steps
    # False only to re-enact a trial's stable background: escalation holds today's dose escalation_hold_days.
    raise_on_escalation: bool = True

    @model_validator(mode="after")
    def _ladder_descends(self):
        ladder = self.taper_ladder_mg_per_day
        if list(ladder) != sorted(ladder, reverse=True) or len(set(ladder)) != len(ladder):
            raise ValueError(f"taper_ladder_mg_per_day must strictly descend, got {list(ladder)}")
        # below the ladder (or from the highest start dose, without one) the dose falls by the decrement
        below_ladder_mg = min([max(self.max_mg_per_day, self.jdm_max_mg_per_day), *ladder])
        steps = below_ladder_mg / self.low_dose_decrement_mg
        if steps > MAX_SCHEDULE_STEPS:
            raise ValueError(f"low_dose_decrement_mg = {self.low_dose_decrement_mg:g}: the taper from "
                             f"{below_ladder_mg:g} mg/day would take {steps:,.0f} steps, more than "
                             f"{MAX_SCHEDULE_STEPS:,}")
        return self


class Agent(Sourced):
    """One drug's regimen: a titrated rate, or a course of infusions."""

    route: Literal["oral", "subcutaneous", "iv"]
    kind: Literal["titrated", "infusions"]
    dose_unit: Literal["mg/day", "mg/week", "mg", "g"]
    per_kg: bool = False
    start_dose: NonNegative  # in dose_unit (per kg when per_kg): the first dose, or every infusion's
    target_dose: NonNegative = 0.0  # titrated: the dose the titration reaches, in dose_unit (per kg when per_kg)
    step_dose: NonNegative = 0.0  # titrated: each step up, in dose_unit (per kg when per_kg); 0: at once
    step_every_days: PositiveDays = 28.0
    max_mg_per_kg: Positive | None = None
    # A child's dose (JDM) by body surface area, in dose_unit per m2, from the first dose without titration and
    # never above the adult dose (target_dose, or start_dose for infusions); none: dosed as an adult.
    juvenile_dose_per_m2: Positive | None = None
    juvenile_route: Literal["oral", "subcutaneous", "iv"] | None = None  # a child's route, if not `route`
    # Every dose (adult or child) rounded to what can be given (a tablet, capsule, syringe or vial size), to the
    # nearest multiple, or down where a cap binds (max_mg_per_kg, max_dose, a child's adult dose).
    round_to: Positive | None = None
    max_dose: Positive | None = None  # the most given at once, in dose_unit (a day's, a week's or an infusion's)
    # The weight a per-kg dose is worked out on: "ideal" is the ideal body weight (Devine's formula from height and
    # sex) when it is below the actual weight, for adults at least 152.4 cm tall; children are dosed on actual weight.
    dosing_weight: Literal["actual", "ideal"] = "actual"
    infusions: Count = 0
    infusion_interval_days: PositiveDays = 28.0
    days_per_infusion: Annotated[int, Field(ge=1, le=MAX_SCHEDULE_STEPS)] = 1  # one infusion's dose over this many
    full_effect_days: NonNegativeDays  # the effect reaches 95% of `effect` by then (time constant a third of it)
    p_intolerance: Probability
    intolerance_window_days: PositiveDays
    # Disease course: how much the agent suppresses activity (log units, at full effect) and for whom.
    effect: LogUnits
    effect_lasts_days: NonNegativeDays = 0.0  # after an infusion course's last dose, before it wanes
    onset_delay_days: NonNegativeDays = 0.0  # from the first dose until the effect starts to build (a latency)
    effect_ratio_by_subtype: dict[str, NonNegative] = Field(default_factory=dict)
    effect_ratio_by_autoantibody: dict[str, NonNegative] = Field(default_factory=dict)
    effect_loss_per_damage: Probability = 0.0  # share of the effect lost per unit of damage (0-1)
    # An induction course replacing the oral immunosuppressant (cyclophosphamide: pathway/rules.py) is followed by
    # an oral maintenance agent, chosen by these weights, from the day after its course (infusions x interval).
    followed_by: dict[str, NonNegative] = Field(default_factory=dict)
    # Never given to a patient with ILD (as if not tolerated), at any line.
    contraindicated_with_ild: bool = False

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind == "titrated" and self.dose_unit not in ("mg/day", "mg/week"):
            raise ValueError(f"a titrated agent's dose_unit is mg/day or mg/week, got {self.dose_unit}")
        if self.kind == "infusions" and self.dose_unit not in ("mg", "g"):
            raise ValueError(f"an infusion agent's dose_unit is mg or g per infusion, got {self.dose_unit}")
        if self.kind == "titrated" and self.target_dose < self.start_dose:
            raise ValueError("target_dose must be at least start_dose")
        if self.kind == "titrated" and self.step_dose > 0:
            steps = (self.target_dose - self.start_dose) / self.step_dose
            if steps > MAX_SCHEDULE_STEPS:
                raise ValueError(f"step_dose = {self.step_dose:g}: titration from {self.start_dose:g} to "
                                 f"{self.target_dose:g} would take {steps:,.0f} steps, more than "
                                 f"{MAX_SCHEDULE_STEPS:,}")
        if self.kind == "infusions" and (self.start_dose <= 0 or self.infusions < 1):
            raise ValueError(f"an infusion agent gives at least one infusion of a dose above 0, got "
                             f"infusions = {self.infusions}, start_dose = {self.start_dose:g}")
        return self


OptionWeights = dict[str, NonNegative]


class Line(Sourced):
    """One line of therapy: which agents (weights of options), response, assessment."""

    options: OptionWeights
    ild_options: OptionWeights = Field(default_factory=dict)  # with ILD: taken before subtype_options
    # anti-MDA5 rapidly progressive ILD: taken before the ILD options (early combination therapy)
    rp_ild_options: OptionWeights = Field(default_factory=dict)
    subtype_options: dict[str, OptionWeights] = Field(default_factory=dict)
    minimal_improvement_by_days: PositiveDays
    failure_assessment_days: PositiveDays
    max_days_on_line: PositiveDays
    assessment_interval_days: PositiveDays
    p_ivig_severe: Probability = 0.0
    p_ivig_non_severe: Probability = 0.0
    # First line: share offered IVIG when the disease has not responded to high-dose glucocorticoid by the end of
    # its 2-4 weeks (steroid-resistant disease, an indication for IVIG)
    p_ivig_steroid_resistant: Probability = 0.0
    # Days after a later line starts before its agents start (0: at once; a trial's placebo phase, as RIM's
    # rituximab-late arm). The first line's is regimen.steroid_sparing_agent_start_day.
    agent_start_day: NonNegativeDays = 0.0


class Lines(Strict):
    first_line: Line
    second_line: Line
    third_line: Line
    refractory_combination: Line
    refractory_alternative: Line


class Regimen(Sourced):
    """How first-line induction is given; the Praxis guideline unless a teaching scenario says otherwise."""

    first_line_steroid_sparing_agent: bool = True
    induction_glucocorticoid: bool = True  # false only to re-enact a trial of induction without it
    steroid_sparing_agent_start_day: NonNegativeDays = 0.0
    # IVIG goes on (up to its course's infusions) until remission, and stops then; False: its whole course
    ivig_until_remission: bool = False
    sparing_agent_max_delay_days: NonNegativeDays


class Maintenance(Sourced):
    # Remission held this long on the low maintenance dose: the glucocorticoid is tapered off (the agent goes on);
    # none: the glucocorticoid stays at its maintenance dose.
    glucocorticoid_withdrawal_after_days: PositiveDays | None = None
    withdrawal_after_days: PositiveDays  # off glucocorticoid (or, without its withdrawal, in remission) this long
    p_withdrawal: Probability  # ... and the remaining treatment is withdrawn in this share


class Disease(Sourced):
    """The disease course: activity (0-1) at diagnosis, how each patient responds, flares, burn-out, damage."""

    untreated_activity_severe: Normal
    untreated_activity_non_severe: Normal
    subtype_response: BySubtype[NonNegative]  # a multiplier on every patient's response to treatment (1: typical)
    p_refractory: BySubtype[Probability]
    refractory_response_ratio: Probability
    gc_response_sd: LogSd
    agent_response_sd: LogSd
    drug_response_sd: LogSd  # each agent's own effect for a patient varies about that patient's response
    fluctuation_sd: LogSd  # waxing and waning of activity (log units, its long-run sd)
    fluctuation_days: PositiveDays  # how long a swing lasts (time constant of the mean reversion)
    gc_max_effect: LogUnits
    gc_half_effect_mg_per_day: Positive
    gc_onset_days: PositiveDays
    # Most the treatments together can suppress (log units; an Emax-like ceiling on their combined suppression);
    # 0, the default, means none (a finite default keeps the scenario's JSON, sent to workers, exact).
    suppression_ceiling: LogUnits = 0.0
    suppression_ceiling_sd: LogSd = 0.0  # per patient, lognormal sd of the ceiling
    flare_rate_per_year: BySubtype[Annotated[float, Field(ge=0.0, le=MAX_RATE_PER_YEAR)]]
    flare_size: LogUnits
    flare_resolution_days: PositiveDays
    p_monocyclic: BySubtype[Probability]
    burnout_effect: LogUnits
    burnout_days: PositiveDays
    damage_per_active_year: NonNegative  # damage (0-1: share of strength lost) a year at activity 1
    decline_per_year: BySubtype[Probability]
    weakness_damage: Probability

    @model_validator(mode="after")
    def _activity_in_range(self):
        for name in ("untreated_activity_severe", "untreated_activity_non_severe"):
            spec = getattr(self, name)
            if not 0.0 < spec.min <= spec.max <= 1.0:
                raise ValueError(f"{name}: activity is on a 0-1 scale, got min {spec.min:g}, max {spec.max:g}")
        return self


class CoreSetMeasureSpec(Strict):
    """One core-set measure of the 2016 criteria: its bands, its points, and how the model measures it."""

    cutpoints_percent: Annotated[list[Real], Field(max_length=MAX_LIST_ITEMS)]  # bands of relative improvement
    points: Annotated[list[NonNegative], Field(max_length=MAX_LIST_ITEMS + 1)]  # TIS points scored in each band
    sensitivity: NonNegative  # share of the relative fall in activity that this measure shows
    noise_percent: NonNegative  # sd of its measurement error, in percentage points of improvement
    damage_weight: NonNegative = 0.0  # how much damage holds this measure back
    expectation_weight: NonNegative = 0.0  # how much of the expectation effect this measure shows (0: none)
    # Share of patients in whom this measure is not involved (normal, or absent: no rash in PM, a normal creatine
    # kinase): it cannot improve, scores no points and shows no error of change; by subtype where given.
    p_uninvolved: Probability = 0.0
    # Share of this measure that follows the muscle's slow recovery (assessment.recovery_days) rather than the
    # activity today: strength and function recover over months after inflammation settles.
    recovery_weight: Probability = 0.0
    p_uninvolved_by_subtype: dict[str, Probability] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bands(self):
        if len(self.points) != len(self.cutpoints_percent) + 1:
            raise ValueError(f"points needs one more entry than cutpoints_percent, got {len(self.points)} "
                             f"and {len(self.cutpoints_percent)}")
        if list(self.cutpoints_percent) != sorted(self.cutpoints_percent):
            raise ValueError(f"cutpoints_percent must ascend, got {list(self.cutpoints_percent)}")
        unknown = sorted(set(self.p_uninvolved_by_subtype) - set(SUBTYPES))
        if unknown:
            raise ValueError(f"p_uninvolved_by_subtype: unknown subtype(s) {unknown}; expected {list(SUBTYPES)}")
        return self


Score = Annotated[float, Field(ge=0.0, le=100.0)]


class ImprovementDefinitionSpec(Strict):
    """A count-based definition of improvement (IMACS definition of improvement, PRINTO20)."""

    improved_measures: Annotated[int, Field(ge=1)]  # core-set measures: at least this many improve ...
    improvement_percent: NonNegative  # ... by at least this much (relative to the baseline)
    max_worse_measures: Annotated[int, Field(ge=0)]  # core-set measures: at most this many worsen ...
    worsening_percent: NonNegative  # ... by this much or more


class Assessment(Sourced):
    """Clinic visits, what they measure (the 2016 ACR/EULAR criteria) and what counts as what."""

    measures: dict[str, CoreSetMeasureSpec]
    strength_measure: str = "manual_muscle_testing"  # which measure is muscle strength
    imacs_definition: ImprovementDefinitionSpec
    printo20: ImprovementDefinitionSpec
    adult_thresholds: Annotated[list[Score], Field(min_length=3, max_length=3)]  # minimal, moderate, major
    juvenile_thresholds: Annotated[list[Score], Field(min_length=3, max_length=3)]
    activity_noise: NonNegative  # sd of the physician's global activity, on the 0-1 activity scale
    measure_response_sd: LogSd  # per patient, how closely each other measure follows the disease (lognormal sd)
    # Expectation (placebo) effect: when a new line of treatment starts, the measures with an expectation_weight
    # improve by this many percentage points beyond what the disease does, waning with this time constant.
    expectation_percent: NonNegative = 0.0
    expectation_waning_days: PositiveDays = 56.0
    # Recovery: the measures with a recovery_weight follow a falling activity with this time constant (days; 0:
    # at once) and a rising one at once (new inflammation weakens now; regeneration takes months).
    recovery_days: NonNegativeDays = 0.0
    remission_activity: Annotated[float, Field(gt=0.0, le=1.0)]  # a divisor: remission below it
    remission_max_prednisone_mg_per_day: NonNegative
    low_activity: Probability
    improving_fraction: Probability
    flare_rise: Probability
    taper_max_activity: Probability = 1.0  # above this the taper does not go on, even while improving
    response_fall_fraction: Probability = 0.0  # measured activity down this share since a line began: a response
    flare_high_dose_activity: Probability = 0.0  # a flare, failure or relapse at or above this: a high dose again
    flare_pulse_activity: Probability = 1.0  # ... at or above this: an IV pulse first
    symptomatic_rise: Probability
    early_visit_days: PositiveDays
    # lognormal sd of a visit's drift from its interval: at most 1, so that drifted intervals stay days long
    visit_drift_sd: Annotated[float, Field(ge=0.0, le=1.0)]
    failure_window_sd: LogSd  # clinicians' patience: lognormal sd of the time a line is given
    maintenance_interval_days: PositiveDays
    drug_free_interval_days: PositiveDays
    supportive_care_interval_days: PositiveDays

    @model_validator(mode="after")
    def _thresholds_ascend(self):
        for name in ("adult_thresholds", "juvenile_thresholds"):
            values = list(getattr(self, name))
            if values != sorted(values):
                raise ValueError(f"{name} must ascend (minimal, moderate, major), got {values}")
        if self.strength_measure not in self.measures:
            raise ValueError(f"strength_measure {self.strength_measure!r} is not one of the measures")
        if not self.remission_activity <= self.low_activity:
            raise ValueError(f"remission_activity ({self.remission_activity:g}) must not exceed low_activity "
                             f"({self.low_activity:g})")
        return self


class Mortality(Sourced):
    """Death from what the patient lives through (simulation/mortality.py): the population's mortality by age and
    sex, raised by the weighted recent glucocorticoid dose; active myositis, deadlier with ILD, myocarditis,
    severe dysphagia and age; anti-MDA5 rapidly progressive ILD while active; and an associated cancer while it is
    active. Deaths from a serious infection come from the adverse events."""

    population_death_rate_at_50_per_year: Annotated[float, Field(gt=0.0, lt=1.0)]  # women aged 50
    population_male_ratio: Ratio
    # the population's hazard rises this much a year of age (log scale; 0.5 would double it every 1.4 years)
    population_gompertz_per_year: Annotated[float, Field(ge=0.0, le=0.5)]
    glucocorticoid_memory_days: PositiveDays  # the weighted recent dose's time constant
    # points: weighted dose, from 0, ascending, and the ratio on the population's hazard at each
    glucocorticoid_weighted_dose_mg_per_day: Annotated[list[NonNegative], Field(max_length=MAX_LIST_ITEMS)]
    glucocorticoid_rate_ratio: Annotated[list[Ratio], Field(max_length=MAX_LIST_ITEMS)]
    myositis_death_rate_per_year: DeathRatePerYear  # at activity 1, before the organ and age ratios
    myositis_hazard_ratio_by_subtype: dict[str, Annotated[float, Field(ge=0.0, le=MAX_RATIO)]] = Field(
        default_factory=dict)  # (1 if absent)
    ild_hazard_ratio: Ratio
    myocarditis_hazard_ratio: Ratio
    severe_dysphagia_hazard_ratio: Ratio
    age_50_or_over_hazard_ratio: Ratio
    rp_ild_death_rate_per_year: DeathRatePerYear  # anti-MDA5 rapidly progressive ILD, at activity 1
    cancer_hazard_ratio: Ratio  # while the associated cancer is active
    cancer_active_years: Annotated[float, Field(gt=0.0, le=MAX_HORIZON_YEARS)]

    @model_validator(mode="after")
    def _points(self):
        unknown = sorted(set(self.myositis_hazard_ratio_by_subtype) - set(SUBTYPES))
        if unknown:
            raise ValueError(f"myositis_hazard_ratio_by_subtype: unknown subtype(s) {unknown}; expected "
                             f"{list(SUBTYPES)}")
        _check_points("glucocorticoid_weighted_dose_mg_per_day", self.glucocorticoid_weighted_dose_mg_per_day,
                      "glucocorticoid_rate_ratio", self.glucocorticoid_rate_ratio)
        return self


def _check_points(x_name: str, xs: list[float], y_name: str, ys: list[float]) -> None:
    if not xs or xs[0] != 0.0 or xs != sorted(set(xs)):
        raise ValueError(f"{x_name} must start at 0 and ascend, got {xs}")
    if len(ys) != len(xs):
        raise ValueError(f"{y_name} needs one value per point of {x_name} ({len(xs)}), got {len(ys)}")


RatePer100PatientYears = Annotated[float, Field(ge=0.0, le=100 * MAX_RATE_PER_YEAR)]


class Harm(Sourced):
    """One glucocorticoid adverse event: its rate by the band today's prednisone-equivalent dose falls in, or by
    the weighted recent dose (`memory_days`: how much and how long, as weighted-cumulative-dose studies define it)."""

    rate_off_glucocorticoid_per_100_patient_years: RatePer100PatientYears
    # on glucocorticoid, by today's dose: each band's lowest dose, ascending, from 0, and each band's rate ...
    dose_band_from_mg_per_day: Annotated[list[NonNegative], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list)
    rate_per_100_patient_years: Annotated[list[RatePer100PatientYears], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list)
    # ... or by the weighted recent dose: its time constant, and points of the ratio on the rate off glucocorticoid
    memory_days: PositiveDays | None = None
    weighted_dose_mg_per_day: Annotated[list[NonNegative], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list)
    rate_ratio: Annotated[list[Positive], Field(max_length=MAX_LIST_ITEMS)] = Field(default_factory=list)
    recurrent: bool  # False: counted once (a new diagnosis)
    case_fatality: Probability = 0.0
    rate_ratio_on_pjp_prophylaxis: Positive = 1.0
    rate_ratio_on_bone_protection: Positive = 1.0
    only_without_diabetes: bool = False  # new-onset diabetes: patients without diabetes at diagnosis

    @model_validator(mode="after")
    def _bands(self):
        if self.memory_days is not None:
            _check_points("weighted_dose_mg_per_day", self.weighted_dose_mg_per_day, "rate_ratio", self.rate_ratio)
            rates = [self.rate_off_glucocorticoid_per_100_patient_years * max(self.rate_ratio)]
        else:
            rates = self._band_rates()
        highest = max(rates) * max(1.0, self.rate_ratio_on_pjp_prophylaxis, self.rate_ratio_on_bone_protection)
        if highest > 100 * MAX_RATE_PER_YEAR:
            raise ValueError(f"the highest rate times its rate ratio is {highest:,.6g} per 100 patient-years, more "
                             f"than {100 * MAX_RATE_PER_YEAR:,.0f} (one a day)")
        return self

    def _band_rates(self) -> list[float]:
        bands = self.dose_band_from_mg_per_day
        if not bands or bands[0] != 0.0 or bands != sorted(set(bands)):
            raise ValueError(f"dose_band_from_mg_per_day must start at 0 and ascend, got {bands} (or give "
                             "memory_days with weighted_dose_mg_per_day and rate_ratio)")
        if len(self.rate_per_100_patient_years) != len(bands):
            raise ValueError(f"rate_per_100_patient_years needs one rate per dose band ({len(bands)}), got "
                             f"{len(self.rate_per_100_patient_years)}")
        return [self.rate_off_glucocorticoid_per_100_patient_years, *self.rate_per_100_patient_years]


class Care(Sourced):
    """The Praxis mandatory steps (pathway/care.py): who is counselled, whether MRI is part of the work-up."""

    childbearing_age_years: Annotated[list[NonNegative], Field(min_length=2, max_length=2)]  # [from, to)
    mri_at_diagnosis: bool
    # Cancer screening at diagnosis (adults): the basic panel for all, the enhanced panel for these subtypes and
    # from this age.
    enhanced_cancer_screening_subtypes: list[Literal["DM", "PM", "IMNM_HMGCR", "IMNM_SRP", "ASS", "IBM"]]
    enhanced_cancer_screening_from_age_years: NonNegative

    @model_validator(mode="after")
    def _ages(self):
        low, high = self.childbearing_age_years
        if not low < high:
            raise ValueError(f"childbearing_age_years must be [from, to) with from < to, got {[low, high]}")
        return self


class AdverseEvents(Sourced):
    """Glucocorticoid harms (none myositis-specific: each names the population its figures come from).
    PJP is a serious infection: its events count among them."""

    new_diabetes: Harm
    serious_infection: Harm
    pjp: Harm
    fracture: Harm
    cataract: Harm


class Region(Sourced):
    """An open cohort: patients diagnosed over the horizon in a population, plus those already treated."""

    population: Annotated[int, Field(gt=0, le=10_000_000_000)]  # people living in the region
    incidence_per_100k_person_years: Annotated[float, Field(gt=0.0, le=100_000.0)]  # new diagnoses
    prevalent_patients: Annotated[int, Field(ge=0, le=MAX_PATIENTS)] = 0  # patients under care on day 0 ...
    # ... diagnosed up to this many years before day 0
    prevalent_max_years_since_diagnosis: Annotated[float, Field(gt=0.0, le=MAX_HORIZON_YEARS)] = 10.0


class InfusionUnit(Sourced):
    """The infusion unit as a shared constraint: chairs open `hours_per_day` from `opens_at_hour` on the
    first `days_per_week` days of each week (calendar day 0 is a Monday). Every IV visit's whole-day sessions
    queue for a chair, first come first served; a session starts only if it ends by closing time."""

    chairs: Annotated[int, Field(ge=1, le=MAX_CHAIRS)]  # infusion chairs, each one session at a time
    opens_at_hour: Annotated[float, Field(ge=0.0, lt=24.0)] = 8.0
    hours_per_day: Annotated[float, Field(gt=0.0, le=24.0)]
    days_per_week: Annotated[int, Field(ge=1, le=7)]  # open days, the first of each week (Monday on)
    session_hours: dict[Drug | Literal["methylprednisolone"], Positive]
    # What a wait does: "postpone" starts the course (and the assessment of its response) when its first
    # session is given, and moves the rest of a course with a late visit; "none" records waits only.
    delay_effect: Literal["postpone", "none"] = "postpone"

    @model_validator(mode="after")
    def _sessions_fit_the_day(self):
        if self.opens_at_hour + self.hours_per_day > 24.0:
            raise ValueError(f"opens_at_hour + hours_per_day must not pass midnight, got "
                             f"{self.opens_at_hour:g} + {self.hours_per_day:g}")
        for drug, hours in self.session_hours.items():
            if hours > self.hours_per_day:
                raise ValueError(f"session_hours.{drug} = {hours:g}: longer than the unit's day "
                                 f"(hours_per_day = {self.hours_per_day:g})")
        return self


DEFAULT_CURRENCY = "GBP"
DEFAULT_PRICE_YEAR = 2024


class Scig(Sourced):
    """Subcutaneous immunoglobulin at home for the rest of an IVIG course (pathway/scig.py): on entering remission
    with an IVIG course under way whose first `after_ivig_infusions` infusions were given in the chair, this share
    of patients continue it at home, each remaining infusion's grams x `scig_g_per_ivig_g` in equal doses every
    `dose_interval_days`; the doses take no infusion chair. A flare ends it (IVIG, if given again, starts afresh
    in the chair)."""

    share_of_eligible: Probability = 0.0  # 0: nobody switches (IVIG as before)
    after_ivig_infusions: Annotated[int, Field(ge=1, le=MAX_SCHEDULE_STEPS)] = 3  # infusions in the chair first
    scig_g_per_ivig_g: Annotated[float, Field(ge=0.1, le=10.0)] = 1.0
    dose_interval_days: PositiveDays = 7.0


class Societal(Sourced):
    """The societal perspective beside the payer's: paid work lost to treatment (patients of working age who are
    in paid work) and carers' time (a parent's, for a child below working age), every hour valued at
    `wage_per_hour` (the opportunity cost of time). Its totals stand beside the payer's; the payer's stay the
    default for cost-effectiveness."""

    wage_per_hour: NonNegative  # in the costs' currency
    working_age_years: Annotated[list[NonNegative], Field(min_length=2, max_length=2)]  # [from, to); below: a child
    share_in_paid_work: Probability  # of patients of working age
    work_hours_per_infusion_day: NonNegative  # a day in the infusion chair, travel included
    work_hours_per_clinic_visit: NonNegative  # hours of paid work lost per clinic visit
    work_hours_per_home_dose: NonNegative = 0.0  # a dose of SCIG at home
    carer_hours_per_infusion_day: NonNegative  # an adult's carer, averaged over adults (most come alone)
    carer_hours_per_clinic_visit: NonNegative  # an adult's carer, hours per clinic visit
    child_carer_hours_per_infusion_day: NonNegative  # a parent with a child
    child_carer_hours_per_clinic_visit: NonNegative  # a parent with a child, hours per clinic visit
    carer_hours_per_day_in_state: dict[str, NonNegative] = Field(default_factory=dict)  # help at home, by state

    @model_validator(mode="after")
    def _ages_and_states(self):
        from iimsim.pathway.definition import STATE_NAMES

        low, high = self.working_age_years
        if not low < high:
            raise ValueError(f"working_age_years must be [from, to) with from < to, got {[low, high]}")
        for state in self.carer_hours_per_day_in_state:
            if state not in STATE_NAMES:
                raise ValueError(f"carer_hours_per_day_in_state: unknown state {state!r}")
        return self


class Costs(Sourced):
    """Prices, per unit named in each field, in `currency` at `price_year`'s prices; costs are discounted to the
    day of diagnosis. Every money figure shown names both (e.g. 38,002 GBP (2024 prices))."""

    currency: str = DEFAULT_CURRENCY
    price_year: Annotated[int, Field(ge=1900, le=2100)] = DEFAULT_PRICE_YEAR
    discount_rate_per_year: Annotated[float, Field(ge=0.0, lt=1.0)]
    price_per_mg: dict[Drug | Literal["prednisolone", "methylprednisolone"], NonNegative]
    ivig_price_per_g: NonNegative
    infusion_chair_day: NonNegative  # per day in an infusion chair (a pulse's or an infusion's day)
    clinic_visit: NonNegative  # per clinic visit
    monitoring_per_day_on_immunosuppressant: NonNegative
    pjp_prophylaxis_per_day: NonNegative
    bone_protection_per_day: NonNegative
    state_per_day: dict[str, NonNegative] = Field(default_factory=dict)
    transition: dict[str, NonNegative] = Field(default_factory=dict)  # per change of state, by trigger
    adverse_event: dict[Literal["new_diabetes", "serious_infection", "pjp", "fracture", "cataract"],
                        NonNegative] = Field(default_factory=dict)  # per event
    care_step: dict[Literal["vaccination_update", "hepatitis_screening", "contraception_counselling", "tpmt_test",
                            "dexa_scan", "mri", "folic_acid", "statin_withdrawal", "cancer_screening",
                            "enhanced_cancer_screening"], NonNegative] = Field(default_factory=dict)  # per step done
    assessment_tests: NonNegative = 0.0  # creatine kinase and strength testing at each clinic assessment
    # Subcutaneous immunoglobulin at home ([scig]): its product, the pump's consumables for each dose, and the
    # home-training nurse visits when a patient first starts it (no infusion chair).
    scig_price_per_g: NonNegative = 0.0
    scig_supplies_per_dose: NonNegative = 0.0
    scig_training_visits: Count = 0
    home_nurse_visit: NonNegative = 0.0
    societal: Societal | None = None  # none: the societal totals are the payer's

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
            raise ValueError("a currency is its ISO 4217 code, three capital letters (GBP, EUR, SEK, USD)")
        return value

    @model_validator(mode="after")
    def _known_states_and_triggers(self):
        from iimsim.pathway.definition import STATE_NAMES, TRIGGERS

        for state in self.state_per_day:
            if state not in STATE_NAMES:
                raise ValueError(f"state_per_day: unknown state {state!r}")
        for trigger in self.transition:
            if trigger not in TRIGGERS:
                raise ValueError(f"transition: unknown trigger {trigger!r} (known: {', '.join(TRIGGERS)})")
        return self


# The lowest EQ-5D-3L index (UK time trade-off value set): no utility may fall below it.
LOWEST_UTILITY = -0.594


class AdverseEventDisutility(Strict):
    """What one adverse event costs in quality of life: a one-off QALY loss, or a utility decrement held for
    `duration_days` (for the rest of follow-up when omitted), with its source or reasoning."""

    source: Annotated[str, Field(min_length=1)]
    qaly_loss: NonNegative | None = None  # QALYs lost at once, per event
    utility_decrement: Annotated[float, Field(ge=0.0, le=1.0 - LOWEST_UTILITY)] | None = None  # utility lost a day
    duration_days: PositiveDays | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.qaly_loss is None) == (self.utility_decrement is None):
            raise ValueError("give either qaly_loss (a one-off loss) or utility_decrement (a loss over "
                             "duration_days), not both and not neither")
        if self.qaly_loss is not None and self.duration_days is not None:
            raise ValueError("duration_days goes with utility_decrement, not with a one-off qaly_loss")
        return self


class Utilities(Sourced):
    """Health-state utility from the disease (activity and damage, 0-1 each; the dead have 0) and disutilities
    of adverse events, for QALYs; thresholds (per QALY, in the costs' currency) for net monetary benefit."""

    utility_no_activity: Annotated[float, Field(ge=LOWEST_UTILITY, le=1.0)]  # in remission, no damage
    decrement_per_unit_activity: NonNegative  # utility lost from activity 0 to 1
    decrement_per_unit_damage: NonNegative  # utility lost from damage 0 to 1 (all strength lost)
    # Between two clinic visits: "linear" interpolates activity and damage (the disease moves smoothly, as
    # first-order lags), "step" holds the value the last visit saw.
    between_assessments: Literal["linear", "step"] = "linear"
    adverse_events: dict[str, AdverseEventDisutility] = Field(default_factory=dict)
    # While on glucocorticoid above this dose (prednisone-equivalent mg/day), utility is this much lower.
    decrement_on_glucocorticoid: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    glucocorticoid_decrement_above_mg_per_day: NonNegative = 0.0
    thresholds_per_qaly: Annotated[list[Positive], Field(min_length=1)] = Field(
        default_factory=lambda: [20000.0, 30000.0])

    @model_validator(mode="after")
    def _bounded(self):
        worst = self.utility_no_activity - self.decrement_per_unit_activity - self.decrement_per_unit_damage
        if worst < LOWEST_UTILITY:
            raise ValueError(f"utility at activity 1 and damage 1 would be {worst:g}, below the lowest EQ-5D "
                             f"value {LOWEST_UTILITY:g}: lower the decrements")
        for name in self.adverse_events:
            if not name.startswith("ae_"):
                raise ValueError(f"adverse_events: {name!r} is not an adverse event (names start with ae_)")
        return self


class Distribution(Strict):
    """A parameter's uncertainty: beta(alpha, beta), gamma(shape, scale), lognormal(mu, sigma of the log),
    or uniform(low, high)."""

    distribution: Literal["beta", "gamma", "lognormal", "uniform"]
    alpha: Positive | None = None  # beta: the first shape parameter
    beta: Positive | None = None  # beta: the second shape parameter
    shape: Positive | None = None  # gamma: the shape (mean = shape x scale)
    scale: Positive | None = None  # gamma: the scale, in the parameter's unit
    mu: Real | None = None  # lognormal: the mean of the log of the parameter
    sigma: Positive | None = None  # lognormal: the sd of the log of the parameter
    low: Real | None = None  # uniform: the lowest value, in the parameter's unit
    high: Real | None = None  # uniform: the highest value, in the parameter's unit

    @model_validator(mode="after")
    def _parameters_of_the_kind(self):
        needed = {"beta": ("alpha", "beta"), "gamma": ("shape", "scale"), "lognormal": ("mu", "sigma"),
                  "uniform": ("low", "high")}[self.distribution]
        given = {name for name in ("alpha", "beta", "shape", "scale", "mu", "sigma", "low", "high")
                 if getattr(self, name) is not None}
        if given != set(needed):
            raise ValueError(f"a {self.distribution} distribution takes {' and '.join(needed)}, got "
                             f"{', '.join(sorted(given)) or 'none'}")
        if self.distribution == "uniform" and not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got {self.low} and {self.high}")
        return self


class Uncertainty(Sourced):
    """Parameters given as distributions, by path (agents.ivig.effect), for iimsim psa and oneway."""

    parameters: Annotated[dict[str, Distribution], Field(max_length=MAX_LIST_ITEMS)]


class Scenario(Strict):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARACTERS)]  # a label (folders are named safely)
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARACTERS)]  # what the scenario is, in words
    teaching_counterfactual: bool = False  # true: the scenario breaks the guideline on purpose (to teach why not)
    simulation: Simulation = Field(default_factory=Simulation)
    cohort: Cohort
    glucocorticoids: Glucocorticoids
    regimen: Regimen
    agents: dict[Drug, Agent]
    lines: Lines
    maintenance: Maintenance
    disease: Disease
    assessment: Assessment
    mortality: Mortality
    adverse_events: AdverseEvents
    care: Care
    costs: Costs
    region: Region | None = None
    infusion_unit: InfusionUnit | None = None
    scig: Scig | None = None  # none: no IVIG course continues at home
    uncertainty: Uncertainty | None = None
    utilities: Utilities | None = None

    @model_validator(mode="after")
    def _name_is_one_line(self):
        if not self.name.isprintable():
            raise ValueError(f"name = {self.name[:40]!r}: a name is one line of printable text")
        return self

    @model_validator(mode="after")
    def _run_fits_the_machine(self):
        """A region's size is the patients it diagnoses: bounded like a closed cohort's."""
        region, sim = self.region, self.simulation
        if region is None:
            return self
        expected = (region.population * region.incidence_per_100k_person_years / 100_000 * sim.horizon_years
                    + region.prevalent_patients)
        if expected * sim.replications > MAX_PATIENTS:
            raise ValueError(f"region: about {expected:,.0f} patients per replication x {sim.replications:,}: at "
                             f"most {MAX_PATIENTS:,} patients in one run")
        if self.infusion_unit is not None and expected > MAX_UNIT_PATIENTS:
            raise ValueError(f"infusion_unit: about {expected:,.0f} patients per replication share the unit: at "
                             f"most {MAX_UNIT_PATIENTS:,} (a replication with a unit is simulated at once)")
        return self

    @model_validator(mode="after")
    def _infusions_give_a_dose(self):
        """An infusion course gives even the lightest patient a dose that does not round to nothing."""
        from iimsim.pathway.agents import body_surface_m2

        lightest_child_kg = self.cohort.child_weight_for_age.lightest_kg()
        lightest_kg = min(self.cohort.adult_weight_kg.min, lightest_child_kg)
        for drug, agent in self.agents.items():
            if agent.kind != "infusions":
                continue
            dose = agent.start_dose * (lightest_kg if agent.per_kg else 1.0)
            if agent.max_mg_per_kg is not None:
                dose = min(dose, agent.max_mg_per_kg * lightest_kg)
            if agent.juvenile_dose_per_m2 is not None:
                child = agent.juvenile_dose_per_m2 * body_surface_m2(lightest_child_kg)
                dose = min(dose, max(child, agent.round_to or 0.0))
            if dose / agent.days_per_infusion < MIN_INFUSION_DOSE_PER_DAY:
                raise ValueError(f"agents.{drug}: a patient of {lightest_kg:g} kg would be given {dose:.3g} "
                                 f"{agent.dose_unit} per infusion over {agent.days_per_infusion} day(s), less than "
                                 f"{MIN_INFUSION_DOSE_PER_DAY:g} a day")
        return self

    @model_validator(mode="after")
    def _scig_doses_fit_an_interval(self):
        scig, ivig = self.scig, self.agents.get("ivig")
        if scig is None or ivig is None:
            return self
        if scig.dose_interval_days > ivig.infusion_interval_days:
            raise ValueError(f"scig.dose_interval_days = {scig.dose_interval_days:g}: longer than IVIG's interval "
                             f"(agents.ivig.infusion_interval_days = {ivig.infusion_interval_days:g})")
        doses = round(ivig.infusion_interval_days / scig.dose_interval_days) * ivig.infusions
        if doses > MAX_SCHEDULE_STEPS:
            raise ValueError(f"scig.dose_interval_days = {scig.dose_interval_days:g}: an IVIG course would be "
                             f"{doses:,} doses at home, more than {MAX_SCHEDULE_STEPS:,}")
        return self

    @model_validator(mode="after")
    def _infusion_unit_serves_a_region(self):
        unit = self.infusion_unit
        if unit is None:
            return self
        if self.region is None:
            raise ValueError("infusion_unit: needs a [region]; a closed cohort is diagnosed all on day 0, "
                             "which no unit could serve")
        iv = {"methylprednisolone", *(drug for drug, agent in self.agents.items()
                                         if agent.route == "iv" and agent.kind == "infusions")}
        missing = sorted(iv - set(unit.session_hours))
        if missing:
            raise ValueError(f"infusion_unit.session_hours: no session length for {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _uncertain_parameters_exist(self):
        if self.uncertainty is None:
            return self
        data = self.model_dump()
        for path in self.uncertainty.parameters:
            node = data
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    raise ValueError(f"uncertainty.parameters: {path!r} names no scenario parameter")
                node = node[part]
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise ValueError(f"uncertainty.parameters: {path!r} is not a number")
        return self

    @model_validator(mode="after")
    def _options_name_known_agents(self):
        for line_name in Lines.model_fields:
            line: Line = getattr(self.lines, line_name)
            tables = {"options": line.options, "ild_options": line.ild_options,
                      "rp_ild_options": line.rp_ild_options}
            tables.update({f"subtype_options.{k}": v for k, v in line.subtype_options.items()})
            for key in line.subtype_options:
                if key not in SUBTYPES:
                    raise ValueError(f"lines.{line_name}.subtype_options: unknown subtype {key!r}")
            for where, weights in tables.items():
                if weights and sum(weights.values()) <= 0:
                    raise ValueError(f"lines.{line_name}.{where}: weights must not all be zero")
                for option in weights:
                    for drug in option.split("+"):
                        if drug not in self.agents:
                            raise ValueError(
                                f"lines.{line_name}.{where}: unknown drug {drug!r} "
                                f"(defined agents: {', '.join(sorted(self.agents))})"
                            )
            if not line.options:
                raise ValueError(f"lines.{line_name}.options: at least one option is needed")
        for name, agent in self.agents.items():
            unknown = sorted(set(agent.followed_by) - set(self.agents))
            if unknown:
                raise ValueError(f"agents.{name}.followed_by: unknown drug(s) {', '.join(unknown)} "
                                 f"(defined agents: {', '.join(sorted(self.agents))})")
            if agent.followed_by and sum(agent.followed_by.values()) <= 0:
                raise ValueError(f"agents.{name}.followed_by: weights must not all be zero")
        if "ivig" not in self.agents:
            raise ValueError("agents.ivig: the IVIG regimen must be defined")
        return self

    @model_validator(mode="after")
    def _guideline_broken_only_on_purpose(self):
        broken = guideline_departures(self)
        if broken and not self.teaching_counterfactual:
            raise ValueError(
                "this scenario breaks the Praxis guideline ("
                + "; ".join(broken)
                + "): set teaching_counterfactual = true to do so on purpose"
            )
        return self


def guideline_departures(scenario: Scenario) -> list[str]:
    """The three pitfalls Praxis names that a scenario's settings make on purpose."""
    departures = []
    day = scenario.regimen.steroid_sparing_agent_start_day
    if not scenario.regimen.induction_glucocorticoid:
        departures.append("induction without glucocorticoid")
    if not scenario.regimen.first_line_steroid_sparing_agent:
        departures.append("glucocorticoid monotherapy: no steroid-sparing agent at first line")
    elif day > scenario.regimen.sparing_agent_max_delay_days:
        departures.append(f"steroid-sparing agent delayed to day {day:g}")
    gc = scenario.glucocorticoids
    longest_hold = max(gc.initial_hold_days, gc.initial_hold_max_days or 0.0)
    if longest_hold > gc.high_dose_max_days:
        departures.append(f"high-dose glucocorticoid held {longest_hold:g} days")
    return departures
