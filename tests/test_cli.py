"""`iimsim` commands: outputs, atomic writing, and one clear error (exit 2) per bad input."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from iimsim.cli import main
from iimsim.reports.export import read_table
from iimsim.scenarios import load_scenario, to_toml
from iimsim.scenarios.loader import validate


def invoke(*args, report: bool = False):
    """Run the command line; `iimsim run` skips the HTML report unless a test needs it (speed)."""
    args = [str(a) for a in args]
    if args and args[0] == "run" and not report:
        args.append("--no-report")
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_run_writes_tables_summary_and_manifest(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", "baseline", "--patients", 150, "--seed", 3, "--years", 2, "--out", out, report=True)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "assessments.parquet", "costs_by_year.csv", "doses.parquet", "events.parquet", "figures", "manifest.json",
        "patient_costs.parquet", "patient_outcomes.parquet", "patients.parquet", "report.html",
        "resources_by_year.csv", "summary.csv", "summary_by_replication.csv"]
    patients = read_table(out, "patients").to_pandas()
    assert len(patients) == 150
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    assert summary.loc["patients", "value"] == 150
    assert summary.loc["patient_years", "value"] == pytest.approx(patients.followup_days.sum() / 365.25)
    assert {"value", "unit", "description"} <= set(summary.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["simulation"] == {"patients": 150, "horizon_years": 2.0, "seed": 3,
                                                  "replications": 1}
    assert {"transitions", "simpy", "numpy"} <= set(manifest["packages"])
    assert manifest["run"]["rows"]["patients"] == 150 and manifest["run"]["wall_seconds"] > 0


def test_csv_and_parquet_hold_the_same_tables(tmp_path):
    invoke("run", "--patients", 40, "--seed", 8, "--out", tmp_path / "p")
    invoke("run", "--patients", 40, "--seed", 8, "--out", tmp_path / "c", "--format", "csv")
    for name in ("patients", "events", "doses", "assessments", "patient_outcomes"):
        a = read_table(tmp_path / "p", name).to_pandas()
        b = read_table(tmp_path / "c", name).to_pandas()
        pd.testing.assert_frame_equal(a, b, check_exact=False)


def test_existing_output_is_kept_without_force_and_replaced_with_it(tmp_path):
    out = tmp_path / "run"
    invoke("run", "--patients", 20, "--out", out)
    before = (out / "patients.parquet").read_bytes()
    result = invoke("run", "--patients", 30, "--out", out)
    assert result.exit_code == 2 and "--force" in result.output
    assert (out / "patients.parquet").read_bytes() == before
    assert invoke("run", "--patients", 30, "--out", out, "--force").exit_code == 0
    assert len(read_table(out, "patients")) == 30
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_interrupted_run_leaves_nothing_behind(tmp_path, monkeypatch):
    import iimsim.experiments.run

    real_run_cohort = iimsim.experiments.run.run_cohort

    def crashes_after_one_chunk(*args, **kwargs):
        yield next(real_run_cohort(*args, **kwargs))
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(iimsim.experiments.run, "run_cohort", crashes_after_one_chunk)
    with pytest.raises(RuntimeError, match="simulated crash"):
        invoke("run", "--patients", 50, "--chunk-size", 10, "--out", tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_scenario_show_prints_toml_that_runs_as_is(tmp_path):
    result = invoke("scenario", "show", "severe_ivig")
    assert result.exit_code == 0
    data = tomllib.loads(result.output)
    assert validate(data, "shown") == load_scenario("severe_ivig")
    path = tmp_path / "mine.toml"
    path.write_text(result.output)
    assert invoke("run", path, "--patients", 10, "--out", tmp_path / "o").exit_code == 0


def test_scenario_list_and_help_text():
    listed = invoke("scenario", "list").output
    assert {"baseline", "severe_ivig", "steroid_monotherapy"} <= {line.split(":")[0] for line in listed.splitlines()}
    for command in (["--help"], ["run", "--help"], ["scenario", "show", "--help"], ["diagram", "--help"]):
        result = invoke(*command)
        assert result.exit_code == 0 and "Usage" in result.output


def test_help_names_every_built_in_scenario():
    from iimsim.scenarios import builtin_names

    words = set(invoke("--help").output.replace(",", " ").replace(".", " ").split())
    assert len(builtin_names()) >= 5 and set(builtin_names()) <= words


@pytest.mark.parametrize("fmt, marker", [("json", '"transitions"'), ("mermaid", "stateDiagram-v2"),
                                         ("dot", "digraph pathway")])
def test_diagram_formats(fmt, marker):
    assert marker in invoke("diagram", "--format", fmt).output


def write_scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text('extends = "baseline"\nname = "bad"\n' + text)
    return path


BAD_FILES = [
    ("unknown key", "colour = 3\n", ["colour", "Extra inputs"]),
    ("wrong type", '[cohort.comorbidity]\np_diabetes = "high"\n', ["cohort.comorbidity.p_diabetes", "'high'"]),
    ("probability above 1", "[disease.p_refractory]\nDM = 1.5\n", ["disease.p_refractory.DM", "1.5"]),
    ("negative effect size", "[agents.ivig]\neffect = -0.5\n", ["agents.ivig.effect", "-0.5"]),
    ("threshold above 100", "[assessment]\nadult_thresholds = [20.0, 40.0, 160.0]\n",
     ["assessment.adult_thresholds", "160"]),
    ("JDM thresholds out of order", "[assessment]\njuvenile_thresholds = [45.0, 30.0, 70.0]\n",
     ["juvenile_thresholds", "ascend"]),
    ("negative dose", "[agents.methotrexate]\nstart_dose = -15.0\n", ["agents.methotrexate.start_dose", "-15.0"]),
    ("negative weight", "[cohort.adult_weight_kg]\nmean = -70.0\nmin = -80.0\n",
     ["cohort.adult_weight_kg.min", "-80.0"]),
    ("zero horizon", "[simulation]\nhorizon_years = 0.0\n", ["simulation.horizon_years", "0.0"]),
    ("unknown drug", '[lines.second_line]\noptions = { aspirin = 1.0 }\n', ["aspirin", "lines.second_line"]),
    ("unknown drug regimen", "[agents.aspirin]\nsource = 'x'\n", ["agents.aspirin"]),
    ("silent guideline break", "[regimen]\nfirst_line_steroid_sparing_agent = false\n",
     ["teaching_counterfactual", "monotherapy"]),
    ("not TOML", "[simulation\n", ["not valid TOML"]),
    ("negative rounding", "[agents.azathioprine]\nround_to = -25.0\n", ["agents.azathioprine.round_to", "-25.0"]),
    ("zero cap", "[agents.cyclophosphamide]\nmax_dose = 0.0\n", ["agents.cyclophosphamide.max_dose", "0.0"]),
    ("unknown dosing weight", '[agents.ivig]\ndosing_weight = "lean"\n', ["agents.ivig.dosing_weight", "lean"]),
    ("unknown follow-on agent", "[agents.cyclophosphamide]\nfollowed_by = { aspirin = 1.0 }\n",
     ["agents.cyclophosphamide.followed_by", "aspirin"]),
    ("contraindication not a flag", '[agents.methotrexate]\ncontraindicated_with_ild = "yes"\n',
     ["agents.methotrexate.contraindicated_with_ild", "'yes'"]),
    ("correlation above 1", "[cohort]\nheight_weight_correlation = 1.5\n", ["cohort.height_weight_correlation", "1.5"]),
    ("child comorbidity above 1", "[cohort.juvenile_comorbidity]\np_diabetes = 2.0\n",
     ["cohort.juvenile_comorbidity.p_diabetes", "2.0"]),
    ("growth reference ages",
     "[cohort.child_weight_for_age]\nmale = [[5.0, -1.0, 18.0, 0.13], [3.0, -1.0, 14.0, 0.11]]\n",
     ["cohort.child_weight_for_age", "ascend"]),
    ("child pulse dose", "[glucocorticoids]\njdm_pulse_mg_per_kg_per_day = -30.0\n",
     ["glucocorticoids.jdm_pulse_mg_per_kg_per_day", "-30.0"]),
    ("statin share", "[cohort]\np_statin_given_anti_hmgcr = 1.2\n", ["cohort.p_statin_given_anti_hmgcr", "1.2"]),
    ("screening subtype", '[care]\nenhanced_cancer_screening_subtypes = ["JDM"]\n',
     ["care.enhanced_cancer_screening_subtypes", "JDM"]),
]


@pytest.mark.parametrize("label, text, expected", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_scenario_file_exits_2_naming_file_field_and_value(tmp_path, label, text, expected):
    path = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out, "--patients", 5)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and str(path) in result.output
    for fragment in expected:
        assert fragment in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize("args, expected", [
    (["run", "nosuch"], "unknown scenario 'nosuch'"),
    (["run", "nosuch.toml"], "file not found: nosuch.toml"),
    (["run", "--patients", "0"], "--patients"),
    (["run", "--patients", "-5"], "--patients"),
    (["run", "--years", "0"], "--years"),
    (["run", "--workers", "0"], "--workers"),
    (["run", "--format", "xlsx"], "--format"),
    (["scenario", "show", "nosuch"], "unknown scenario"),
])
def test_bad_command_line_values_exit_2(tmp_path, args, expected):
    result = invoke(*args, "--out", tmp_path / "o") if args[0] == "run" else invoke(*args)
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("typed, suggested", [("baselin", "baseline"), ("Severe_IVIG", "severe_ivig"),
                                               ("region", "region_1m"), ("steroid", "steroid_monotherapy")])
def test_a_mistyped_built_in_name_suggests_the_nearest_built_in(tmp_path, typed, suggested):
    result = invoke("run", typed, "--patients", 5, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: unknown scenario {typed!r}: ")
    assert result.output.rstrip().endswith(f"did you mean {suggested!r}?")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("given", ["mine.toml", "folder/mine.toml", "baseline.toml"])
def test_a_missing_scenario_file_is_a_file_not_found(tmp_path, monkeypatch, given):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", given, "--patients", 5, "--out", "o")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: file not found: {given}")
    assert ("without .toml" in result.output) == (given == "baseline.toml")
    assert list(tmp_path.iterdir()) == []
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "base.toml"\n')
    result = invoke("run", mine, "--out", "o")
    assert result.output.strip() == f"error: {mine}: extends = 'base.toml': file not found: {tmp_path / 'base.toml'}"


@pytest.mark.parametrize("command", [["run", "region_1m"], ["run", "infusion_unit"],
                                     ["compare", "baseline", "region_1m", "--replications", 2]])
def test_patients_given_for_a_region_are_refused_naming_its_population(tmp_path, command):
    # A region's patients are the people its population diagnoses: --patients would be silently ignored.
    result = invoke(*command, "--patients", 50, "--out", tmp_path / "o")
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("error: built-in scenario ") and "--patients = 50 does not apply" in line
    assert "region.population = 1000000" in line and "\n" not in line
    assert not (tmp_path / "o").exists()


def test_the_api_refuses_patients_for_a_region_naming_the_argument(tmp_path):
    import iimsim
    from iimsim.scenarios import ScenarioError

    with pytest.raises(ScenarioError, match=r"'region_1m': patients = 50 does not apply.*region\.population"):
        iimsim.simulate("region_1m", patients=50, out=tmp_path / "o")
    with pytest.raises(ScenarioError, match=r"simulation\.patients = 50 does not apply"):
        iimsim.resolve("region_1m", **{"simulation.patients": 50})
    assert iimsim.resolve("region_1m", replications=2).region.population == 1_000_000
    assert not (tmp_path / "o").exists()


def test_every_baseline_section_names_its_source():
    scenario = load_scenario("baseline")
    sections = [scenario.cohort, scenario.cohort.severity, scenario.cohort.comorbidity,
                scenario.cohort.juvenile_comorbidity, scenario.glucocorticoids,
                scenario.regimen, scenario.maintenance, scenario.disease, scenario.assessment, scenario.mortality,
                scenario.adverse_events, scenario.care, *(getattr(scenario.adverse_events, name)
                                           for name in type(scenario.adverse_events).model_fields if name != "sources"
                                           and name != "source"),
                scenario.costs, scenario.costs.societal, scenario.scig, scenario.uncertainty,
                *scenario.agents.values(),
                scenario.utilities, *scenario.utilities.adverse_events.values(),
                *(getattr(scenario.lines, name) for name in type(scenario.lines).model_fields)]
    for section in sections:
        assert section.source.strip()
    assert "Joffe" in scenario.disease.sources["p_refractory"]
    assert "Cox" in scenario.disease.sources["decline_per_year"]
    text = to_toml(scenario)
    assert text.count("source =") == len(sections)


def test_summary_resource_use_adds_up_from_the_tables(tmp_path):
    out = tmp_path / "run"
    invoke("run", "--patients", 400, "--seed", 12, "--out", out)
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    doses = read_table(out, "doses").to_pandas()
    events = read_table(out, "events").to_pandas()
    iv = doses[doses.route == "iv"]
    assert summary["infusion_chair_days_total"] == pytest.approx((iv.end_day - iv.start_day).sum())
    infusions = events[events.event == "infusion"].detail.str.split().str[0].value_counts()
    for drug, count in infusions.items():
        assert summary[f"iv_visits_{drug}"] == count
    pulses = doses[doses.drug == "methylprednisolone"]
    assert summary["iv_visits_methylprednisolone"] == len(pulses)
    patients = read_table(out, "patients").to_pandas()
    assert summary["ivig_g_total"] == pytest.approx(patients.ivig_g.sum())
    assert summary["mean_pred_cum_mg"] == pytest.approx(patients.pred_cum_mg.mean())


def test_every_illustrative_number_says_why():
    def sources(node):
        if isinstance(node, dict):
            if isinstance(node.get("source"), str):
                yield node["source"]
            yield from node.get("sources", {}).values() if isinstance(node.get("sources"), dict) else ()
            for value in node.values():
                yield from sources(value)

    texts = list(sources(load_scenario("baseline").model_dump(mode="json")))
    assert len(texts) > 40
    for text in texts:
        assert text.strip().lower() != "illustrative", "an illustrative label without its reasoning"
        if text.lower().startswith("illustrative"):
            assert len(text) > len("illustrative: ") + 5, text


def test_replications_give_means_with_confidence_intervals(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", "--patients", 120, "--replications", 3, "--seed", 2, "--out", out, report=True).exit_code == 0
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    by_rep = pd.read_csv(out / "summary_by_replication.csv")
    assert set(by_rep.replication) == {0, 1, 2}
    assert (summary.replications == 3).all() and summary.interval_method.str.contains("95%").all()
    patients = read_table(out, "patients").to_pandas()
    for metric in ("mean_pred_cum_mg", "share_reached_remission", "ivig_g_total"):
        values = by_rep[by_rep.metric == metric].value
        assert summary.loc[metric, "value"] == pytest.approx(values.mean())
        assert summary.loc[metric, "ci_low"] <= summary.loc[metric, "value"] <= summary.loc[metric, "ci_high"]
    per_rep_cum = patients.groupby("replication").pred_cum_mg.mean()
    assert np.allclose(by_rep[by_rep.metric == "mean_pred_cum_mg"].value, per_rep_cum)
    assert summary.loc["patients", "value"] == 120
    assert "95% CI" in (out / "report.html").read_text()
    single = tmp_path / "single"
    invoke("run", "--patients", 30, "--out", single)
    assert pd.read_csv(single / "summary.csv").ci_low.isna().all()


def test_two_replications_warn_that_their_intervals_say_little(tmp_path):
    """On one degree of freedom t is 12.7: the printed intervals can run below zero, so the output says so."""
    warning = "an interval from 2 replications is very wide"
    two = invoke("run", "--patients", 40, "--years", 1, "--replications", 2, "--out", tmp_path / "two")
    three = invoke("run", "--patients", 40, "--years", 1, "--replications", 3, "--out", tmp_path / "three")
    assert two.exit_code == 0 and three.exit_code == 0
    assert warning in two.output and warning not in three.output


def test_a_short_horizon_where_nobody_reaches_low_dose_runs_without_warnings(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = invoke("run", "--patients", 60, "--years", 0.2, "--out", tmp_path / "short", report=True)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "short" / "summary.csv").set_index("metric")
    assert np.isnan(summary.loc["median_days_to_pred_le_5mg", "value"])
