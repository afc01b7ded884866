"""The Python API tried as a careless or hostile caller would: arguments of the wrong type or out of range are
refused at the door with `ArgumentError` naming the argument (before anything is simulated or written); damaged
run folders and malformed manifests raise `RunFolderError` naming the file; names and table names never become
paths; a folder being written by another run is refused with `OutputBusyError`."""

from __future__ import annotations

import json
import shutil

import pytest

import iimsim
from iimsim.reports.export import RunFolderError
from iimsim.reports.staging import OutputBusyError, folder_lock
from iimsim.scenarios import ScenarioError


@pytest.fixture(scope="module")
def small_run():
    return iimsim.simulate("baseline", patients=20, seed=3, years=1)


BAD_ARGUMENTS = [
    (iimsim.simulate, {"workers": 0}, "workers"),
    (iimsim.simulate, {"workers": "2"}, "workers"),
    (iimsim.simulate, {"workers": True}, "workers"),
    (iimsim.simulate, {"workers": 10**6}, "workers"),
    (iimsim.simulate, {"chunk_size": -5}, "chunk_size"),
    (iimsim.simulate, {"chunk_size": 2.5}, "chunk_size"),
    (iimsim.simulate, {"backend": "threads"}, "backend"),
    (iimsim.simulate, {"table_format": "xlsx"}, "table_format"),
    (iimsim.simulate, {"out": 3}, "out"),
    (iimsim.simulate, {"force": "yes"}, "force"),
    (iimsim.simulate, {"report": 1}, "report"),
    (iimsim.simulate, {"progress": "bar"}, "progress"),
    (iimsim.simulate, {"scheduler": 8786}, "scheduler"),
    (iimsim.simulate, {"command": "iimsim run"}, "command"),
    (iimsim.simulate, {"overrides": [("patients", 5)]}, "overrides"),
    (iimsim.simulate, {"scenario": 42}, "scenario"),
    (iimsim.compare, {"scenarios": "baseline"}, "scenarios"),
    (iimsim.compare, {"scenarios": ["baseline"]}, "scenarios"),
    (iimsim.compare, {"scenarios": ["baseline", None]}, "scenarios"),
    (iimsim.compare, {"scenarios": ["baseline", "severe_ivig"], "replications": 1}, "replications"),
    (iimsim.compare, {"scenarios": ["baseline", "severe_ivig"], "patients": "many"}, "patients"),
    (iimsim.compare, {"scenarios": ["baseline", "severe_ivig"], "seed": -1}, "seed"),
    (iimsim.psa, {"draws": 10**9}, "draws"),
    (iimsim.psa, {"draws": 1}, "draws"),
    (iimsim.psa, {"scenarios": [3]}, "scenarios"),
    (iimsim.oneway, {"outcome": None}, "outcome"),
    (iimsim.oneway, {"parameters": "costs.ivig_price_per_g"}, "parameters"),
    (iimsim.validate, {"replications": 10**9}, "replications"),
    (iimsim.validate, {"patients": 0}, "patients"),
    (iimsim.calibrate, {"max_evaluations": 0}, "max_evaluations"),
    (iimsim.calibrate, {"patients": 10}, "patients"),
    (iimsim.load_run, {"folder": None}, "folder"),
]


@pytest.mark.parametrize("function, arguments, named", BAD_ARGUMENTS,
                         ids=[f"{f.__name__}-{'-'.join(a)}-{i}" for i, (f, a, _) in enumerate(BAD_ARGUMENTS)])
def test_a_bad_argument_is_refused_at_the_door_naming_it(tmp_path, monkeypatch, function, arguments, named):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(iimsim.ArgumentError) as caught:
        function(**arguments)
    assert str(caught.value).startswith(f"{named} = ") and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert isinstance(caught.value, ScenarioError)  # the command line shows it as one line, exit 2
    assert list(tmp_path.iterdir()) == []


def test_overrides_past_their_bounds_raise_scenario_errors_naming_them(tmp_path):
    for overrides, named in [({"patients": 10**12}, "simulation.patients"),
                             ({"lines__first_line__assessment_interval_days": 1e-320},
                              "lines.first_line.assessment_interval_days"),
                             ({"cohort.p_ild.DM": float("nan")}, "cohort.p_ild.DM"),
                             ({"agents.ivig.effect": {"x": {"y": {"z": 1}}}}, "agents.ivig.effect")]:
        with pytest.raises(ScenarioError, match=named.replace(".", r"\.")):
            iimsim.simulate("baseline", out=tmp_path / "out", **overrides)
    assert list(tmp_path.iterdir()) == []


def test_a_table_name_is_not_a_path(small_run):
    with pytest.raises(iimsim.ArgumentError, match="^name = '../../manifest'"):
        small_run.table("../../manifest")
    assert len(small_run.table("patients")) == 20


def test_a_scenario_named_like_a_path_stays_in_its_folders(tmp_path):
    hostile = iimsim.resolve("baseline").model_copy(update={"name": "../../../escaped"})
    run = iimsim.simulate(hostile, patients=5, years=1)
    assert run.folder.name == "escaped" and run.folder.parent.name.startswith("iimsim-run-")
    assert run.scenario_name == "../../../escaped"
    differences = iimsim.compare([hostile, "baseline"], patients=5, replications=2, out=tmp_path / "cmp")
    assert set(differences.reference) == {"escaped"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp"]
    assert {p.name for p in (tmp_path / "cmp").iterdir() if p.is_dir()} >= {"escaped", "baseline"}


def test_saving_into_a_folder_another_run_is_writing_is_refused(small_run, tmp_path):
    with folder_lock(tmp_path / "saved"):
        with pytest.raises(OutputBusyError, match="another run is writing it"):
            small_run.save(tmp_path / "saved")
    assert list(tmp_path.iterdir()) == []
    small_run.save(tmp_path / "saved")
    assert len(iimsim.load_run(tmp_path / "saved").patients) == 20


@pytest.mark.parametrize("damage, named", [
    (lambda folder: (folder / "manifest.json").write_text("[1, 2]"), "manifest.json"),
    (lambda folder: (folder / "manifest.json").write_text('{"scenario": {}}'), "manifest.json"),
    (lambda folder: (folder / "summary.csv").write_text("metric,value\n"), "summary.csv"),
    (lambda folder: (folder / "events.parquet").write_bytes(b"PAR1 not really"), "events.parquet"),
], ids=["a-list", "no-run", "summary-cut", "garbage-table"])
def test_load_run_checks_the_folder_against_its_manifest(small_run, tmp_path, damage, named):
    copy = tmp_path / "copy"
    shutil.copytree(small_run.folder, copy)
    damage(copy)
    with pytest.raises(RunFolderError) as caught:
        iimsim.load_run(copy)
    assert str(caught.value).startswith(f"{copy / named}:")


def test_a_manifest_recording_other_rows_than_the_table_holds_is_refused(small_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_run.folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["run"]["rows"]["patients"] = 21
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="patients.parquet: 20 rows, the manifest records 21"):
        iimsim.load_run(copy)
    with pytest.raises(RunFolderError, match="patients.parquet: 20 rows"):
        iimsim.Run(copy).report()  # a report checks too
    assert not (copy / "report.html").exists()
