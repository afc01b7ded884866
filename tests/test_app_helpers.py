"""The app's helpers without a browser: form values to a validated scenario with messages naming the field, an
uploaded file read as `iimsim run` reads it, one patient's course up to a week, downloads, the comparison
adapter and the `iimsim app` command; and what they add below them: the diagram's highlighted state, the timeline
drawn to a day, and a run's progress callback."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import iimsim
from iimsim.app import downloads, launch, plan_fields
from iimsim.app import teach_course as course
from iimsim.app.comparison import compare_runs, comparison_table, cost_effectiveness_sentences, order
from iimsim.app.uploads import scenario_from_upload
from iimsim.cli import main
from iimsim.pathway.machine import HIGHLIGHT, next_states_dot, to_dot
from iimsim.pathway.vocabulary import SUBTYPE_NAMES, SUBTYPES
from iimsim.reports.labels import Money, label
from iimsim.reports.patient_story import timeline, up_to
from iimsim.scenarios import ScenarioError, load_scenario, to_toml
from iimsim.simulation.tables import YEAR_DAYS


@pytest.fixture(scope="module")
def baseline():
    return load_scenario("baseline")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    return iimsim.simulate("baseline", patients=30, replications=2, years=1.0,
                           out=tmp_path_factory.mktemp("app") / "run")


# --- Plan: the form's values --------------------------------------------------------------------------------------

def test_planner_values_read_the_scenario_by_path(baseline):
    values = plan_fields.planner_values(baseline)
    assert values["simulation.patients"] == baseline.simulation.patients
    assert values["lines.first_line.p_ivig_severe"] == 0.25
    assert values["lines.second_line.options.tacrolimus"] == baseline.lines.second_line.options["tacrolimus"]
    assert values["costs.price_per_mg.rituximab"] == baseline.costs.price_per_mg["rituximab"]
    assert not any(path.startswith("infusion_unit.") for path in values)
    unit = plan_fields.planner_values(load_scenario("infusion_unit"))
    assert unit["region.population"] == 1_000_000 and "simulation.patients" not in unit
    assert unit["infusion_unit.chairs"] == 1 and unit["infusion_unit.hours_per_day"] == 8.0


def test_edits_keep_what_changed_as_plain_numbers(baseline):
    values = plan_fields.planner_values(baseline)
    form = {**values, "simulation.patients": np.int64(150), "lines.first_line.p_ivig_severe": np.float64(0.5)}
    changed = plan_fields.edits(baseline, form)
    assert changed == {"simulation.patients": 150, "lines.first_line.p_ivig_severe": 0.5}
    assert type(changed["simulation.patients"]) is int
    assert plan_fields.edits(baseline, values) == {}


def test_an_emptied_or_unknown_field_is_named(baseline):
    values = plan_fields.planner_values(baseline)
    with pytest.raises(ScenarioError, match=r"^baseline: costs.ivig_price_per_g: missing$"):
        plan_fields.edits(baseline, {**values, "costs.ivig_price_per_g": float("nan")})
    with pytest.raises(ScenarioError, match="not a field the Plan page edits: cohort.p_ild.DM"):
        plan_fields.edits(baseline, {"cohort.p_ild.DM": 0.5})


def test_edited_scenario_applies_the_edits_and_says_so(baseline):
    edited = plan_fields.edited_scenario(baseline, {"lines.first_line.p_ivig_severe": 0.5,
                                                    "lines.first_line.options.azathioprine": 0.0})
    assert edited.lines.first_line.p_ivig_severe == 0.5
    assert edited.lines.first_line.options == {"methotrexate": 0.7, "azathioprine": 0.0}
    assert edited.lines.second_line == baseline.lines.second_line
    assert edited.name == "baseline-edited"
    assert "lines.first_line.p_ivig_severe 0.25 -> 0.5" in edited.description
    assert plan_fields.edited_scenario(baseline, {}) is baseline


@pytest.mark.parametrize(("scenario", "path", "value", "message"), [
    ("baseline", "lines.first_line.p_ivig_severe", 1.5,
     "baseline: lines.first_line.p_ivig_severe = 1.5: Input should be less than or equal to 1"),
    ("baseline", "simulation.patients", 0, "baseline: simulation.patients = 0: Input should be greater than 0"),
    ("baseline", "costs.ivig_price_per_g", -1.0,
     "baseline: costs.ivig_price_per_g = -1.0: Input should be greater than or equal to 0"),
    ("infusion_unit", "infusion_unit.chairs", 0,
     "infusion_unit: infusion_unit.chairs = 0: Input should be greater than or equal to 1"),
])
def test_a_bad_value_gets_a_message_naming_the_field_and_value(scenario, path, value, message):
    with pytest.raises(ScenarioError) as caught:
        plan_fields.edited_scenario(load_scenario(scenario), {path: value})
    assert str(caught.value) == message


def test_all_zero_weights_are_refused_naming_the_line(baseline):
    zero = {"lines.first_line.options.methotrexate": 0.0, "lines.first_line.options.azathioprine": 0.0}
    with pytest.raises(ScenarioError, match=r"lines\.first_line\.options: weights must not all be zero"):
        plan_fields.edited_scenario(baseline, zero)


def test_the_form_tables_give_back_the_values_they_show(baseline):
    values = plan_fields.planner_values(baseline)
    ivig = plan_fields.ivig_table(values)
    assert list(ivig.index) == list(plan_fields.LINES) and ivig.loc["first_line", "severe"] == 0.25
    assert plan_fields.ivig_values(ivig) == {p: v for p, v in values.items() if ".p_ivig_" in p}
    prefix = "lines.refractory_combination.options"
    weights = plan_fields.keyed_table(values, prefix, "weight")
    assert "ciclosporin+methotrexate" in weights.index
    assert plan_fields.keyed_values(weights, prefix, "weight") == {
        p: v for p, v in values.items() if p.startswith(prefix + ".")}


def test_room_sized_runs_are_small_and_replicated(baseline):
    room = plan_fields.room_sized(baseline)
    assert (room.simulation.patients, room.simulation.replications) == (plan_fields.ROOM_PATIENTS,
                                                                         plan_fields.ROOM_REPLICATIONS)
    small = plan_fields.room_sized(iimsim.resolve(baseline, patients=50))
    assert small.simulation.patients == 50
    region = load_scenario("region_1m")
    assert plan_fields.room_sized(region).region == region.region


# --- Plan: an uploaded scenario ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    'extends = "baseline"\n[disease.p_refractory]\nDM = 1.5\n',
    'extends = "baseline"\n[lines.first_line]\np_ivig_severe = "half"\n',
    "name = [\n",
])
def test_a_bad_upload_gets_the_command_lines_message(text, tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "mine.toml"])
    assert result.exit_code == 2
    with pytest.raises(ScenarioError) as caught:
        scenario_from_upload("mine.toml", text.encode())
    assert result.output.strip() == f"error: {caught.value}"
    assert str(tmp_path) not in str(caught.value)


def test_an_upload_is_read_as_data(baseline):
    text = to_toml(baseline).replace('name = "baseline"', 'name = "uploaded"', 1)
    scenario = scenario_from_upload("any/folder/mine.toml", text.encode())
    assert scenario.name == "uploaded" and scenario.lines == baseline.lines
    assert scenario_from_upload("..", text.encode()).name == "uploaded"  # no file name: still read
    with pytest.raises(ScenarioError, match=r"^mine\.toml: not UTF-8 text$"):
        scenario_from_upload("mine.toml", b"name = '\xff'")
    with pytest.raises(ScenarioError, match="larger than a scenario file may be"):
        scenario_from_upload("mine.toml", b"#" * 2_000_000)


# --- Teach: one patient's course ---------------------------------------------------------------------------------

def test_chosen_comorbidities_are_the_patients_and_no_others():
    chosen = course.simulate_one("baseline", patient_id=3, subtype="PM", severe=False, weight_kg=64.0,
                                 comorbidities=["diabetes", "interstitial lung disease"])["patients"].iloc[0]
    assert (chosen.subtype, chosen.severity, chosen.weight_kg) == ("PM", "non_severe", 64.0)
    assert chosen.has_diabetes and chosen.has_ild
    assert not (chosen.has_osteoporosis or chosen.has_glaucoma or chosen.cancer_associated)
    none = course.simulate_one("baseline", patient_id=3, subtype="PM", severe=False, weight_kg=64.0)
    patient = none["patients"].iloc[0]
    assert not (patient.has_diabetes or patient.has_ild)
    assert patient.age_years == chosen.age_years and patient.sex == chosen.sex  # the same patient otherwise
    with pytest.raises(ValueError, match="unknown comorbidity gout"):
        course.patient_overrides("PM", ["gout"])


def test_the_course_read_at_the_end_of_each_week():
    tables = course.simulate_one("baseline", patient_id=1, subtype="DM", severe=True, weight_kg=70.0)
    events, doses = tables["events"], tables["doses"]
    moves = events[events["is_transition"]]
    last_move_of_week = moves.assign(week=(moves["day"] // 7).astype(int)).groupby("week")["to_state"].last()
    assert len(last_move_of_week) >= 3
    for week, state in last_move_of_week.items():
        assert course.state_at_end_of_week(events, week) == state
    weeks = list(last_move_of_week.index)
    for before, after in zip(weeks, weeks[1:]):  # the week before a move still shows the state moved from
        assert course.state_at_end_of_week(events, after - 1) == last_move_of_week[before]

    pulses = doses[doses["drug"] == "methylprednisolone"]
    assert course.glucocorticoid_mg_per_day(doses, pulses["start_day"].iloc[0]) >= 1250.0  # 1 g x 1.25
    after_pulses = doses[(doses["drug"] == "prednisolone") & (doses["start_day"] >= pulses["end_day"].max())]
    row = after_pulses.iloc[len(after_pulses) // 2]
    middle = (row["start_day"] + row["end_day"]) / 2
    assert course.glucocorticoid_mg_per_day(doses, middle) == row["prednisone_eq_mg_per_day"]
    assert course.glucocorticoid_mg_per_day(doses, doses["end_day"].max() + 1) == 0.0
    assert course.last_week(tables["patients"].iloc[0]) == int(tables["patients"].iloc[0]["followup_days"] // 7)


def test_stepping_through_the_story():
    weeks = [(0, ["a."]), (3, ["b."]), (9, ["c."])]
    assert course.story_so_far(weeks, 5) == [(0, ["a."]), (3, ["b."])]
    assert course.next_story_week(weeks, 0) == 3 and course.next_story_week(weeks, 3) == 9
    assert course.next_story_week(weeks, 9) is None
    assert course.previous_story_week(weeks, 9) == 3 and course.previous_story_week(weeks, 0) is None


def test_the_timeline_to_a_day_draws_nothing_after_it():
    tables = course.simulate_one("baseline", patient_id=1, subtype="DM", severe=True, weight_kg=70.0)
    patient, day = tables["patients"].iloc[0], 120.0
    events, doses, assessments = up_to(day, tables["events"], tables["doses"], tables["assessments"])
    assert events["day"].max() < day and assessments["day"].max() < day
    assert doses["start_day"].max() < day and doses["end_day"].max() <= day
    assert len(doses) < len(tables["doses"])
    import matplotlib.pyplot as plt

    for until in (7.0, day, 2 * day):  # the axis grows with the weeks, and ends at the week shown
        figure = timeline(patient, tables["events"], tables["doses"], tables["assessments"], 0.1, until_day=until)
        dose_axes = figure.axes[0]
        drawn = np.concatenate([line.get_xdata() for line in dose_axes.get_lines() if len(line.get_xdata()) > 2])
        assert drawn.max() <= until / 7 + 1e-9  # in weeks
        assert all(axes.get_xlim() == pytest.approx((0, until / 7)) for axes in figure.axes)
        assert figure.axes[-1].get_xlabel() == "weeks since diagnosis"
        plt.close(figure)
    whole = timeline(patient, tables["events"], tables["doses"], tables["assessments"], 0.1)
    assert whole.axes[0].get_xlim()[1] == pytest.approx(patient["followup_days"] / YEAR_DAYS)  # in years
    plt.close(whole)


def test_stepping_never_shows_when_follow_up_ends():
    tables = course.simulate_one("baseline", patient_id=0, subtype="DM", severe=True, weight_kg=70.0,
                                 comorbidities=tuple(course.COMORBIDITY_PATHS))
    patient = tables["patients"].iloc[0]
    assert patient["died"] and course.last_week(patient) < 20  # this patient dies early...
    assert course.horizon_week(5.0) == 260  # ...and the weeks run to the horizon all the same
    assert course.state_at_end_of_week(tables["events"], course.last_week(patient)) == "dead"
    assert course.state_at_end_of_week(tables["events"], 260) == "dead"


def _facts(subtype: str, severe: bool):
    tables = course.simulate_one("baseline", patient_id=0, subtype=subtype, severe=severe, weight_kg=70.0)
    return tables["patients"].iloc[0], tables["events"]


def _destinations(state: str, subtype: str, severe: bool = True, events=None, week: int = 0) -> dict[str, str]:
    patient, own_events = _facts(subtype, severe)
    moves = course.next_moves(state, patient, own_events if events is None else events, week)
    assert all(move.source == state for move in moves)
    return {f"{move.trigger}->{move.dest}": move.why for move in moves}


def test_the_next_states_are_the_patients_own():
    # Triage: a severe patient (not IBM) has the IV pulse first, a non-severe one oral induction.
    assert set(_destinations("diagnosis", "DM")) == {"triage->iv_pulse", "die->dead"}
    assert set(_destinations("diagnosis", "DM", severe=False)) == {"triage->first_line", "die->dead"}
    assert set(_destinations("diagnosis", "IBM")) == {"triage->first_line", "die->dead"}
    # First line fails into the second line, but IBM into supportive care (no escalation beyond the trial).
    dm, ibm = _destinations("first_line", "DM"), _destinations("first_line", "IBM")
    assert "fail->second_line" in dm and "fail->supportive_care" not in dm
    assert "fail->supportive_care" in ibm and "fail->second_line" not in ibm
    # Intolerance: another agent in the line if one is left (the tables cannot say), else the next line.
    assert {"intolerance->first_line", "intolerance->second_line"} <= set(dm)
    assert {"respond->maintenance", "flare->first_line", "die->dead"} <= set(dm)
    assert _destinations("dead", "DM") == {}


def test_a_flare_in_remission_escalates_beyond_the_line_that_brought_it():
    patient, events = _facts("DM", True)
    remission = pd.DataFrame({"day": [100.0], "event": ["respond"], "is_transition": [True],
                              "from_state": ["second_line"], "to_state": ["maintenance"]})
    assert "flare->third_line" in _destinations("maintenance", "DM", events=remission, week=20)
    assert [d for d in _destinations("maintenance", "DM", events=remission, week=20) if d.startswith("flare")] \
        == ["flare->third_line"]
    assert set(_destinations("drug_free_remission", "DM", events=remission, week=20)) == {
        "relapse->second_line", "die->dead"}  # re-induced with the line that brought remission


def test_the_next_states_diagram_outlines_the_state_and_names_every_way_out():
    patient, events = _facts("DM", True)
    moves = course.next_moves("first_line", patient, events, 3)
    lines = next_states_dot("first_line", moves, "week 3").splitlines()
    outlined = [line for line in lines if HIGHLIGHT in line]
    assert len(outlined) == 1 and outlined[0].strip().startswith("first_line [") and "week 3" in outlined[0]
    edges = [line.strip() for line in lines if "->" in line]
    assert {edge.split(" [")[0] for edge in edges} == {"first_line -> maintenance", "first_line -> second_line",
                                                         "first_line -> stays", "first_line -> dead"}
    for move in moves:
        assert sum(f"{move.trigger}: {move.why}" in edge for edge in edges) == 1
    assert "fontsize=16" in lines[2] and "fontsize=13" in lines[3]  # to be read at a page's width
    with pytest.raises(ValueError, match="leads from 'diagnosis'"):
        next_states_dot("first_line", course.next_moves("diagnosis", patient, events, 0))


def test_the_diagram_outlines_the_chosen_state_only():
    lines = to_dot({"second_line": "week 30"}, highlight="second_line").splitlines()
    outlined = [line for line in lines if HIGHLIGHT in line]
    assert len(outlined) == 1 and outlined[0].strip().startswith("second_line [") and "week 30" in outlined[0]
    assert HIGHLIGHT not in to_dot()
    with pytest.raises(ValueError, match="no state 'nowhere'"):
        to_dot(highlight="nowhere")


# --- Plan: a run, its downloads, a comparison --------------------------------------------------------------------

def test_progress_is_reported_batch_by_batch_and_nothing_printed(capsys, tmp_path):
    calls = []
    iimsim.simulate("baseline", patients=10, replications=3, years=0.5, out=tmp_path / "run",
                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(10, 30), (20, 30), (30, 30)]
    assert capsys.readouterr().err == ""


def test_the_plan_page_is_given_every_figure_of_the_report_with_its_caption(tmp_path):
    import re

    from iimsim.reports.report import figure_index

    small_region = {"region.population": 200_000, "region.prevalent_patients": 10}  # about 30 patients
    run = iimsim.simulate("infusion_unit", replications=1, years=1.0, out=tmp_path / "run", report=True,
                          overrides=small_region)
    html = (run.folder / "report.html").read_text("utf-8")
    shown = figure_index(run.folder)
    assert [figure["name"] for figure in shown] == re.findall(r'<figure id="figure-([\w-]+)">', html)
    assert len(shown) >= 12 and {"infusion_unit", "infusion_waits"} <= {figure["name"] for figure in shown}
    for figure in shown:
        assert (run.folder / "figures" / f"{figure['name']}.png").is_file()
        assert figure["title"] and figure["caption"]
        assert f"<figcaption>{figure['caption']}" in html.replace("&#39;", "'").replace("&gt;", ">")


def test_tables_download_as_csv_or_parquet(small_run):
    names = downloads.table_names(small_run.folder)
    assert {"patients", "events", "doses", "assessments"} <= set(names) and "summary" not in names
    as_csv = pd.read_csv(io.BytesIO(downloads.table_bytes(small_run.folder, "patients", "csv")))
    assert len(as_csv) == len(small_run.patients) == 60
    assert as_csv["pred_cum_mg"].to_numpy() == pytest.approx(small_run.patients["pred_cum_mg"].to_numpy())
    as_parquet = pd.read_parquet(io.BytesIO(downloads.table_bytes(small_run.folder, "doses", "parquet")))
    pd.testing.assert_frame_equal(as_parquet, small_run.doses)
    with pytest.raises(ValueError, match="format 'xlsx'"):
        downloads.table_bytes(small_run.folder, "patients", "xlsx")
    for name in names:  # every table offered downloads in either format
        for table_format in downloads.FORMATS:
            assert downloads.table_bytes(small_run.folder, name, table_format)


def test_compare_runs_pairs_two_scenarios_on_the_first_ones_patients(tmp_path):
    reference = iimsim.resolve("baseline", patients=30, years=1.0, seed=5)
    more_ivig = iimsim.resolve("severe_ivig")  # 1,000 patients over 5 years: the reference's size applies
    differences = compare_runs([reference, more_ivig], replications=2, out=tmp_path / "comparison")
    patients = differences.set_index("metric").loc["patients"]
    assert (patients["reference_value"], patients["scenario_value"], patients["difference"]) == (30, 30, 0)
    assert set(differences["scenario"]) == {"severe_ivig"} and set(differences["reference"]) == {"baseline"}
    assert (differences["replications"] == 2).all()
    for name in ("comparison.csv", "comparison.html", "figures/differences.png", "baseline/report.html"):
        assert (tmp_path / "comparison" / name).is_file(), name
    # shown as `iimsim compare baseline severe_ivig` prints it: severe_ivig minus baseline, labelled, with units
    table = comparison_table(differences, Money.of(reference.costs)).set_index("metric")
    ivig = differences.set_index("metric").loc["ivig_g_total"]
    assert list(table.columns[:2]) == ["baseline", "severe_ivig"]
    assert table.loc["IVIG given", "difference"] == label("ivig_g_total").shown(ivig["difference"], difference=True)
    assert table.loc["Share reached remission", "difference"].endswith("percentage points")
    sentences = cost_effectiveness_sentences(tmp_path / "comparison", reference)
    assert len(sentences) == 1 and sentences[0].startswith("severe_ivig") and "GBP (2024 prices)" in sentences[0]


def test_the_app_compares_in_the_command_lines_direction(baseline):
    other = load_scenario("severe_ivig")
    assert order(baseline, other, other_is_unedited=False) == [baseline, other]  # other minus mine
    edited = plan_fields.edited_scenario(baseline, {"lines.first_line.p_ivig_severe": 0.5})
    assert order(edited, baseline, other_is_unedited=True) == [baseline, edited]  # the edits minus the unedited


# --- `iimsim app` ------------------------------------------------------------------------------------------------

def test_iimsim_app_serves_localhost_by_default(monkeypatch):
    started = []
    monkeypatch.setattr(launch, "streamlit_installed", lambda: True)
    monkeypatch.setattr(launch, "launch", lambda *args: started.append(args) or 0)
    result = CliRunner().invoke(main, ["app", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert started == [(8501, "127.0.0.1", False)]
    command = launch.streamlit_command(8600, "127.0.0.1", browser=False)
    settings = dict(zip(command[5::2], command[6::2]))
    assert command[4] == str(launch.ENTRY) and launch.ENTRY.is_file()
    assert settings["--server.address"] == "127.0.0.1" and settings["--server.port"] == "8600"
    assert settings["--server.headless"] == "true" and settings["--browser.gatherUsageStats"] == "false"
    opening = launch.streamlit_command(8600, "127.0.0.1", browser=True)
    opening_settings = dict(zip(opening[5::2], opening[6::2]))
    assert opening_settings["--server.headless"] == "false" and opening_settings["--server.showEmailPrompt"] == "false"


def test_iimsim_app_without_streamlit_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(launch, "streamlit_installed", lambda: False)
    result = CliRunner().invoke(main, ["app"])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {launch.INSTALL_HINT}"


# --- The pages, rendered by Streamlit's own test harness (no browser) ----------------------------------------------

def _page(name: str):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    script = f"from iimsim.app import {name}\n{name}.page()\n"
    return AppTest.from_string(script, default_timeout=60)


@pytest.mark.parametrize("scenario", ["baseline", "severe_ivig", "steroid_monotherapy", "region_1m", "infusion_unit"])
def test_the_plan_form_renders_for_every_built_in_scenario(scenario):
    page = _page("plan_page").run()
    [choice] = [box for box in page.selectbox if box.label == "Built-in scenario"]
    page = choice.set_value(scenario).run()
    assert not page.exception, page.exception
    labels = {field.label for field in page.number_input}
    assert ("Region population" in labels) == (scenario in ("region_1m", "infusion_unit"))
    assert ("Chairs" in labels) == (scenario == "infusion_unit")
    assert [button.label for button in page.button] == ["Run", "Compare"]


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_the_teach_page_renders_for_a_chosen_patient(subtype):
    page = _page("teach_page").run()
    [choice] = [box for box in page.radio if box.label == "Subtype"]
    assert list(choice.options) == [f"{s}: {name}" for s, name in SUBTYPE_NAMES.items()]  # every subtype
    page = choice.set_value(subtype).run()
    assert page.metric[0].value == "0 of 260"
    page.multiselect[0].set_value(["osteoporosis", "interstitial lung disease"]).run()
    assert not page.exception, page.exception
    assert page.metric[0].value.startswith("0 of ")
    page.button[4].click().run()  # the next event
    assert not page.exception, page.exception
    assert not page.metric[0].value.startswith("0 of ")
