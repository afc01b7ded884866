"""The command line tried as a careless or hostile user would, one class of fault per test: scenario files that
reach for other files, names that are paths, values that would exhaust the machine, runs racing or dying into
one folder, full and read-only disks, damaged run folders, signals. Each gets exit code 2 (bad input; 1 for a
failure to write, 128 + the signal when stopped) and one line naming the file or field and the value or bound; no
traceback, nothing written, nothing earlier lost, nothing read or written outside where the user pointed."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from iimsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SECRET = 'api_token = "s3cr3t-do-not-show"\n'


def cli(*args, cwd: Path | None = None):
    """`iimsim ARGS` in this process (in `cwd`); the report only when asked for."""
    args = [str(a) for a in args]
    if args[0] == "run" and "--report" not in args:
        args.append("--no-report")
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(main, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def cli_process(*args, cwd: Path, **popen):
    """`iimsim ARGS` as its own process (for signals, resource limits and races)."""
    command = [sys.executable, "-m", "iimsim.cli", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


def one_error_line(result_or_stderr, exit_code: int = 2) -> str:
    """The one line of an error, checked: exit code, `error: ` prefix, no traceback."""
    if isinstance(result_or_stderr, str):
        stderr = result_or_stderr
    else:
        assert result_or_stderr.exit_code == exit_code, result_or_stderr.output
        stderr = result_or_stderr.stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for a folder): what a failure must leave as it was."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- Scenario files that reach outside their folder ----------------------------------------------------------------

@pytest.fixture()
def outside_secret(tmp_path) -> Path:
    """A TOML file outside the user's folder holding a secret, and the user's (empty) folder beside it."""
    write(tmp_path / "server" / "secret.toml", SECRET)
    (tmp_path / "user").mkdir()
    return tmp_path / "server" / "secret.toml"


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_a_scenario_may_not_extend_a_file_outside_its_folder(outside_secret, how):
    user = outside_secret.parent.parent / "user"
    target = {"relative": "../server/secret.toml", "absolute": str(outside_secret), "symlink": "link.toml"}[how]
    if how == "symlink":
        (user / "link.toml").symlink_to(outside_secret)
    scenario = write(user / "mine.toml", f'extends = "{target}"\nname = "mine"\n')
    before = tree(outside_secret.parent.parent)
    line = one_error_line(cli("run", scenario, "--patients", 5, "--out", user / "out"))
    assert str(scenario) in line and "outside the scenario's folder" in line
    assert "s3cr3t" not in line and "api_token" not in line
    assert tree(outside_secret.parent.parent) == before


def test_a_scenario_may_extend_a_file_in_its_own_folder_and_names_the_loop_and_chain_bounds(tmp_path):
    write(tmp_path / "shared" / "base.toml", 'extends = "baseline"\nname = "base"\n[simulation]\nseed = 4\n')
    mine = write(tmp_path / "mine.toml", 'extends = "shared/base.toml"\nname = "mine"\n')
    assert cli("run", mine, "--patients", 5, "--years", 1, "--out", tmp_path / "out").exit_code == 0
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["scenario"]["simulation"]["seed"] == 4

    loop = write(tmp_path / "loop.toml", 'extends = "loop2.toml"\n')
    write(tmp_path / "loop2.toml", 'extends = "loop.toml"\n')
    assert "in a loop" in one_error_line(cli("run", loop, "--out", tmp_path / "o"))
    for k in range(12):  # a chain of twelve files, each extending the next
        write(tmp_path / f"chain{k}.toml", f'extends = "chain{k + 1}.toml"\n' if k < 11 else 'extends = "baseline"\n')
    line = one_error_line(cli("run", tmp_path / "chain0.toml", "--out", tmp_path / "o"))
    assert "more than 8 scenarios extend one another" in line
    assert not (tmp_path / "o").exists()


# --- Names that are paths ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../escaped", "/tmp/iimsim-absolute-name", "a/b", ".hidden", "..", "x" * 150,
                                  "rm -rf ~ ; $(reboot)", "naïve"])
def test_a_scenario_name_is_a_label_and_the_run_folder_is_named_safely(tmp_path, name):
    work = tmp_path / "work"
    write(work / "mine.toml", f'extends = "baseline"\nname = {json.dumps(name)}\n')
    result = cli("run", "mine.toml", "--patients", 5, "--years", 1, cwd=work)
    assert result.exit_code == 0, result.output
    folders = [p for p in (work / "runs").iterdir()]
    assert len(folders) == 1 and not folders[0].name.startswith(".") and len(folders[0].name) <= 100
    assert json.loads((folders[0] / "manifest.json").read_text())["scenario"]["name"] == name  # the label kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and not Path("/tmp/iimsim-absolute-name").exists()
    assert sorted(p.name for p in work.iterdir()) == ["mine.toml", "runs"]


def test_scenario_text_in_the_report_is_text(tmp_path):
    mine = write(tmp_path / "mine.toml", 'extends = "baseline"\nname = "<script>alert(1)</script>"\n'
                 'description = "<img src=\'http://127.0.0.1:9/x.png\'> & <b>bold</b>"\n')
    assert cli("run", mine, "--patients", 10, "--years", 1, "--report", "--out", tmp_path / "out").exit_code == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert" not in html and "<img src='http" not in html and "<b>bold" not in html
    assert "&lt;img src=" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_name_that_breaks_the_line_is_refused_naming_it(tmp_path):
    mine = write(tmp_path / "mine.toml", 'extends = "baseline"\nname = "two\\nlines"\n')
    line = one_error_line(cli("run", mine, "--out", tmp_path / "o"))
    assert "one line of printable text" in line and "'two\\nlines'" in line


# --- Values whose extremes would exhaust the machine ---------------------------------------------------------------

BOUNDS = [  # (file text after `extends = "baseline"`, or command-line arguments; what the one line must name)
    ("[lines.first_line]\nassessment_interval_days = 1e-320\n", ["lines.first_line.assessment_interval_days",
                                                                 "greater than or equal to 1"]),
    ("[assessment]\nmaintenance_interval_days = 0.5\n", ["assessment.maintenance_interval_days", "1"]),
    ("[agents.methotrexate]\nstep_every_days = 100000.0\n", ["step_every_days", "36525"]),
    ("[agents.methotrexate]\nstep_dose = 1e-9\n", ["agents.methotrexate", "more than 1,000"]),
    ("[glucocorticoids]\nlow_dose_decrement_mg = 1e-6\n", ["low_dose_decrement_mg", "more than 1,000"]),
    ("[agents.ivig]\nstart_dose = 0.0\n", ["agents.ivig", "infusion agent", "start_dose = 0"]),
    ("[agents.rituximab]\ninfusions = 100000\n", ["agents.rituximab.infusions", "1000"]),
    ("[disease.flare_rate_per_year]\nDM = 1e9\n", ["disease.flare_rate_per_year.DM", "365"]),
    ("[assessment]\nremission_activity = 0.0\n", ["assessment.remission_activity", "greater than 0"]),
    ("[glucocorticoids]\ntaper_pace_sd = 1109.0\n", ["glucocorticoids.taper_pace_sd", "less than or equal to 3"]),
    ("[adverse_events.serious_infection]\nrate_off_glucocorticoid_per_100_patient_years = 1e300\n",
     ["rate_off_glucocorticoid_per_100_patient_years", "36500"]),
    ("[costs]\nclinic_visit = inf\n", ["costs.clinic_visit", "finite"]),
    ("[agents.ivig]\neffect = nan\n", ["agents.ivig.effect", "finite"]),
    ("[simulation]\npatients = 1_000_000_000_000\n", ["simulation.patients", "5000000"]),
    ("[simulation]\npatients = 3_000_000\nreplications = 2\n", ["patients x replications", "5,000,000"]),
    ("[simulation]\nreplications = 1_000_000\n", ["simulation.replications", "1000"]),
    ("[simulation]\nhorizon_years = 1e6\n", ["simulation.horizon_years", "100"]),
    ("[region]\nsource = 'x'\npopulation = 9_000_000_000\nincidence_per_100k_person_years = 1000.0\n",
     ["region", "at most 5,000,000 patients"]),
    (["--patients", 10**12], ["simulation.patients", "5000000"]),
    (["--patients", 50_000_000], ["simulation.patients", "5000000"]),
    (["--years", 1000], ["simulation.horizon_years", "100"]),
    (["--workers", 100_000], ["--workers"]),
    (["--chunk-size", 10**9], ["--chunk-size"]),
]


@pytest.mark.parametrize("given, named", BOUNDS, ids=[str(i) for i in range(len(BOUNDS))])
def test_a_value_past_its_bound_gets_one_line_naming_field_and_bound(tmp_path, given, named):
    if isinstance(given, str):
        args = [write(tmp_path / "mine.toml", 'extends = "baseline"\n' + given)]
    else:
        args = ["baseline", *given]
    started = time.perf_counter()
    line = one_error_line(cli("run", *args, "--out", tmp_path / "out"))
    assert time.perf_counter() - started < 10  # refused before any work
    for fragment in named:
        assert fragment in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, named", [
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 12 levels"),
    ("x = " + "[" * 20 + "1" + "]" * 20 + "\n", "x[0][0][0][0][0][0][0][0][0][0][0]"),
    ("[a.b.c.d.e.f.g.h.i.j.k.l.m.n]\nx = 1\n", "nested deeper"),
    ("#" * 1_100_000 + "\n", "larger than a scenario file may be (1,000,000 bytes)"),
    ("name = 'caf\xe9'\n", "not UTF-8 text"),
    ('extends = "baseline"\n[simulation\n', "not valid TOML"),
    ('extends = "baseline"\n"\\r\\n" = 1\n', "'\\r\\n'"),
    ('extends = "baseline"\ndescription = "' + "d" * 30_000 + '"\n', "description"),
], ids=["deep-arrays", "nested-20", "deep-tables", "too-large", "latin-1", "not-toml", "key-breaking-line",
        "long-text"])
def test_a_file_past_the_size_and_shape_bounds_gets_one_line(tmp_path, text, named):
    mine = tmp_path / "mine.toml"
    mine.write_bytes(text.encode("latin-1" if "caf" in text else "utf-8"))
    line = one_error_line(cli("run", mine, "--out", tmp_path / "out"))
    assert line.startswith(f"error: {mine}") and named in line and len(line) <= 700


# --- Runs racing, dying, filling the disk ----------------------------------------------------------------------------

def test_two_runs_started_together_into_one_folder_one_wins_whole(tmp_path):
    runs = [cli_process("run", "--patients", 3000, "--years", 2, "--seed", seed, "--no-report", "--out", "run",
                        cwd=tmp_path) for seed in (1, 2)]
    results = [(process.wait(300), process.stderr.read()) for process in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    loser = next(stderr for code, stderr in results if code == 2)
    assert "run" in one_error_line(loser) and ("another run is writing it" in loser or "exists" in loser)
    winner_seed = (1, 2)[[code for code, _ in results].index(0)]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scenario"]["simulation"]["seed"] == winner_seed
    assert pq.read_metadata(tmp_path / "run" / "patients.parquet").num_rows == 3000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_folder_another_live_run_holds_is_refused_and_left_alone(tmp_path):
    """The lock is an flock on .NAME.lock beside the folder: a process holding it is a live run."""
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open('.run.lock', "
                               "os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); os.mkdir('.run.partial-1'); "
                               "print('held', flush=True); time.sleep(60)"], cwd=tmp_path, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = tree(tmp_path)
        line = one_error_line(cli("run", "--patients", 5, "--out", tmp_path / "run"))
        assert "another run is writing it now" in line and str(tmp_path / "run") in line
        assert tree(tmp_path) == before  # its partial folder kept: its run is alive
    finally:
        holder.kill()
        holder.wait()
    assert cli("run", "--patients", 5, "--years", 1, "--out", tmp_path / "other").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]  # the dead holder's leftovers removed


def _first_batch_written(parent: Path, name: str) -> bool:
    """Whether a run into parent/name has written its first batch of patients (its workers are at work)."""
    try:
        return any(p.stat().st_size > 1000 for p in parent.glob(f".{name}.partial-*/patients.parquet"))
    except FileNotFoundError:  # between the glob and the stat
        return False


def _wait_for(condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # polling a folder another process writes


def test_a_killed_runs_leftovers_are_removed_by_the_next_run_into_the_parent(tmp_path):
    run = cli_process("run", "--patients", 20000, "--chunk-size", 200, "--no-report", "--out", "big", cwd=tmp_path)
    _wait_for(lambda: _first_batch_written(tmp_path, "big"))
    run.kill()  # SIGKILL: no cleaning up
    run.wait()
    assert {p.name.split("-")[0] for p in tmp_path.iterdir()} == {".big.partial", ".big.lock"}
    assert cli("run", "--patients", 5, "--years", 1, "--out", tmp_path / "small").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small"]


def test_force_replaces_an_earlier_run_but_never_a_folder_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    line = one_error_line(cli("run", "--patients", 5, "--force", "--out", tmp_path))
    assert "holds files iimsim did not write" in line and str(tmp_path) in line
    assert tree(tmp_path) == before


def _limited_file_size(max_bytes: int):
    """In the child, before it runs: a file may not grow past `max_bytes` (EFBIG, as a full disk gives ENOSPC)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return limit


def test_a_disk_that_fills_under_force_exits_1_and_keeps_the_earlier_run(tmp_path):
    assert cli("run", "--patients", 20, "--years", 1, "--out", tmp_path / "run").exit_code == 0
    before = tree(tmp_path)
    run = cli_process("run", "--patients", 4000, "--years", 3, "--force", "--no-report", "--out", "run",
                      cwd=tmp_path, preexec_fn=_limited_file_size(300_000))
    assert run.wait(300) == 1
    line = one_error_line(run.stderr.read())
    assert "cannot be written" in line and "File too large" in line and "run" in line
    assert tree(tmp_path) == before  # the earlier run intact, nothing partial left


@pytest.fixture()
def read_only(tmp_path):
    """A folder no one may write into, root included (chattr +i as root, else chmod)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept")
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a folder read-only for root here (chattr +i refused)")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


def test_a_read_only_folder_or_a_file_in_the_way_exits_1_naming_the_path(tmp_path, read_only):
    before = tree(tmp_path)
    line = one_error_line(cli("run", "--patients", 5, "--out", read_only / "run"), exit_code=1)
    assert str(read_only) in line and "cannot be written" in line
    (tmp_path / "file.txt").write_text("a file")
    before = tree(tmp_path)
    line = one_error_line(cli("run", "--patients", 5, "--out", tmp_path / "file.txt" / "run"), exit_code=1)
    assert str(tmp_path / "file.txt") in line
    assert tree(tmp_path) == before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_run_and_its_workers_promptly_leaving_nothing(tmp_path, signum):
    run = cli_process("run", "--patients", 20000, "--workers", 2, "--chunk-size", 500, "--no-report", "--out", "run",
                      cwd=tmp_path)
    _wait_for(lambda: _first_batch_written(tmp_path, "run"))
    workers = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
    sent = time.perf_counter()
    run.send_signal(signum)
    assert run.wait(30) == 128 + signum
    assert time.perf_counter() - sent < 10
    assert "stopped by " + signal.Signals(signum).name in one_error_line(run.stderr.read())
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout_s=10)
    assert list(tmp_path.iterdir()) == []


# --- Damaged run folders -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "run"
    assert cli("run", "--patients", 80, "--years", 1, "--seed", 2, "--out", out).exit_code == 0
    return out


def _cut_summary(folder: Path) -> None:
    data = (folder / "summary.csv").read_bytes()
    (folder / "summary.csv").write_bytes(data[: int(len(data) * 0.6)])


def _cut_summary_at_a_line(folder: Path) -> None:
    lines = (folder / "summary.csv").read_text().splitlines(keepends=True)
    (folder / "summary.csv").write_text("".join(lines[: len(lines) * 6 // 10]))


def _fewer_patients(folder: Path) -> None:
    table = pq.read_table(folder / "patients.parquet")
    pq.write_table(table.slice(0, 50), folder / "patients.parquet")


def _patients_column_as_text(folder: Path) -> None:
    frame = pd.read_parquet(folder / "patients.parquet")
    frame["followup_days"] = frame["followup_days"].astype(str)
    frame.to_parquet(folder / "patients.parquet", index=False)


def _manifest(change):
    def damage(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps(change(manifest)))
    damage.__name__ = change.__name__
    return damage


def manifest_a_list(m):
    return [m]


def rows_missing(m):
    del m["run"]["rows"]
    return m


def rows_of_text(m):
    m["run"]["rows"]["patients"] = "many"
    return m


def table_named_outside(m):
    m["run"]["rows"]["../../etc/passwd"] = 1
    return m


def scenario_invalid(m):
    m["scenario"]["disease"]["p_refractory"]["DM"] = 7
    return m


def machine_missing(m):
    del m["machine"]
    return m


def _not_json(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"run": ')


def _deeply_nested(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"packages": ' + "[" * 3000 + "]" * 3000 + "}")


DAMAGED_RUNS = [
    (_cut_summary, "summary.csv"), (_cut_summary_at_a_line, "summary.csv"), (_fewer_patients, "patients.parquet"),
    (_patients_column_as_text, "patients.parquet"), (_not_json, "manifest.json"), (_deeply_nested, "manifest.json"),
    *((_manifest(change), "manifest.json") for change in (manifest_a_list, rows_missing, rows_of_text,
                                                           table_named_outside, scenario_invalid, machine_missing)),
]


@pytest.mark.parametrize("damage, named", DAMAGED_RUNS, ids=[d.__name__.strip("_") for d, _ in DAMAGED_RUNS])
def test_a_damaged_run_folder_is_refused_before_any_report(saved_run, tmp_path, damage, named):
    copy = tmp_path / "copy"
    shutil.copytree(saved_run, copy)
    damage(copy)
    before = tree(tmp_path)
    line = one_error_line(cli("report", copy))
    assert f"{copy / named}:" in line
    assert tree(tmp_path) == before
