"""What a change of treatment changes downstream, on the same patients (common random numbers): the taper, the
glucocorticoid's end, harms, deaths and quality of life follow the disease."""

from __future__ import annotations

import pytest

from conftest import simulate

HARMS = ["ae_new_diabetes", "ae_serious_infection", "ae_fracture", "ae_cataract"]


@pytest.fixture(scope="module")
def ivig_pair() -> tuple[dict, dict, list[int]]:
    """baseline and severe_ivig on the same 3,000 patients, and the patients given IVIG at induction only under
    severe_ivig."""
    base = simulate("baseline", patients=3000, seed=21)
    more = simulate("severe_ivig", patients=3000, seed=21)

    def induction_ivig(run):
        doses = run["doses"]
        return set(doses[(doses.drug == "ivig") & (doses.start_day == 0)].patient_id)

    return base, more, sorted(induction_ivig(more) - induction_ivig(base))


def test_ivig_at_induction_spares_glucocorticoid_and_escalation_in_those_it_is_given_to(ivig_pair):
    base, more, treated = ivig_pair
    assert len(treated) > 150
    before = base["patients"].set_index("patient_id").loc[treated]
    after = more["patients"].set_index("patient_id").loc[treated]
    assert after.pred_cum_mg_first_year.mean() < 0.95 * before.pred_cum_mg_first_year.mean()
    assert (after.highest_line > 1).sum() < (before.highest_line > 1).sum()
    # the untreated are the same patients with the same course: no difference where the pathways agree
    others = base["patients"].patient_id[~base["patients"].patient_id.isin(treated)]
    same = more["patients"].set_index("patient_id").loc[others].pred_cum_mg_first_year
    assert (same - base["patients"].set_index("patient_id").loc[others].pred_cum_mg_first_year).abs().max() < 1e-6


def test_glucocorticoid_monotherapy_costs_harms_and_lives_on_the_same_patients():
    """The teaching counterfactual (no steroid-sparing agent at first line, the induction dose held 8 weeks)
    against guideline care: more adverse events and more deaths not from infection (active disease for longer,
    the glucocorticoid's own share)."""
    base = simulate("baseline", patients=3000, seed=31)
    mono = simulate("steroid_monotherapy", patients=3000, seed=31)
    b, m = base["patients"], mono["patients"]
    assert m[HARMS].to_numpy().sum() > b[HARMS].to_numpy().sum()
    not_infection = lambda p: int((p.died & (p.death_cause != "serious_infection")).sum())  # noqa: E731
    assert not_infection(m) > not_infection(b)


def test_harm_rates_rise_with_exposure_and_deaths_with_activity():
    """Across thirds of the cohort by cumulative dose per year, new diabetes and serious infection are commoner the
    more glucocorticoid; deaths from active myositis come with higher activity."""
    p = simulate(patients=4000, seed=41)["patients"]
    years = p.followup_days / 365.25
    third = (p.pred_cum_mg / years.clip(lower=0.1)).rank(pct=True).mul(3).clip(upper=2.999).astype(int)
    for harm in ("ae_new_diabetes", "ae_serious_infection"):
        rates = p.groupby(third).apply(lambda g: g[harm].sum() / (g.followup_days.sum() / 365.25))
        assert rates.iloc[2] > rates.iloc[0], harm
    myositis = p[p.death_cause == "myositis"]
    survivors = p[~p.died]
    assert myositis.activity_final.mean() > survivors.activity_final.mean()


def test_the_summary_reports_who_is_off_glucocorticoid_and_in_drug_free_remission_each_year(tmp_path):
    """summary.csv's shares off glucocorticoid and in drug-free remission at each anniversary are those the tables
    give, and more patients are off glucocorticoid at 3 years than at 1."""
    import iimsim
    from iimsim.reports.trial_endpoints import share_in_drug_free_remission_at, share_off_glucocorticoid_at

    run = iimsim.simulate("baseline", patients=800, seed=5, years=4.0)
    tables = {name: run.table(name) for name in ("patients", "doses", "events")}
    summary = run.summary.set_index("metric")["value"]
    for year in (1, 2, 3):
        assert summary[f"share_off_glucocorticoid_year_{year}"] == pytest.approx(
            share_off_glucocorticoid_at(year)(tables))
        assert summary[f"share_drug_free_remission_year_{year}"] == pytest.approx(
            share_in_drug_free_remission_at(year)(tables))
    assert summary["share_off_glucocorticoid_year_3"] > summary["share_off_glucocorticoid_year_1"] + 0.2
    assert "share_off_glucocorticoid_year_5" not in summary  # (not followed that long)
