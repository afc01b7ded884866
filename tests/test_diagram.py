"""`iimsim diagram`: every format from the one definition, run annotations, Graphviz or a clear message."""

import json
import shutil

import pytest
from click.testing import CliRunner

from iimsim.cli import main
from iimsim.pathway.definition import STATE_NAMES, TRANSITIONS


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagram") / "run"
    result = CliRunner().invoke(main, ["run", "--patients", "300", "--seed", "6", "--out", str(out), "--no-report"])
    assert result.exit_code == 0
    return out


def diagram(*args):
    return CliRunner().invoke(main, ["diagram", *map(str, args)])


def test_json_export_lists_states_and_transitions():
    data = json.loads(diagram("--format", "json").output)
    assert [s["name"] for s in data["states"]] == list(STATE_NAMES)
    assert len(data["transitions"]) == len(TRANSITIONS)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed (bash tests/setup.sh installs it)")
@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_svg_and_png_are_drawn_by_graphviz(tmp_path, fmt, magic):
    out = tmp_path / f"pathway.{fmt}"
    assert diagram("--format", fmt, "--output", out).exit_code == 0
    content = out.read_bytes()
    assert magic in content[:400]
    if fmt == "svg":
        assert all(state in content.decode() for state in STATE_NAMES)


def test_without_graphviz_svg_says_how_to_install_it(monkeypatch, tmp_path):
    import iimsim.reports.diagram

    monkeypatch.setattr(iimsim.reports.diagram.shutil, "which", lambda name: None)
    result = diagram("--format", "svg", "--output", tmp_path / "x.svg")
    assert result.exit_code == 2
    assert "graphviz" in result.output and "--format mermaid" in result.output
    assert not (tmp_path / "x.svg").exists()


def test_run_annotations_count_patients_and_shares(run_dir):
    data = json.loads(diagram("--format", "json", "--run", run_dir).output)
    notes = {s["name"]: s.get("note") for s in data["states"]}
    from iimsim.reports.export import read_table

    events = read_table(run_dir, "events").to_pandas()
    entered = events[events.is_transition & (events.to_state == "first_line")].patient_id.nunique()
    assert notes["diagnosis"] == "300 patients" and entered >= 290
    assert notes["first_line"] == f"{entered} patients"  # (a patient dying during a pulse never gets there)
    shares = {}
    for t in data["transitions"]:
        if "note" in t:
            shares.setdefault(t["source"], 0)
            shares[t["source"]] += int(t["note"].split("(")[1].rstrip(")").replace(",", ""))
    exits = events[events.is_transition].from_state.value_counts()
    assert shares == exits.to_dict()
    mermaid = diagram("--format", "mermaid", "--run", run_dir).output
    assert "diagnosis: diagnosis (300 patients)" in mermaid


def test_bad_run_folder_exits_2(tmp_path):
    result = diagram("--format", "json", "--run", tmp_path)
    assert result.exit_code == 2 and "manifest.json: missing" in result.output  # the first file a run needs
