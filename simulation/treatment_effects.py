"""How the courses a patient is given act on their disease course.

Each course, when it starts, stops or moves, re-plans one effect of the patient's
`DiseaseCourse`: the glucocorticoid's suppression follows its dose schedule step by step
(an Emax curve of the prednisone-equivalent dose); an agent's builds to its full effect
and, for a course of infusions, wanes after the last dose. The patient's own
responsiveness (drawn at diagnosis) scales every target.
"""

from __future__ import annotations

import math

from iimsim.scenarios.schema import DRUGS
from iimsim.simulation.model import DiseaseRules
from iimsim.simulation.patient import Course, Patient
from iimsim.simulation.streams import normal_quantile

DRUG_INDEX = {drug: i for i, drug in enumerate(DRUGS)}

GLUCOCORTICOID = "glucocorticoid"


def plan_glucocorticoid(rules: DiseaseRules, p: Patient, course: Course) -> None:
    """The glucocorticoid's suppression follows `course`'s steps from today on."""
    effect = p.disease.effect(GLUCOCORTICOID, rules.gc_tau_days, p.today)
    start, response = course.start_day, p.gc_response
    effect.plan(p.today, [(start + offset, response * suppression)
                          for offset, suppression in rules.gc_effects(course.schedule)])


def stop_glucocorticoid(p: Patient) -> None:
    effect = p.disease.effects.get(GLUCOCORTICOID)
    if effect is not None:
        effect.plan(p.today, [(p.today, 0.0)])


def agent_target(rules: DiseaseRules, p: Patient, drug: str) -> float:
    """Suppression at full effect of `drug` for this patient (log units): the drug's effect, the patient's
    response to agents and to this one, their subtype, autoantibody and damage."""
    a = rules.agents[drug]
    own = math.exp(rules.drug_response_sd * normal_quantile(p.stream.drug_response[DRUG_INDEX[drug]]))
    return (a.effect * p.agent_response * own * a.by_subtype.get(p.subtype, 1.0)
            * a.by_autoantibody.get(p.autoantibody, 1.0) * (1.0 - a.loss_per_damage * p.disease.damage))


def effect_end_day(rules: DiseaseRules, course: Course) -> float:
    """When an infusion course's effect starts to wane: its last dose's end plus how long it lasts."""
    if not course.infusion:
        return math.inf
    schedule = course.schedule
    return course.start_day + schedule.row_ends[-1] + rules.agents[course.drug].lasts_days


def plan_agent(rules: DiseaseRules, p: Patient, course: Course) -> None:
    a = rules.agents[course.drug]
    effect = p.disease.effect(course.drug, a.tau_days, p.today)
    # (a latency first, if the drug has one: the effect starts to build that long after the first dose)
    changes = [(max(course.start_day + a.onset_delay_days, p.today), agent_target(rules, p, course.drug))]
    end = effect_end_day(rules, course)
    if a.onset_delay_days and end <= changes[0][0]:  # (it wanes before it would start)
        changes = []
    if end < math.inf:
        changes.append((end, 0.0))
    effect.plan(p.today, changes)


def stop_agent(rules: DiseaseRules, p: Patient, course: Course) -> None:
    """A stopped course wanes from today; infusions already given act for as long as they last."""
    effect = p.disease.effects.get(course.drug)
    if effect is None:
        return
    end = p.today
    if course.infusion:
        given = course.start_day + course.schedule.row_offsets[0] <= p.today
        if given:
            end = min(effect_end_day(rules, course), p.today + rules.agents[course.drug].lasts_days)
    effect.plan(p.today, [(max(end, p.today), 0.0)])
