"""One patient's story: the chosen patient, a narrative that says what the tables say, a timeline."""

import re

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from iimsim.cli import main
from iimsim.scenarios import load_scenario
from iimsim.simulation.runner import simulate_patient
from tests.conftest import simulate


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    out = tmp_path_factory.mktemp("story")
    result = CliRunner().invoke(main, ["patient", "--seed", "3", "--subtype", "DM", "--severity", "severe",
                                       "--weight-kg", "70", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_writes_timeline_narrative_and_tables(story):
    out, printed = story
    for name in ("timeline.png", "timeline.svg", "story.md", "story.html", "patients.csv", "events.csv",
                 "doses.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "**Week 0:**" in printed
    import matplotlib.image

    assert matplotlib.image.imread(out / "timeline.png").std() > 0.05


def test_week_0_describes_the_chosen_patient_and_induction(story):
    out, _ = story
    patient = pd.read_csv(out / "patients.csv").iloc[0]
    doses = pd.read_csv(out / "doses.csv")
    assert (patient.subtype, patient.severity, patient.weight_kg) == ("DM", "severe", 70.0)
    week0 = re.search(r"\*\*Week 0:\*\* (.*)", (out / "story.md").read_text()).group(1)
    assert week0.startswith("Severe dermatomyositis") and "70 kg" in week0
    assert "Methylprednisolone 1000 mg IV daily for 3 days" in week0
    oral = doses[doses.drug == "prednisolone"].sort_values("start_day").iloc[0]
    assert f"Prednisolone {oral.dose:g} mg/day started" in week0
    sparing = doses[(doses.start_day == 0) & doses.drug.isin(["methotrexate", "azathioprine", "mycophenolate"])]
    assert f"{sparing.drug.iloc[0].capitalize()} " in week0


def test_every_glucocorticoid_change_is_told(story):
    out, _ = story
    doses = pd.read_csv(out / "doses.csv")
    text = (out / "story.md").read_text()
    oral = doses[doses.drug == "prednisolone"].sort_values("start_day")
    for previous, row in zip(oral.itertuples(), oral.iloc[1:].itertuples()):
        if row.start_day == previous.end_day and row.dose != previous.dose:
            change = "raised" if row.dose > previous.dose else "reduced"
            assert f"Prednisolone {change} to {row.dose:g} mg/day" in text


def test_the_patient_is_the_same_as_in_a_cohort_run():
    cohort = simulate(patients=8, seed=11)
    one = simulate_patient(load_scenario("baseline", {"simulation": {"seed": 11}}), 5)
    alone = {name: pa.Table.to_pandas(t) for name, t in one.items()}
    for name in ("patients", "events", "doses"):
        expected = cohort[name][cohort[name].patient_id == 5].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone[name], expected)


def test_a_non_severe_patient_gets_no_pulse():
    tables = simulate_patient(load_scenario("baseline"), 0, subtype="PM", severe=False)
    doses = tables["doses"].to_pandas()
    assert "methylprednisolone" not in set(doses.drug)
    assert tables["patients"].to_pandas().severity[0] == "non_severe"


def test_story_html_shows_the_timeline_and_every_week(story):
    out, _ = story
    html = (out / "story.html").read_text()
    weeks = re.findall(r"\*\*Week (\d+):\*\*", (out / "story.md").read_text())
    assert 'id="timeline"' in html and "data:image/png;base64," in html
    assert all(f"<dt>Week {week}</dt>" in html for week in weeks)
