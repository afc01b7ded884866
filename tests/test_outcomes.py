"""Glucocorticoid harms and mortality: rates follow the dose, prophylaxis and bone protection work where the
evidence says, and death concentrates early."""

from __future__ import annotations

import pytest

from conftest import simulate
from iimsim.scenarios import load_scenario
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.tables import YEAR_DAYS

HARM_COLUMNS = ["ae_new_diabetes", "ae_serious_infection", "ae_fracture", "ae_cataract"]


def _weighted_dose(days: float, dose: float, memory_days: float) -> float:
    """The weighted recent dose after `days` at a constant `dose` from none (a first-order lag)."""
    from iimsim.simulation.disease import Effect

    effect = Effect(memory_days, 0.0)
    effect.plan(0.0, [(0.0, dose)])
    return effect.level_at(days)


def test_a_harms_ratio_follows_how_much_and_how_long_as_its_source_says():
    """Diabetes: 5 mg/day for 1, 3 and 6 months, HR 1.20, 1.43, 1.48 (Movahedi et al. 2016); serious infection:
    5 mg/day over 3 months, 6 months and 3 years, +30%, +46%, +100% (Dixon et al. 2012): the weighted recent dose
    and the ratio's points reproduce them."""
    rules = {rule.name: rule for rule in CompiledScenario.compile(load_scenario("baseline")).harms}
    for name, published in (("new_diabetes", {30.44: 1.20, 91.3: 1.43, 182.6: 1.48}),
                            ("serious_infection", {91.3: 1.30, 182.6: 1.46, 1095.75: 2.00})):
        rule = rules[name]
        for days, ratio in published.items():
            weighted = _weighted_dose(days, 5.0, rule.memory_days)
            assert rule.rate_per_day(5.0, weighted, False, False) / rule.off_rate_per_day == pytest.approx(
                ratio, abs=0.08), (name, days)
    # more dose for longer, more harm; a dose stopped a while ago counts less and less
    diabetes = rules["new_diabetes"]
    assert diabetes.rate_per_day(0, _weighted_dose(60, 30.0, 56.0), False, False) > diabetes.rate_per_day(
        0, _weighted_dose(60, 10.0, 56.0), False, False) > diabetes.rate_per_day(0, 0.0, False, False)


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


def test_the_death_hazard_rises_with_activity_and_the_organs_involved():
    """Active myositis is what kills beyond age: on the same patients, a disease held at its untreated activity
    (no treatment works) kills more than the treated one, and patients with ILD die more than those without."""
    untreatable = {"disease": {"gc_max_effect": 0.0}, "agents": {drug: {"effect": 0.0} for drug in (
        "methotrexate", "azathioprine", "mycophenolate", "ciclosporin", "tacrolimus", "rituximab", "cyclophosphamide",
        "abatacept", "tocilizumab", "ivig")}}
    treated = simulate(patients=1500, seed=8, years=3.0)["patients"]
    untreated = simulate(patients=1500, seed=8, years=3.0, overrides=untreatable)["patients"]
    assert untreated[untreated.death_cause == "myositis"].shape[0] > 1.5 * treated[treated.death_cause == "myositis"].shape[0]
    adults = treated[treated.subtype.isin(["DM", "PM"])]
    assert adults[adults.has_ild].died.mean() > adults[~adults.has_ild].died.mean()
    rules = CompiledScenario.compile(load_scenario("baseline")).mortality
    assert rules.myositis_ratio("DM", True, False, False, 40.0) > rules.myositis_ratio("DM", False, False, False, 40.0)


def test_the_population_expected_deaths_follow_age_and_sex():
    rules = CompiledScenario.compile(load_scenario("baseline")).mortality
    young, old = rules.population_expected_deaths(30, False, 365.25), rules.population_expected_deaths(70, False, 365.25)
    assert old > 5 * young and rules.population_expected_deaths(70, True, 365.25) > old
    assert rules.population_expected_deaths(50, False, 365.25) == pytest.approx(0.0026, rel=0.05)
    p = simulate(patients=400, seed=3, years=2.0)["patients"]
    assert (p.population_expected_deaths > 0).all()


def test_rapidly_progressive_ild_is_severe_dies_early_and_early_combination_saves_lives():
    """Anti-MDA5 rapidly progressive ILD: severe at diagnosis, with far higher early mortality than the rest;
    on the same patients, tacrolimus with cyclophosphamide from the start (Tsuji et al. 2020) leaves fewer dead at
    6 months than the ILD patients' usual single agent."""
    rp_all = {"cohort": {"p_rp_ild_given_anti_mda5": 1.0}}
    p = simulate(patients=3000, seed=9, years=1.0, overrides=rp_all)["patients"]
    single = simulate(patients=3000, seed=9, years=1.0, overrides={**rp_all, "lines": {"first_line": {
        "rp_ild_options": {"tacrolimus+cyclophosphamide": 0.0, "mycophenolate": 1.0}}}})["patients"]
    rp = p[p.rp_ild]
    assert len(rp) > 20 and (rp.autoantibody == "anti_mda5").all()
    assert (rp.severity == "severe").all() and rp.has_ild.all() and rp.respiratory_failure_ild.all()
    early = rp.died & (rp.followup_days < 26 * 7)
    others = p[~p.rp_ild]
    assert early.mean() > 2 * (others.died & (others.followup_days < 26 * 7)).mean()
    same = single.set_index("patient_id").loc[rp.patient_id]
    assert (same.died & (same.followup_days < 26 * 7)).sum() > early.sum()


def test_a_harm_section_with_a_rate_missing_is_refused():
    from iimsim.scenarios.loader import ScenarioError
    with pytest.raises(ScenarioError, match="rate_per_100_patient_years"):
        load_scenario("baseline", {"adverse_events": {"fracture": {"rate_per_100_patient_years": [0.5, 0.8]}}})
