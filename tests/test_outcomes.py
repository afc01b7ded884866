"""Glucocorticoid harms and mortality: rates follow the dose, prophylaxis and bone protection work where the
evidence says, and death concentrates early."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import simulate
from iimsim.scenarios import load_scenario
from iimsim.simulation.harms import Exposure
from iimsim.simulation.mortality import YEAR_DAYS, compile_mortality, cumulative_hazard, _risk_mix

HARM_COLUMNS = ["ae_new_diabetes", "ae_serious_infection", "ae_fracture", "ae_cataract"]


def test_exposure_finds_the_day_a_draw_runs_out():
    # two harms; 10 days at rates (0.1, 0.0), then (0.2, 0.05) for ever
    exposure = Exposure([0.0, 10.0], [(0.1, 0.0), (0.2, 0.05)])
    assert exposure.cumulative_to(15.0) == pytest.approx([0.1 * 10 + 0.2 * 5, 0.05 * 5])
    assert exposure.day_reaching(0, 0.5) == pytest.approx(5.0)  # within the first piece
    assert exposure.day_reaching(0, 1.4) == pytest.approx(12.0)  # 1.0 by day 10, then 0.4 / 0.2
    assert exposure.day_reaching(1, 0.1) == pytest.approx(12.0)  # nothing for 10 days, then 0.1 / 0.05
    assert math.isinf(Exposure([0.0], [(0.0,)]).day_reaching(0, 1.0))


def test_more_glucocorticoid_more_harms_on_the_same_patients():
    """Glucocorticoid alone at first line (the teaching counterfactual) against guideline care: the same
    patients and harm draws; more steroid exposure, more adverse events."""
    base = simulate("baseline", patients=1500, seed=11)["patients"]
    mono = simulate("steroid_monotherapy", patients=1500, seed=11)["patients"]
    assert mono.pred_cum_mg.mean() > base.pred_cum_mg.mean()
    assert mono[HARM_COLUMNS].to_numpy().sum() > base[HARM_COLUMNS].to_numpy().sum()
    assert mono.ae_new_diabetes.sum() >= base.ae_new_diabetes.sum()


def _with_rates(harm: str, factor: float, **changes) -> dict:
    section = load_scenario("baseline").adverse_events.model_dump()[harm]
    rates = {"rate_per_100_patient_years": [r * factor for r in section["rate_per_100_patient_years"]],
             "rate_off_glucocorticoid_per_100_patient_years":
                 section["rate_off_glucocorticoid_per_100_patient_years"] * factor}
    return {"adverse_events": {harm: {**rates, **changes}}}


def test_pjp_prophylaxis_lowers_pneumocystis():
    # PJP made 20 times commoner so a small cohort shows it; the same patients with and without its effect
    common = _with_rates("pjp", 20.0, case_fatality=0.0)
    with_prophylaxis = simulate(patients=600, seed=3, years=2.0, overrides=common)["patients"]
    without = simulate(patients=600, seed=3, years=2.0, overrides={"adverse_events": {"pjp": {
        **common["adverse_events"]["pjp"], "rate_ratio_on_pjp_prophylaxis": 1.0}}})["patients"]
    assert without.ae_pjp.sum() > 2 * with_prophylaxis.ae_pjp.sum() > 0


def test_bone_protection_lowers_fractures():
    common = _with_rates("fracture", 10.0)
    protected = simulate(patients=600, seed=4, years=3.0, overrides=common)["patients"]
    unprotected = simulate(patients=600, seed=4, years=3.0, overrides={"adverse_events": {"fracture": {
        **common["adverse_events"]["fracture"], "rate_ratio_on_bone_protection": 1.0}}})["patients"]
    assert unprotected.ae_fracture.sum() > 1.3 * protected.ae_fracture.sum() > 0


def test_fatal_infections_kill():
    lethal = simulate(patients=300, seed=5, years=2.0, overrides={"adverse_events": {"serious_infection": {
        "case_fatality": 1.0}}})["patients"]
    infected = lethal[lethal.ae_serious_infection > 0]
    assert len(infected) > 0
    assert (infected.died & (infected.death_cause == "serious_infection")).all()
    assert (infected.ae_serious_infection == 1).all()  # the first one is fatal


def test_first_year_mortality_exceeds_the_third_years():
    p = simulate(patients=4000, seed=6, years=3.0)["patients"]
    years = p.followup_days / YEAR_DAYS

    def mortality(year):
        at_risk = (years > year - 1) | (p.died & (years >= year - 1))
        return (p.died & (years >= year - 1) & (years < year)).sum() / at_risk.sum()

    assert mortality(1) > 1.5 * mortality(3)


def test_the_solved_hazard_gives_each_subtypes_five_year_survival():
    scenario = load_scenario("baseline")
    rules = compile_mortality(scenario)
    for subtype in ("DM", "ASS", "IBM"):
        mix = _risk_mix(scenario, subtype)
        survival = sum(share * math.exp(-cumulative_hazard(rules.pieces(subtype, *risks), 5 * YEAR_DAYS))
                       for share, risks in mix)
        assert survival == pytest.approx(scenario.mortality.five_year_survival.of(subtype), abs=1e-6)
    # and simulated, without fatal infections, DM patients survive five years in about that share
    p = simulate(patients=3000, seed=8, overrides={
        "cohort": {"subtype_shares": {"DM": 1.0, "PM": 0.0, "IMNM_HMGCR": 0.0, "IMNM_SRP": 0.0, "ASS": 0.0,
                                      "IBM": 0.0, "JDM": 0.0}},
        "adverse_events": {"serious_infection": {"case_fatality": 0.0}, "pjp": {"case_fatality": 0.0}}})["patients"]
    assert 1 - p.died.mean() == pytest.approx(0.77, abs=0.025)


def test_rapidly_progressive_ild_is_severe_and_dies_early():
    p = simulate(patients=3000, seed=9, years=2.0, overrides={"cohort": {"p_rp_ild_given_anti_mda5": 1.0}})["patients"]
    rp = p[p.rp_ild]
    assert len(rp) > 20 and (rp.autoantibody == "anti_mda5").all()
    assert (rp.severity == "severe").all() and rp.has_ild.all() and rp.respiratory_failure_ild.all()
    early = rp.died & (rp.followup_days < 26 * 7)
    others = p[~p.rp_ild]
    assert early.mean() > 0.4 > (others.died & (others.followup_days < 26 * 7)).mean()


def test_a_harm_section_with_a_rate_missing_is_refused():
    from iimsim.scenarios.loader import ScenarioError
    with pytest.raises(ScenarioError, match="rate_per_100_patient_years"):
        load_scenario("baseline", {"adverse_events": {"fracture": {"rate_per_100_patient_years": [0.5, 0.8]}}})
