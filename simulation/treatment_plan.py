"""What treatment each state of the pathway starts, and which decision it is due for next.

On entering a state (`TreatmentPlan.enter`):
- iv_pulse: a methylprednisolone pulse with the first line's agents, then oral prednisolone;
- a line of therapy, first_line to refractory_alternative (`start_line`): the glucocorticoid is
  started, or raised on failure or a flare; the line's agents are chosen (an agent not tolerated
  is switched within the line), IVIG added by chance or subtype, and an intolerance is set due
  if the agent will not be tolerated; a flare on the line only steps the glucocorticoid back up;
- maintenance (`start_maintenance`): remission; the line's agents continue and the taper goes on (an IVIG
  course past its induction may go on at home as SCIG: pathway/scig.py);
- drug_free_remission: all treatment withdrawn;
- supportive_care: immunosuppression stopped, glucocorticoid tapered to a floor;
- dead: nothing.

Response, failure, flares, withdrawal and relapse are not drawn here: they follow from the
disease course as the clinic assesses it (pathway/clinic.py, simulation/clinic_visits.py).
The engine's side of a state change: what to start comes from the pathway's rules (pathway/rules.py,
pathway/agents.py, pathway/glucocorticoids.py); this carries it out. No SimPy and no random number
generation here: each episode takes the next row of uniforms from the patient's stream
(simulation/streams.py). Courses are started and ended through the `courses` object the engine passes in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from iimsim.pathway.agents import choose_option
from iimsim.pathway.clinic import STEP_BACK
from iimsim.pathway.glucocorticoids import GlucocorticoidRules
from iimsim.pathway.scig import at_home
from iimsim.pathway.rules import (escalation_allowed, ivig_allowed, ivig_from_outset, keeps_background_agent,
                                  supportive_care_floor_mg_per_day)
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.streams import CHOICE, FOLLOW_ON, INTOLERANCE_TIME, INTOLERANT, IVIG, RESISTANT_IVIG

if TYPE_CHECKING:
    from iimsim.simulation.courses import Courses
    from iimsim.simulation.patient import Patient

INF = math.inf


def induction_reviews(gc: GlucocorticoidRules) -> tuple[float, ...]:
    """Days from a line's start at which the induction dose is reviewed: when a good response lets the taper
    begin, and when it begins anyway (Praxis: the taper begins after 2-4 weeks, by the response)."""
    return tuple(sorted({gc.initial_hold_days, gc.initial_hold_max_days}))


class TreatmentPlan:
    """Starts the treatment of each state a patient enters, through `courses`."""

    def __init__(self, model: CompiledScenario, courses: Courses) -> None:
        self.model = model
        self.courses = courses

    def enter(self, p: Patient, source: str, dest: str, trigger: str, now: float) -> str:
        """Start the treatment of the state entered; returns the event's detail."""
        courses, gc = self.courses, self.model.gc
        if dest == "iv_pulse":
            detail = self.start_line(p, "first_line", now)
            courses.start_gc(p, now, courses.induction_mg(p), gc.initial_hold_days, pulse=courses.pulse_mg(p),
                             induction=True)
            p.reviews = induction_reviews(gc)
            p.pending = (p.next_day, p.next_trigger)
            p.next_day, p.next_trigger = now + gc.pulse_days, "pulse_complete"
            return f"methylprednisolone pulse; {detail}"
        if dest in self.model.lines:
            if source == "iv_pulse":
                p.next_day, p.next_trigger = max(p.pending[0], now), p.pending[1]
                return "oral prednisolone"
            if trigger == "triage" and self.model.induction_glucocorticoid:
                courses.start_gc(p, now, courses.induction_mg(p), gc.initial_hold_days, pulse=False, induction=True)
                p.reviews = induction_reviews(gc)
            elif trigger == "fail" and not gc.raise_on_escalation:
                courses.hold_dose(p, now, gc.escalation_hold_days)  # a trial's stable background
            elif trigger == "fail":
                courses.answer_gc(p, now, p.gc_answer, gc.escalation_mg_per_kg_per_day, gc.escalation_hold_days)
            elif trigger in ("flare", "relapse"):
                courses.answer_gc(p, now, p.gc_answer, gc.flare_mg_per_kg_per_day, gc.flare_hold_days)
                if dest == source:
                    return "flare during taper: glucocorticoid stepped back up"
            if trigger == "intolerance" and dest == source:
                return self.start_line(p, dest, now, forced=p.switch_agent)
            return self.start_line(p, dest, now)
        if dest == "maintenance" and trigger == "rebound":
            courses.answer_gc(p, now, STEP_BACK, gc.flare_mg_per_kg_per_day, gc.flare_hold_days)
            p.gc_dependent = True  # kept on its lowest effective dose: no second attempt in this remission
            return "steroid-dependent: glucocorticoid back to the lowest dose that held the disease"
        if dest == "maintenance":
            return self.start_maintenance(p, now)
        if dest == "drug_free_remission":
            courses.stop_agents(p, now)
            courses.close_gc(p, now, stopped=True)
            p.next_day, p.next_trigger = INF, ""
            return "all treatment withdrawn"
        if dest == "supportive_care":
            courses.stop_agents(p, now)
            floor = supportive_care_floor_mg_per_day(p.subtype, gc.supportive_care_mg_per_day)
            if courses.gc_dose(p, now) > floor:
                courses.resume_taper(p, now, floor=floor)
            p.next_day, p.next_trigger = INF, ""
            return f"immunosuppression stopped; glucocorticoid to {floor:g} mg/day"
        if dest == "dead":
            return "death"
        raise AssertionError(f"no treatment defined for state {dest!r}")

    # -- lines of therapy --------------------------------------------------------------------

    def start_line(self, p: Patient, state: str, now: float, forced: tuple[str, ...] | None = None) -> str:
        """Choose the line's agents, start them, and draw the episode's outcome."""
        m, courses = self.model, self.courses
        line = m.lines[state]
        u = p.stream.episode()
        first = line.line == 1
        if forced is not None:
            option = forced
        elif first and not m.first_line_sparing_agent:
            option = ()  # glucocorticoid monotherapy: a teaching counterfactual only
        else:
            option = choose_option(line.tables_for(p.subtype, p.ild, p.rp_ild), u[CHOICE], p.excluded, p.failed)
        p_ivig = line.p_ivig_severe if p.severe else line.p_ivig_non_severe
        gives_ivig = forced is None and "ivig" not in option and ivig_allowed(p.subtype) and (
            (first and ivig_from_outset(p.subtype)) or u[IVIG] < p_ivig)
        keep = {c.drug for c in p.agents if c.drug != "ivig"} if keeps_background_agent(option) else set()
        if forced is not None:
            keep.add("ivig")  # switching agent within a line keeps the line's IVIG course
        elif gives_ivig and (course := courses.ivig_running(p, now)) is not None and not at_home(course.schedule):
            keep.add("ivig")  # a course under way goes on: a new line does not start a second one within days
        # (a flare ends IVIG at home: given again, it starts afresh in the chair)
        courses.stop_agents(p, now, keep=keep, prophylaxis=False)
        offset = m.sparing_agent_start_day if first else line.agent_start_day
        for drug in option:
            courses.start_agent(p, drug, now + offset, prophylaxis=False)
            follow = m.agents[drug].followed_by
            if follow is not None:  # an induction course handing over to an oral maintenance agent
                for after in choose_option((follow,), u[FOLLOW_ON], p.excluded, p.failed):
                    courses.start_agent(p, after, now + offset + m.agents[drug].course_days, prophylaxis=False)
        if first and option:
            p.first_line_sparing = True
        ivig = any(c.drug == "ivig" for c in p.agents)
        if gives_ivig and not ivig:  # (no sooner than a dosing interval after the last course's last infusion)
            courses.start_agent(p, "ivig", max(now, p.ivig_due), prophylaxis=False)
            ivig = True
        courses.agent_prophylaxis(p, now)  # (PJP prophylaxis for the agents together: pathway/care.py)
        if forced is None:
            # offered IVIG if the disease resists high-dose glucocorticoid (judged at the induction's last review)
            p.ivig_if_resistant = (first and not ivig and escalation_allowed(p.subtype) and ivig_allowed(p.subtype)
                                   and u[RESISTANT_IVIG] < line.p_ivig_steroid_resistant)
        p.option = option
        p.line = line.line
        p.highest_line = max(p.highest_line, line.line)
        drugs = (*option, "ivig") if ivig else option
        p.next_day, p.next_trigger = INF, ""
        if option:
            principal = m.agents[option[0]]
            if u[INTOLERANT] < principal.p_intolerance:
                p.next_day, p.next_trigger = now + u[INTOLERANCE_TIME] * principal.intolerance_window_days, "intolerance"
                p.suspect = option[0]
        given = " + ".join(drugs) if drugs else "no steroid-sparing agent"
        return given

    def start_maintenance(self, p: Patient, now: float) -> str:
        p.remission_line = p.line
        p.gc_withdrawn_day, p.gc_dependent = None, False
        if p.remission_day is None:
            p.remission_day = now
        p.next_day, p.next_trigger = INF, ""
        if self.model.ivig_until_remission and any(c.drug == "ivig" for c in p.agents):
            # IVIG bridged the taper until the steroid-sparing agent took over: it stops in remission
            self.courses.stop_agents(p, now, keep={c.drug for c in p.agents if c.drug != "ivig"})
            return f"remission on line {p.line}; IVIG stopped"
        if self.courses.continue_at_home(p, now):
            return f"remission on line {p.line}; IVIG continued at home as SCIG"
        return f"remission on line {p.line}"
