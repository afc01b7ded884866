"""The validation table: its arithmetic, its measures, its trial arms."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from iimsim.cli import main
from iimsim.experiments import validation as v
from iimsim.reports.summary import mean_and_interval
from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import deep_merge
from iimsim.simulation.runner import collect_tables


@pytest.fixture(scope="module")
def table():
    # two replications: the fewest a 95% interval needs, and every row's arithmetic is the same with more
    return v.validate("baseline", patients=150, replications=2, seed=5)


def test_every_target_has_a_row_with_its_provenance(table):
    assert list(table.target) == [t.target for t in v.TARGETS]
    for row in table.itertuples():
        assert row.published_definition and row.population and row.source and row.simulated_as
        if row.simulated_as == "not simulated":
            assert math.isnan(row.simulated_mean) and row.note and row.within_tolerance is None


def test_table_arithmetic(table):
    for target, row in zip(v.TARGETS, table.itertuples()):
        if target.measure is None:
            continue
        assert row.ci_low <= row.simulated_mean <= row.ci_high
        if target.published_range is not None:
            low, high = target.published_range
            assert row.within_tolerance == (low <= row.simulated_mean <= high)
        else:
            assert row.within_tolerance == (abs(row.simulated_mean - row.published_value) <= target.tolerance)


def test_mean_and_interval_are_over_replications():
    target = v.TARGETS[0]  # non-response: the share never in remission
    scenario = load_scenario("baseline", {"simulation": {"patients": 150, "replications": 3, "seed": 5}})
    tables = {name: t.to_pandas() for name, t in collect_tables(scenario).items()}
    values = [target.measure({"cohort": run}) for run in v._replications(tables, 3)]
    expected_half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    mean, low, high = mean_and_interval(values)
    assert mean == pytest.approx(np.mean(values)) and high - mean == pytest.approx(expected_half)
    for value, (_, rep) in zip(values, tables["patients"].groupby("replication")):
        assert value == pytest.approx(rep.time_to_remission_days.isna().mean())


def trial_tables() -> dict[str, pd.DataFrame]:
    """Three patients entering second line: 1 improves and stays; 2 improves then escalates at day 300 (+120 from
    entry); 3 flares on the line (rescue) 30 days after entry, before any improvement."""
    events = pd.DataFrame({
        "patient_id": [1, 1, 2, 2, 2, 3, 3, 3],
        "day": [0.0, 180.0, 0.0, 180.0, 300.0, 0.0, 180.0, 210.0],
        "event": ["triage", "fail", "triage", "fail", "fail", "triage", "fail", "flare"],
        "from_state": ["diagnosis", "first_line", "diagnosis", "first_line", "second_line", "diagnosis",
                       "first_line", "second_line"],
        "to_state": ["first_line", "second_line", "first_line", "second_line", "third_line", "first_line",
                     "second_line", "second_line"],
        "is_transition": [True] * 8,
    })
    rows = [(1, 208.0, 10.0), (1, 236.0, 25.0), (1, 264.0, 30.0), (1, 292.0, 45.0),
            (2, 208.0, 30.0), (2, 236.0, 35.0), (2, 264.0, 40.0), (2, 292.0, 10.0), (2, 320.0, 80.0),
            (3, 208.0, 5.0), (3, 236.0, 70.0)]
    assessments = pd.DataFrame(rows, columns=["patient_id", "day", "tis_from_line_start"])
    assessments["state"] = np.where(assessments.day < 300, "second_line", "third_line")
    assessments["imacs_improvement"] = assessments.tis_from_line_start >= 30
    return {"events": events, "assessments": assessments}


def test_trial_endpoints_read_the_time_point_and_count_rescue_as_failure():
    t = trial_tables()
    # week 16 after entry (day 292): patient 1 at TIS 45; patient 2 at TIS 10 (escalating at +120 days, after the
    # time point); patient 3 flared (rescue): one responder of three at TIS >= 20
    assert v.at_week("second_line", 16, "tis_from_line_start", 20)(t) == pytest.approx(1 / 3)
    # week 8 (day 236): patient 1 at 25 and patient 2 at 35 (not yet escalated); patient 3 had flared
    assert v.at_week("second_line", 8, "tis_from_line_start", 20)(t) == pytest.approx(2 / 3)
    # by week 10 anyone improving (IMACS) while on the line: patient 2 (day 208); patient 3's 70 came after rescue
    assert v.by_week("second_line", 10, "imacs_improvement")(t) == pytest.approx(1 / 3)
    assert v.median_weeks_to("second_line", 44, "imacs_improvement")(t) == pytest.approx((28 / 7 + 84 / 7) / 2)


def test_rescue_after_the_time_point_does_not_undo_the_endpoint():
    """A trial measures its endpoint at the time point; therapy changed after it (here at +120 days, after week
    16's visit) does not make a responder a non-responder, while a change before it does."""
    t = trial_tables()
    a = t["assessments"]
    a.loc[(a.patient_id == 2) & (a.day == 292.0), "tis_from_line_start"] = 50.0  # patient 2 responds at week 16
    assert v.at_week("second_line", 16, "tis_from_line_start", 20)(t) == pytest.approx(2 / 3)
    # at week 17 (+119 days, inside the window that ends when patient 2 escalates at +120) the same
    assert v.at_week("second_line", 17, "tis_from_line_start", 20)(t) == pytest.approx(2 / 3)
    # at week 18 (+126) patient 2 had already escalated: a non-responder
    assert v.at_week("second_line", 18, "tis_from_line_start", 20)(t) == pytest.approx(1 / 3)


def test_a_trial_asking_for_stable_therapy_leaves_out_patients_entering_in_a_flare():
    """Entry at day 180: patient 1's measured activity then (0.30) is 0.05 above the lowest since their first line
    began (0.25): enrolled; patient 2's (0.45) is 0.30 above it (0.15): a flare, not enrolled; patient 3's lowest
    before entry came before their episode began (a flare on first line at day 100), so 0.40 against 0.30: in."""
    t = trial_tables()
    t["events"] = pd.concat([t["events"], pd.DataFrame({
        "patient_id": [3], "day": [100.0], "event": ["flare"], "from_state": ["first_line"],
        "to_state": ["first_line"], "is_transition": [True]})]).sort_values(["patient_id", "day"])
    before = pd.DataFrame({"patient_id": [1, 1, 1, 2, 2, 2, 3, 3, 3], "day": [28.0, 56.0, 180.0] * 3,
                           "activity_measured": [0.40, 0.25, 0.30, 0.40, 0.15, 0.45, 0.05, 0.30, 0.40]})
    before = before.assign(day=[28.0, 56.0, 180.0, 28.0, 56.0, 180.0, 28.0, 120.0, 180.0],
                           state="first_line", tis_from_line_start=0.0, imacs_improvement=False)
    a = t["assessments"].assign(activity_measured=0.2)
    t["assessments"] = pd.concat([before, a]).sort_values(["patient_id", "day"])
    enrolled = v.not_entering_in_a_flare("second_line", lambda tables: set(tables["assessments"].patient_id))(t)
    assert enrolled == {1, 3}


def test_printo_follows_its_protocol_taper():
    """PRINTO's arms taper prednisone by the trial's protocol, more slowly than the Praxis ladder."""
    from iimsim.pathway.glucocorticoids import GlucocorticoidRules, taper_doses_mg_per_day

    def dose_at(scenario, day):
        rules = GlucocorticoidRules.from_scenario(scenario.glucocorticoids)
        steps = taper_doses_mg_per_day(rules, 55.0, rules.initial_hold_days, rules.maintenance_mg_per_day)
        return [dose for offset, dose in steps if offset <= day][-1]

    seed_ladder, printo = load_scenario("baseline"), load_scenario("baseline", v.ARMS["printo"]["prednisone"])
    # the protocol: about 1 mg/kg (28 mg for 28 kg) at month 2, 0.5 (14 mg) at month 4, 0.2 (5.6 mg) at month 6
    assert dose_at(printo, 56) == pytest.approx(30.0) and dose_at(printo, 112) == pytest.approx(15.0)
    assert 2.5 <= dose_at(printo, 182) <= 5.6
    assert dose_at(seed_ladder, 112) < dose_at(printo, 112)


def test_trial_arms_are_the_same_patients():
    base = {"simulation": {"patients": 100, "seed": 3}}
    arms = {arm: collect_tables(load_scenario("baseline", deep_merge(base, overrides)))["patients"].to_pandas()
            for arm, overrides in v.ARMS["proderm"].items()}
    ivig, placebo = arms["ivig"], arms["placebo"]
    assert (ivig.subtype == "DM").all()
    for column in ("age_years", "weight_kg", "severity", "has_ild"):
        assert (ivig[column] == placebo[column]).all()
    assert ivig.ivig_g.sum() > placebo.ivig_g.sum()


def test_printo_arms_give_their_drug_with_ild_too():
    """Every JDM patient of a PRINTO arm starts the arm's agent, ILD or not (ILD's own table comes first)."""
    base = {"simulation": {"patients": 120, "seed": 4}, "cohort": {"p_ild": {"JDM": 0.5}}}
    for arm in ("ciclosporin", "methotrexate"):
        tables = collect_tables(load_scenario("baseline", deep_merge(deep_merge(base, v.ARMS["printo"][arm]), base)))
        patients, doses = tables["patients"].to_pandas(), tables["doses"].to_pandas()
        assert patients.has_ild.sum() > 30
        first = doses[(doses.start_day == 0) & doses.drug.isin(["ciclosporin", "methotrexate", "mycophenolate",
                                                                 "tacrolimus", "azathioprine"])]
        assert set(first.drug) == {arm} and first.patient_id.nunique() == len(patients)


def test_rim_is_randomised_as_rim_was():
    """RIM's late group starts rituximab 8 weeks after entering third line (its placebo phase), the early group at
    entry; the same patients enter on the same day in both."""
    base = {"simulation": {"patients": 300, "seed": 5}}
    tables = {arm: {name: t.to_pandas() for name, t in collect_tables(load_scenario("baseline", deep_merge(
        base, overrides))).items()} for arm, overrides in v.ARMS["rim"].items()}
    starts = {}
    for arm, t in tables.items():
        e = t["events"]
        e = e[e.is_transition & (e.to_state == "third_line") & (e.from_state != "third_line")]
        entry = e.groupby("patient_id")["day"].min()
        d = t["doses"]
        first = d[(d.drug == "rituximab")].groupby("patient_id")["start_day"].min()
        starts[arm] = (first - entry.reindex(first.index)).dropna()
    assert len(starts["early"]) > 20 and len(starts["late"]) > 20
    assert starts["early"].abs().max() < 1e-6
    assert ((starts["late"] - 56.0).abs() < 1e-6).mean() > 0.9


def test_a_trial_keeps_patients_on_their_arm_unless_they_worsen():
    """Under a trial's protocol no patient leaves the line for too little improvement before the time point: every
    escalation from the trial's line before then follows a flare on it."""
    overrides = deep_merge({"simulation": {"patients": 400, "seed": 9}}, v.ARMS["abatacept"]["placebo"])
    t = {name: x.to_pandas() for name, x in collect_tables(load_scenario("baseline", overrides)).items()}
    a = t["assessments"]
    e = t["events"]
    e = e[e.is_transition & (e.to_state == "third_line") & (e.from_state != "third_line")]
    entry = e.groupby("patient_id")["day"].min()
    a = a[a.patient_id.isin(entry.index) & (a.state == "third_line")]
    since = a.day.to_numpy() - entry.reindex(a.patient_id).to_numpy()
    early_fail = a[(since > 0) & (since < 7 * 24) & (a.decision == "fail")]
    assert len(a) > 100
    flares = a[(since > 0) & (a.decision == "flare")].groupby("patient_id")["day"].min()
    # a failure before week 24 is a second flare (the patient flared earlier on the line) or a flare on a high dose
    after_a_flare = flares.reindex(early_fail.patient_id).to_numpy() < early_fail.day.to_numpy()
    on_high_dose = early_fail.prednisone_eq_mg_per_day.to_numpy() > load_scenario("baseline").glucocorticoids.high_dose_mg_per_day
    assert (after_a_flare | on_high_dose).all()
    # and the clinic's own windows do fail patients for too little improvement without the protocol
    plain = deep_merge(overrides, {"lines": {"third_line": load_scenario("baseline").lines.third_line.model_dump(
        include={"minimal_improvement_by_days", "failure_assessment_days", "max_days_on_line"})}})
    t = {name: x.to_pandas() for name, x in collect_tables(load_scenario("baseline", plain)).items()}
    b = t["assessments"]
    b = b[b.patient_id.isin(entry.index) & (b.state == "third_line")]
    since_b = b.day.to_numpy() - entry.reindex(b.patient_id).to_numpy()
    assert ((since_b > 0) & (since_b < 7 * 24) & (b.decision == "fail")).sum() > 3 * len(early_fail)


def test_validate_command_writes_the_table_and_the_report_shows_it(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    # few patients: what is checked here is the command (its files, the report rebuilt), not the values
    assert runner.invoke(main, ["run", "--patients", "20", "--years", "2", "--out", str(run)]).exit_code == 0
    result = runner.invoke(main, ["validate", "--patients", "20", "--replications", "2", "--out", str(run)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(run / "validation.csv")
    assert len(written) == len(v.TARGETS)
    assert (run / "validation.md").read_text().startswith("Produced by `iimsim validate baseline --patients 20")
    assert "Validation against published results" in (run / "report.html").read_text()
    assert runner.invoke(main, ["validate", "--replications", "1"]).exit_code == 2


def test_the_targets_file_and_the_simulations_must_match_key_for_key(tmp_path):
    text = v.TARGETS_FILE.read_text("utf-8")
    assert [t.key for t in v.load_targets()] == [t.key for t in v.TARGETS]
    dropped = text.replace('key = "rim_time"', 'key = "rim_time_typo"')
    (tmp_path / "targets.toml").write_text(dropped, "utf-8")
    with pytest.raises(ValueError, match="rim_time_typo"):
        v.load_targets(tmp_path / "targets.toml")


def _protocols_with(tmp_path, old: str, new: str):
    text = v.PROTOCOLS_FILE.read_text("utf-8")
    assert old in text
    (tmp_path / "protocols.toml").write_text(text.replace(old, new, 1), "utf-8")
    return tmp_path / "protocols.toml"


@pytest.mark.parametrize("old, new, message", [
    ('arm.ivig = { line_gives = "placebo", ivig = true }', 'arm.ivig = { line_gives = "ivgi", ivig = true }',
     r"protocol\.proderm\.arm\.ivig\.line_gives: .*'ivgi'"),
    ('subtypes = ["DM"]', 'subtypes = ["XX"]', r"protocol\.proderm\.subtypes\.0: .*'XX'"),
    ('changes = ["placebo", "stable_background"]', 'changes = ["placebo", "stable_backgrond"]',
     r"protocol\.proderm: unknown changes \['stable_backgrond'\]"),
    ('protocol = "proderm"\narm = "ivig"', 'protocol = "proderm"\narm = "ivgi"', r"endpoint\.proderm_ivig_20: arms"),
    ('measure = "survival_at"', 'measure = "survival_by"', r"survival_by.*not one of"),
    ('args = { years = 5.0 }', 'args = { yeras = 5.0 }', r"endpoint\.survival_pm_dm_5y\.args"),
    ('keep_on_arm_until_week = 16', 'keep_on_arm_until_week = 16\nkeep_until = 3', r"keep_until"),
])
def test_a_bad_protocol_file_is_refused_naming_the_place_and_the_value(tmp_path, old, new, message):
    with pytest.raises(ValueError, match=message):
        v.load_protocols(_protocols_with(tmp_path, old, new))


def test_every_target_has_an_endpoint_and_every_protocol_a_source():
    protocols = v.load_protocols()
    assert set(protocols.endpoints) == {t.key for t in v.TARGETS}
    assert all(p.source.strip() for p in protocols.protocols.values())
    assert all(c.why.strip() for c in protocols.changes.values())
    # an unused protocol or change set would be data that nothing reads
    used = {e.protocol for e in protocols.endpoints.values() if e.simulated}
    assert used == set(protocols.protocols)
    named = {c for p in protocols.protocols.values() for c in [*p.changes, *(c for a in p.arm.values()
                                                                          for c in a.changes)]}
    assert named == set(protocols.changes)


def test_a_protocol_becomes_its_arms_overrides():
    """ProDERM: adults with DM in the second line, placebo or IVIG added to their therapy, kept on the arm to
    twice week 16; RIM's late arm is its early arm with rituximab 8 weeks after entry."""
    proderm = v.ARMS["proderm"]
    assert set(proderm) == {"ivig", "placebo"}
    for arm, share in (("ivig", 1.0), ("placebo", 0.0)):
        scenario = load_scenario("baseline", proderm[arm])
        line = scenario.lines.second_line
        assert scenario.cohort.subtype_shares.DM == 1.0 and scenario.simulation.horizon_years == 2.0
        assert (line.p_ivig_severe, line.p_ivig_non_severe) == (share, share)
        assert {k for k, w in line.options.items() if w > 0} == {"placebo"}
        assert line.failure_assessment_days == 2 * 7 * 16 and not scenario.glucocorticoids.raise_on_escalation
    rim = v.ARMS["rim"]
    assert v.merged(rim["early"], {"lines": {"third_line": {"agent_start_day": 56.0}}}) == rim["late"]
