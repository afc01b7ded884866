"""A scenario compiled once per process into plain, fast lookups for the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pathway.agents import AgentRules, OptionTable
from pathway.audit import AuditRules
from pathway.definition import LINE_OF_STATE, TREATMENT_LINE_STATES
from pathway.glucocorticoids import GlucocorticoidRules
from scenarios.schema import SUBTYPES, Scenario

YEAR_DAYS = 365.25


@dataclass(frozen=True)
class LineRules:
    state: str
    line: int
    options: OptionTable
    ild_options: OptionTable | None
    subtype_options: dict[str, OptionTable]
    p_response: dict[str, float]
    failure_assessment_days: float
    assessment_interval_days: float
    p_ivig_severe: float
    p_ivig_non_severe: float

    def table_for(self, subtype: str, ild: bool) -> OptionTable:
        if subtype in self.subtype_options:
            return self.subtype_options[subtype]
        if ild and self.ild_options is not None:
            return self.ild_options
        return self.options


@dataclass(frozen=True)
class RunModel:
    scenario: Scenario
    horizon_days: float
    gc: GlucocorticoidRules
    agents: dict[str, AgentRules]
    lines: dict[str, LineRules]
    audit: AuditRules
    first_line_sparing_agent: bool
    sparing_agent_start_day: float
    monotherapy_p_response: float
    gc_efficacy_share: float
    ivig_nonresponse_ratio: dict[str, float]
    flare_rate_per_day: dict[str, float]
    no_sparing_flare_multiplier: float
    withdrawal_after_days: float
    p_withdrawal: float
    relapse_rate_per_day_drug_free: float
    death_rate_per_day: dict[str, float]

    @classmethod
    def compile(cls, scenario: Scenario, horizon_years: float | None = None) -> RunModel:
        years = scenario.simulation.horizon_years if horizon_years is None else horizon_years
        lines = {}
        for state in TREATMENT_LINE_STATES:
            section = getattr(scenario.lines, state)
            lines[state] = LineRules(
                state=state,
                line=LINE_OF_STATE[state],
                options=OptionTable.from_weights(section.options),
                ild_options=OptionTable.from_weights(section.ild_options) if section.ild_options else None,
                subtype_options={k: OptionTable.from_weights(v) for k, v in section.subtype_options.items()},
                p_response={s: section.p_response.of(s) for s in SUBTYPES},
                failure_assessment_days=section.failure_assessment_days,
                assessment_interval_days=section.assessment_interval_days,
                p_ivig_severe=section.p_ivig_severe,
                p_ivig_non_severe=section.p_ivig_non_severe,
            )
        maintenance = scenario.maintenance
        survival = scenario.mortality.five_year_survival
        return cls(
            scenario=scenario,
            horizon_days=years * YEAR_DAYS,
            gc=GlucocorticoidRules.from_scenario(scenario.glucocorticoids),
            agents={drug: AgentRules.from_scenario(drug, a) for drug, a in scenario.agents.items()},
            lines=lines,
            audit=AuditRules(scenario.regimen.sparing_agent_max_delay_days,
                             scenario.glucocorticoids.high_dose_max_days),
            first_line_sparing_agent=scenario.regimen.first_line_steroid_sparing_agent,
            sparing_agent_start_day=scenario.regimen.steroid_sparing_agent_start_day,
            monotherapy_p_response=scenario.regimen.glucocorticoid_monotherapy_p_response,
            gc_efficacy_share=scenario.regimen.glucocorticoid_efficacy_share,
            ivig_nonresponse_ratio={s: scenario.regimen.ivig_nonresponse_ratio.of(s) for s in SUBTYPES},
            flare_rate_per_day={s: maintenance.flare_rate_per_year.of(s) / YEAR_DAYS for s in SUBTYPES},
            no_sparing_flare_multiplier=maintenance.no_sparing_agent_flare_multiplier,
            withdrawal_after_days=maintenance.withdrawal_after_days,
            p_withdrawal=maintenance.p_withdrawal,
            relapse_rate_per_day_drug_free=maintenance.relapse_rate_per_year_drug_free / YEAR_DAYS,
            # Constant hazard matching the 5-year survival.
            death_rate_per_day={s: -math.log(survival.of(s)) / (5 * YEAR_DAYS) for s in SUBTYPES},
        )


def exponential_days(u: float, rate_per_day: float) -> float:
    """Inverse-CDF draw of an exponential waiting time; infinite at rate 0."""
    if rate_per_day <= 0:
        return math.inf
    return -math.log1p(-u) / rate_per_day
