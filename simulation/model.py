"""A scenario compiled once per process into plain, fast lookups for the engine."""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

from iimsim.pathway.agents import AgentRules, OptionTable
from iimsim.pathway.audit import AuditRules
from iimsim.pathway.clinic import ClinicRules, LineWindows
from iimsim.pathway.dosing import Schedule
from iimsim.pathway.scig import ScigRules
from iimsim.pathway.response_criteria import CoreSetMeasure, ImprovementDefinition, ResponseCriteria
from iimsim.pathway.definition import LINE_OF_STATE, TREATMENT_LINE_STATES
from iimsim.pathway.glucocorticoids import GlucocorticoidRules, PulseRules
from iimsim.scenarios.schema import SUBTYPES, Normal, Scenario
from iimsim.simulation.harms import HarmRule, compile_harms
from iimsim.simulation.mortality import MortalityRules, compile_mortality
from iimsim.simulation.tables import YEAR_DAYS



@dataclass(frozen=True)
class LineRules:
    state: str
    line: int
    options: OptionTable
    ild_options: OptionTable | None
    rp_ild_options: OptionTable | None
    subtype_options: dict[str, OptionTable]
    windows: LineWindows
    assessment_interval_days: float
    p_ivig_severe: float
    p_ivig_non_severe: float
    p_ivig_steroid_resistant: float
    agent_start_day: float = 0.0  # a later line's agents start this long after the line (first line: regimen's)

    def table_for(self, subtype: str, ild: bool, rp_ild: bool = False) -> OptionTable:
        # ILD decides before the subtype's usual agent: BMJ Best Practice gives mycophenolate first line with
        # ILD, and methotrexate (the Praxis agent for JDM) can itself cause pneumonitis (BMJ Best Practice).
        # Anti-MDA5 rapidly progressive ILD before ILD: early combination therapy (Tsuji et al. 2020).
        if rp_ild and self.rp_ild_options is not None:
            return self.rp_ild_options
        if ild and self.ild_options is not None:
            return self.ild_options
        if subtype in self.subtype_options:
            return self.subtype_options[subtype]
        return self.options

    def tables_for(self, subtype: str, ild: bool, rp_ild: bool = False) -> tuple[OptionTable, ...]:
        """The patient's table, then with ILD the line's general one (an agent of the line, methotrexate
        excluded, when ILD's table has nothing left: pathway/agents.py choose_option), after rapidly progressive
        ILD's combination ILD's table; a subtype's own table (JDM, IBM) stands alone."""
        own = self.table_for(subtype, ild, rp_ild)
        if own is self.rp_ild_options and own is not None:
            return (own, *((self.ild_options,) if self.ild_options is not None else ()), self.options)
        return (own, self.options) if own is self.ild_options and own is not None else (own,)


@dataclass(frozen=True)
class AgentEffect:
    """How one drug suppresses disease activity (log units at full effect) and for whom."""

    effect: float
    tau_days: float  # first-order onset and washout: 95% of the effect by `full_effect_days`
    lasts_days: float  # after an infusion course's last dose
    by_subtype: dict[str, float]
    by_autoantibody: dict[str, float]
    loss_per_damage: float
    onset_delay_days: float = 0.0  # from the first dose until the effect starts to build


@dataclass(frozen=True)
class DiseaseRules:
    """The disease course's numbers, per subtype where the scenario gives them."""

    untreated_severe: Normal
    untreated_non_severe: Normal
    subtype_response: dict[str, float]
    p_refractory: dict[str, float]
    refractory_response_ratio: float
    gc_response_sd: float
    agent_response_sd: float
    drug_response_sd: float
    fluctuation_sd: float
    fluctuation_days: float
    gc_max_effect: float
    gc_half_effect_mg_per_day: float
    gc_tau_days: float
    suppression_ceiling: float
    suppression_ceiling_sd: float
    flare_rate_per_day: dict[str, float]
    flare_size: float
    flare_tau_days: float
    p_monocyclic: dict[str, float]
    burnout_effect: float
    burnout_tau_days: float
    damage_per_active_year: float
    decline_per_year: dict[str, float]
    weakness_damage: float
    autoantibodies: dict[str, tuple[tuple[str, float], ...]]
    p_rp_ild_given_anti_mda5: float
    agents: dict[str, AgentEffect]
    _gc_effects: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary, compare=False,
                                                   repr=False)

    @classmethod
    def compile(cls, scenario: Scenario) -> DiseaseRules:
        d = scenario.disease
        by = lambda field: {s: field.of(s) for s in SUBTYPES}  # noqa: E731
        return cls(
            untreated_severe=d.untreated_activity_severe,
            untreated_non_severe=d.untreated_activity_non_severe,
            subtype_response=by(d.subtype_response), p_refractory=by(d.p_refractory),
            refractory_response_ratio=d.refractory_response_ratio,
            gc_response_sd=d.gc_response_sd, agent_response_sd=d.agent_response_sd,
            drug_response_sd=d.drug_response_sd, fluctuation_sd=d.fluctuation_sd,
            fluctuation_days=d.fluctuation_days,
            gc_max_effect=d.gc_max_effect, gc_half_effect_mg_per_day=d.gc_half_effect_mg_per_day,
            gc_tau_days=d.gc_onset_days / 3, suppression_ceiling=d.suppression_ceiling or math.inf,  # 0: no ceiling
            suppression_ceiling_sd=d.suppression_ceiling_sd,
            flare_rate_per_day={s: d.flare_rate_per_year.of(s) / YEAR_DAYS for s in SUBTYPES},
            flare_size=d.flare_size, flare_tau_days=d.flare_resolution_days / 3,
            p_monocyclic=by(d.p_monocyclic), burnout_effect=d.burnout_effect, burnout_tau_days=d.burnout_days,
            damage_per_active_year=d.damage_per_active_year, decline_per_year=by(d.decline_per_year),
            weakness_damage=d.weakness_damage,
            autoantibodies={s: tuple(scenario.cohort.autoantibodies.of(s).items()) for s in SUBTYPES},
            p_rp_ild_given_anti_mda5=scenario.cohort.p_rp_ild_given_anti_mda5,
            agents={drug: AgentEffect(a.effect, max(a.full_effect_days, 1.0) / 3, a.effect_lasts_days,
                                      dict(a.effect_ratio_by_subtype), dict(a.effect_ratio_by_autoantibody),
                                      a.effect_loss_per_damage, a.onset_delay_days)
                    for drug, a in scenario.agents.items()},
        )

    def gc_effect(self, prednisone_eq_mg_per_day: float) -> float:
        """Glucocorticoid suppression at a dose (log units): an Emax curve."""
        d = prednisone_eq_mg_per_day
        return self.gc_max_effect * d / (d + self.gc_half_effect_mg_per_day) if d > 0 else 0.0

    def gc_effects(self, schedule: Schedule) -> tuple[tuple[float, float], ...]:
        """(offset_days, suppression) for each step of a glucocorticoid schedule. Schedules are shared by many
        patients' courses, so each is worked out once (kept while the schedule cache keeps the schedule)."""
        effects = self._gc_effects.get(schedule)
        if effects is None:
            effects = tuple((s.offset_days, self.gc_effect(s.prednisone_eq_mg_per_day)) for s in schedule.steps)
            self._gc_effects[schedule] = effects
        return effects


@dataclass(frozen=True)
class VisitRules:
    """Clinic visits: when they happen, what they measure, what the clinician decides."""

    criteria: ResponseCriteria
    imacs: ImprovementDefinition
    printo20: ImprovementDefinition
    sensitivity: tuple[float, ...]
    noise_percent: tuple[float, ...]
    damage_weight: tuple[float, ...]
    expectation_percent: tuple[float, ...]  # each measure's improvement from expectation as a line starts
    expectation_waning_days: float
    p_uninvolved: tuple[dict[str, float], ...]  # per measure, by subtype: share in whom it is not involved
    recovery_weight: tuple[float, ...]  # per measure, the share following the slow recovery
    recovery_days: float
    activity_noise: float
    measure_response_sd: float
    clinic: ClinicRules
    symptomatic_rise: float
    early_visit_days: float
    drift_sd: float
    failure_window_sd: float
    interval_days: dict[str, float]  # by state; lines use their own

    @classmethod
    def compile(cls, scenario: Scenario) -> VisitRules:
        a = scenario.assessment
        measures = list(a.measures.items())
        intervals = {state: getattr(scenario.lines, state).assessment_interval_days
                     for state in TREATMENT_LINE_STATES}
        intervals.update(iv_pulse=scenario.lines.first_line.assessment_interval_days,
                         maintenance=a.maintenance_interval_days, drug_free_remission=a.drug_free_interval_days,
                         supportive_care=a.supportive_care_interval_days)
        return cls(
            criteria=ResponseCriteria(
                tuple(CoreSetMeasure(name, tuple(m.cutpoints_percent), tuple(m.points)) for name, m in measures),
                tuple(a.adult_thresholds), tuple(a.juvenile_thresholds)),
            imacs=_definition(a.imacs_definition, measures, a.strength_measure),
            printo20=_definition(a.printo20, measures, a.strength_measure),
            sensitivity=tuple(m.sensitivity for _, m in measures),
            noise_percent=tuple(m.noise_percent for _, m in measures),
            damage_weight=tuple(m.damage_weight for _, m in measures),
            expectation_percent=tuple(a.expectation_percent * m.expectation_weight for _, m in measures),
            expectation_waning_days=a.expectation_waning_days,
            p_uninvolved=tuple({s: m.p_uninvolved_by_subtype.get(s, m.p_uninvolved) for s in SUBTYPES}
                               for _, m in measures),
            recovery_weight=tuple(m.recovery_weight for _, m in measures),
            recovery_days=a.recovery_days,
            activity_noise=a.activity_noise,
            measure_response_sd=a.measure_response_sd,
            clinic=ClinicRules(a.remission_activity, a.remission_max_prednisone_mg_per_day, a.low_activity,
                               a.improving_fraction, a.flare_rise, a.taper_max_activity, a.response_fall_fraction,
                               scenario.glucocorticoids.high_dose_mg_per_day, a.flare_high_dose_activity,
                               a.flare_pulse_activity),
            symptomatic_rise=a.symptomatic_rise, early_visit_days=a.early_visit_days, drift_sd=a.visit_drift_sd,
            failure_window_sd=a.failure_window_sd,
            interval_days=intervals,
        )


def _definition(spec, measures, strength_measure: str) -> ImprovementDefinition:
    names = [name for name, _ in measures]
    return ImprovementDefinition(spec.improved_measures, spec.improvement_percent, spec.max_worse_measures,
                                 spec.worsening_percent, names.index(strength_measure))


@dataclass(frozen=True)
class CompiledScenario:
    scenario: Scenario
    horizon_days: float
    gc: GlucocorticoidRules
    agents: dict[str, AgentRules]
    lines: dict[str, LineRules]
    audit: AuditRules
    first_line_sparing_agent: bool
    induction_glucocorticoid: bool
    sparing_agent_start_day: float
    ivig_until_remission: bool
    glucocorticoid_withdrawal_after_days: float
    withdrawal_after_days: float
    p_withdrawal: float
    mortality: MortalityRules
    p_cancer_associated: dict[str, float]
    harms: tuple[HarmRule, ...]
    disease: DiseaseRules
    visits: VisitRules
    contraindicated_with_ild: frozenset[str] = frozenset()
    pulse: PulseRules | None = None
    scig: ScigRules | None = None  # IVIG continued at home in remission (pathway/scig.py); none: never

    @classmethod
    def compile(cls, scenario: Scenario, horizon_years: float | None = None) -> CompiledScenario:
        years = scenario.simulation.horizon_years if horizon_years is None else horizon_years
        lines = {}
        for state in TREATMENT_LINE_STATES:
            section = getattr(scenario.lines, state)
            lines[state] = LineRules(
                state=state,
                line=LINE_OF_STATE[state],
                options=OptionTable.from_weights(section.options),
                ild_options=OptionTable.from_weights(section.ild_options) if section.ild_options else None,
                rp_ild_options=(OptionTable.from_weights(section.rp_ild_options) if section.rp_ild_options
                                else None),
                subtype_options={k: OptionTable.from_weights(v) for k, v in section.subtype_options.items()},
                windows=LineWindows(section.minimal_improvement_by_days, section.failure_assessment_days,
                                    section.max_days_on_line),
                assessment_interval_days=section.assessment_interval_days,
                agent_start_day=section.agent_start_day,
                p_ivig_severe=section.p_ivig_severe,
                p_ivig_non_severe=section.p_ivig_non_severe,
                p_ivig_steroid_resistant=section.p_ivig_steroid_resistant,
            )
        maintenance = scenario.maintenance
        return cls(
            scenario=scenario,
            horizon_days=years * YEAR_DAYS,
            gc=GlucocorticoidRules.from_scenario(scenario.glucocorticoids),
            agents={drug: AgentRules.from_scenario(drug, a) for drug, a in scenario.agents.items()},
            lines=lines,
            audit=AuditRules(scenario.regimen.sparing_agent_max_delay_days,
                             scenario.glucocorticoids.high_dose_max_days),
            first_line_sparing_agent=scenario.regimen.first_line_steroid_sparing_agent,
            induction_glucocorticoid=scenario.regimen.induction_glucocorticoid,
            sparing_agent_start_day=scenario.regimen.steroid_sparing_agent_start_day,
            ivig_until_remission=scenario.regimen.ivig_until_remission,
            glucocorticoid_withdrawal_after_days=maintenance.glucocorticoid_withdrawal_after_days or math.inf,
            withdrawal_after_days=maintenance.withdrawal_after_days,
            p_withdrawal=maintenance.p_withdrawal,
            mortality=compile_mortality(scenario),
            p_cancer_associated={s: scenario.cohort.p_cancer_associated.of(s) for s in SUBTYPES},
            harms=compile_harms(scenario.adverse_events),
            disease=DiseaseRules.compile(scenario),
            visits=VisitRules.compile(scenario),
            contraindicated_with_ild=frozenset(d for d, a in scenario.agents.items() if a.contraindicated_with_ild),
            pulse=PulseRules.from_scenario(scenario.glucocorticoids),
            scig=ScigRules.from_scenario(scenario.scig) if scenario.scig is not None else None,
        )


def exponential_days(u: float, rate_per_day: float) -> float:
    """Inverse-CDF draw of an exponential waiting time; infinite at rate 0."""
    if rate_per_day <= 0:
        return math.inf
    return -math.log1p(-u) / rate_per_day
