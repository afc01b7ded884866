"""The Python API: simulate a scenario and get its tables as pandas DataFrames.

    import iimsim
    run = iimsim.simulate("baseline", patients=500, seed=7, years=3)
    run.summary            # one row per metric, with its unit and 95% interval
    run.patients           # one row per patient
    run.save("runs/mine")  # the same folder `iimsim run` writes
    again = iimsim.load_run("runs/mine")
    iimsim.compare(["baseline", "severe_ivig"], patients=500, replications=5)   # paired differences

Experiments on top of runs: `compare` (paired differences on common random numbers), `psa` and `oneway`
(sensitivity over a scenario's [uncertainty]), `validate` (published targets) and `calibrate` (fit the free
parameters to the targets marked fitted). The command line calls these functions; a run is a folder of tables
either way. Bad input raises `ScenarioError` (a `ValueError`) with a message meant for the user as it is, a bad
argument `ArgumentError` (a `ScenarioError` and a `TypeError`) naming it; an existing output folder raises
`OutputExistsError` unless `force=True`, one another run is writing `OutputBusyError`, a failure to write it
`OutputWriteError` (an `OSError`); a damaged run folder `RunFolderError` (an `OSError`) naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy libraries load when a run is made, not on `import iimsim`
    import tempfile

    import pandas as pd

    from iimsim.experiments.calibrate import Calibration
    from iimsim.experiments.sensitivity import PsaResult
    from iimsim.scenarios.schema import Scenario

import iimsim.arguments as check  # noqa: E402
from iimsim.arguments import ArgumentError  # noqa: E402, F401  (re-exported: `iimsim.ArgumentError`)
# Scenario resolution lives with the scenarios (the experiments use it too); the API re-exports it.
from iimsim.scenarios.loader import resolve  # noqa: E402


class Run:
    """A simulated run: its folder of tables, read into DataFrames when first asked for."""

    def __init__(self, folder: Path | str, _owned: tempfile.TemporaryDirectory | None = None,
                 _checked: Any = None) -> None:
        self.folder = Path(folder)
        self._owned = _owned  # a temporary folder this object deletes when it goes
        self._checked = _checked  # a loaded folder's CheckedRun (its manifest and scenario)

    def __repr__(self) -> str:
        return f"Run({self.scenario_name!r}, folder={str(self.folder)!r})"

    def table(self, name: str) -> pd.DataFrame:
        """Any saved table by name (`patients`, `events`, `doses`, `assessments`, `patient_costs`, ...)."""
        from iimsim.reports.export import RUN_TABLES, read_table

        check.choice("name", name, RUN_TABLES)
        return read_table(self.folder, name).to_pandas()

    @cached_property
    def patients(self) -> pd.DataFrame:
        return self.table("patients")

    @cached_property
    def events(self) -> pd.DataFrame:
        return self.table("events")

    @cached_property
    def doses(self) -> pd.DataFrame:
        return self.table("doses")

    @cached_property
    def assessments(self) -> pd.DataFrame:
        return self.table("assessments")

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per metric: value, 95% interval, unit and description."""
        import pandas as pd

        return pd.read_csv(self.folder / "summary.csv")

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self._checked_run.manifest

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario the run simulated (from its manifest)."""
        return self._checked_run.scenario

    @property
    def _checked_run(self):
        if self._checked is None:
            from iimsim.reports.run_check import read_manifest

            self._checked = read_manifest(self.folder)
        return self._checked

    @property
    def scenario_name(self) -> str:
        return self.manifest["scenario"]["name"]

    def metric(self, name: str) -> float:
        """One summary metric's value (the mean over replications)."""
        check.text("name", name)
        rows = self.summary.loc[self.summary["metric"] == name, "value"]
        if rows.empty:
            raise KeyError(f"no metric {name!r} in the summary")
        return float(rows.iloc[0])

    def save(self, folder: Path | str, force: bool = False) -> Path:
        """Copy the run to `folder` (atomically; an existing folder is replaced only with `force`)."""
        import shutil

        from iimsim.reports.export import staged_folder

        folder = check.folder("folder", folder, optional=False)
        with staged_folder(folder, check.flag("force", force)) as staging:
            shutil.copytree(self.folder, staging, dirs_exist_ok=True)
        return Path(folder)

    def report(self) -> Path:
        """Write report.html and figures/ into the run's folder; returns the report's path."""
        from iimsim.reports.report import build_report

        return build_report(self.folder)


def simulate(scenario: str | Path | Scenario = "baseline", *, out: Path | str | None = None, force: bool = False,
             workers: int = 1, table_format: str = "parquet", report: bool = False,
             progress: bool | Callable[[int, int], None] | None = False,
             backend: str = "processes", scheduler: str | None = None, chunk_size: int | None = None,
             command: list[str] | None = None, overrides: Mapping[str, Any] | None = None,
             **keyword_overrides: Any) -> Run:
    """Simulate a scenario and return its `Run`.

    `scenario` is a built-in name, a .toml path or a `Scenario`; overrides as in `resolve` (or as a
    mapping in `overrides=`). Without `out` the tables go to a temporary folder that lives as long as
    the returned run (`run.save(folder)` keeps them); with `out` they are written there, atomically.
    `report=True` also writes report.html and figures/; `progress=True` shows a bar on stderr (None: only on
    a terminal) and a callable is called with (patients done, patients in all) after each batch instead;
    `command` is what the manifest records as the command [iimsim.simulate NAME]. Same seed, same tables,
    whatever `workers`, `backend` or `chunk_size` (patients per batch, which bounds memory).
    """
    from iimsim.reports.export import FORMATS
    from iimsim.experiments.run import execute_run
    from iimsim.simulation.runner import DEFAULT_CHUNK_SIZE

    check.scenario("scenario", scenario)
    out = check.folder("out", out)
    force, report = check.flag("force", force), check.flag("report", report)
    workers = check.integer("workers", workers, 1, check.MAX_WORKERS)
    table_format = check.choice("table_format", table_format, FORMATS)
    progress = check.callback("progress", progress)
    backend = check.choice("backend", backend, check.BACKENDS)
    scheduler = check.text("scheduler", scheduler, optional=True)
    chunk_size = check.integer("chunk_size", chunk_size, 1, check.MAX_CHUNK_PATIENTS, optional=True)
    command = check.texts("command", command)
    resolved = resolve(scenario, **{**dict(check.mapping("overrides", overrides)), **keyword_overrides})
    owned = None
    if out is None:
        import tempfile

        owned = tempfile.TemporaryDirectory(prefix="iimsim-run-")
        from iimsim.scenarios.names import folder_name

        out = Path(owned.name) / folder_name(resolved.name)
    execute_run(resolved, Path(out), workers=workers, table_format=table_format, force=force,
                chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, progress=progress, report=report, backend=backend,
                scheduler=scheduler, command=command or ["iimsim.simulate", resolved.name])
    return Run(out, owned)


def load_run(folder: Path | str) -> Run:
    """A saved run (from `iimsim run` or `Run.save`) as a `Run`; raises `MissingRunFileError` (a
    `FileNotFoundError`) if it is not one. Tables are read when first asked for; a damaged one raises
    `RunFolderError` naming the file."""
    from iimsim.reports.export import MissingRunFileError
    from iimsim.reports.run_check import check_run

    folder = check.folder("folder", folder, optional=False)
    missing = [name for name in ("manifest.json", "summary.csv") if not (folder / name).exists()]
    if missing:
        raise MissingRunFileError(f"{folder}: not a run folder (no {', '.join(missing)})")
    return Run(folder, _checked=check_run(folder))


def _label(scenario: str | Path | Scenario) -> str:
    """How a manifest names a scenario given by name, path or object."""
    return str(scenario) if isinstance(scenario, (str, Path)) else scenario.name


def compare(scenarios: Sequence[str | Path | Scenario], *, patients: int | None = None, replications: int = 5,
            seed: int | None = None, workers: int = 1, independent_seeds: bool = False,
            out: Path | str | None = None, force: bool = False, progress: bool | None = False,
            command: list[str] | None = None) -> pd.DataFrame:
    """Simulate two or more scenarios on the same patients and return each one's paired differences from the first.

    Every scenario runs `replications` times with the same seed (the first scenario's unless `seed` is given)
    and `patients` per replication (each scenario's own value unless given), so replication r of each sees the
    same patients and chance events (common random numbers); a metric's difference is taken within each
    replication, then averaged with a 95% t-interval. `independent_seeds=True` gives each scenario its own seed
    instead, to show what the pairing saves.

    Returns one row per scenario (after the first) and summary metric, with the columns scenario, reference,
    metric, unit, reference_value, scenario_value, difference, ci_low, ci_high, replications, interval_method
    and description. With `out`, also writes the comparison folder as `iimsim compare` does: each scenario's
    run and report in out/NAME, comparison.csv, comparison.html, figures/ and, when the first scenario has
    [utilities], cost_effectiveness.csv (atomically; an existing folder is replaced only with `force`).
    """
    from iimsim.experiments.compare import compare as run_comparison

    scenarios = check.scenarios("scenarios", scenarios, 2)
    patients, replications = _size("patients", patients), _replications(replications)
    seed, workers = _seed(seed), _workers(workers)
    independent_seeds, force = check.flag("independent_seeds", independent_seeds), check.flag("force", force)
    out, progress = check.folder("out", out), check.flag("progress", progress, optional=True)
    command = check.texts("command", command)
    return run_comparison(scenarios, out, patients, replications, seed, workers, independent_seeds, force,
                          command or ["iimsim.compare", *map(_label, scenarios)], progress)


def psa(scenarios: str | Path | Scenario | Sequence[str | Path | Scenario] = "baseline", *, draws: int = 100,
        patients: int | None = None, seed: int | None = None, workers: int = 1, out: Path | str | None = None,
        force: bool = False) -> PsaResult:
    """Probabilistic sensitivity analysis over the first scenario's [uncertainty] parameters.

    Draws the parameters `draws` times from their distributions and simulates every scenario (one replication
    of `patients`) on every draw, with the same seed: the same patients and chance events, so the spread is
    the parameters' own and each draw is a paired comparison. Returns a `PsaResult`: `.draws` (one row per
    draw and scenario: `param:PATH` columns and every outcome), `.summary` (mean, sd, 2.5th, 50th and 97.5th
    percentile of every outcome per scenario) and, for two or more scenarios that all have [utilities],
    `.cost_effectiveness` (the CE plane against the first, the acceptability curve and the EVPI per patient;
    for a [region], also for its population). With `out`, writes psa_draws.csv, psa_summary.csv, ce_plane.csv,
    ceac.csv, evpi.csv and their figures there, as `iimsim psa` does.
    """
    from iimsim.experiments.sensitivity import run_psa

    single = isinstance(scenarios, (str, Path)) or not isinstance(scenarios, Sequence)
    if single:
        scenarios = [check.scenario("scenarios", scenarios)]
    else:
        scenarios = check.scenarios("scenarios", scenarios, 1)
    draws = check.integer("draws", draws, 2, check.MAX_DRAWS)
    patients, seed, workers = _size("patients", patients), _seed(seed), _workers(workers)
    out, force = check.folder("out", out), check.flag("force", force)
    return run_psa(scenarios, draws, patients, seed, workers, out, force)


def oneway(scenario: str | Path | Scenario = "baseline", *, outcome: str = "mean_pred_cum_mg",
           parameters: Sequence[str] | None = None, patients: int | None = None, seed: int | None = None,
           workers: int = 1, out: Path | str | None = None, force: bool = False) -> pd.DataFrame:
    """One-way sensitivity: each [uncertainty] parameter (or those named) at its 2.5th and 97.5th percentile,
    the others at the scenario's values, on the same patients.

    Returns one row per parameter, widest swing first: parameter, baseline_value, low_value, high_value,
    outcome, outcome_baseline, outcome_at_low, outcome_at_high, swing. `outcome` is a summary metric. With
    `out`, writes oneway.csv and the tornado figure there, as `iimsim oneway` does.
    """
    from iimsim.experiments.sensitivity import run_one_way

    check.scenario("scenario", scenario)
    outcome, parameters = check.text("outcome", outcome), check.texts("parameters", parameters)
    patients, seed, workers = _size("patients", patients), _seed(seed), _workers(workers)
    return run_one_way(scenario, outcome, parameters, patients, seed, workers, check.folder("out", out),
                       check.flag("force", force))


def validate(scenario: str | Path = "baseline", *, patients: int = 2000, replications: int = 5,
             seed: int | None = None, workers: int = 1, out: Path | str | None = None,
             progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The scenario's results against published figures, trials simulated as trials.

    Returns one row per target: target, published_value, unit, published_definition, population, source,
    simulated_as, simulated_mean with its 95% interval over `replications` (ci_low, ci_high), tolerance,
    within_tolerance (None where not simulated), note and role (fitted or held out). With `out`, writes
    validation.csv and validation.md there and, when `out` is a run folder, rebuilds its report with the
    table. `progress` is told which arm is being simulated.
    """
    from iimsim.experiments.validation import run_validation

    check.scenario("scenario", scenario, objects=False)
    patients, replications = _size("patients", patients, optional=False), _replications(replications)
    out, progress = check.folder("out", out), check.callback("progress", progress, flags_too=False)
    return run_validation(str(scenario), patients, replications, _seed(seed), _workers(workers), out, progress)


def calibrate(scenario: str | Path = "baseline", *, parameters: Sequence[str] | None = None, patients: int = 1000,
              seed: int = 20261123, max_evaluations: int = 120, workers: int = 1, write: Path | str | None = None,
              progress: Callable[[str], None] | None = None, targets: Sequence[str] | None = None) -> Calibration:
    """Fit the disease model's free parameters to the published targets marked fitted (Nelder-Mead on the log
    scale, the same patients at every evaluation).

    `parameters` are scenario paths [the core ones, and the optional mechanisms the scenario switches on];
    `targets` are keys of targets marked fitted [all of them].
    Returns a `Calibration`: fitted and starting values, objective at the fit and at the start, evaluations,
    the fitted targets' simulated and published values. With `write`, puts the fitted values into that
    scenario file with the calibration as their source. `progress` is told each evaluation's objective.
    """
    from iimsim.experiments.calibrate import run_calibration

    check.scenario("scenario", scenario, objects=False)
    parameters = check.texts("parameters", parameters)
    targets = check.texts("targets", targets)
    patients = check.integer("patients", patients, 50, _max_patients())
    max_evaluations = check.integer("max_evaluations", max_evaluations, 1, check.MAX_EVALUATIONS)
    seed = check.integer("seed", seed, 0, 2**64 - 1)
    write, progress = check.folder("write", write), check.callback("progress", progress, flags_too=False)
    return run_calibration(str(scenario), parameters, patients, 1, seed, max_evaluations, _workers(workers), write,
                           progress, targets)


def _max_patients() -> int:
    from iimsim.scenarios.schema import MAX_PATIENTS

    return MAX_PATIENTS


def _size(name: str, value: Any, optional: bool = True) -> int | None:
    return check.integer(name, value, 1, _max_patients(), optional=optional)


def _replications(value: Any) -> int:
    from iimsim.scenarios.schema import MAX_REPLICATIONS

    return check.integer("replications", value, 2, MAX_REPLICATIONS)


def _seed(value: Any) -> int | None:
    return check.integer("seed", value, 0, 2**64 - 1, optional=True)


def _workers(value: Any) -> int:
    return check.integer("workers", value, 1, check.MAX_WORKERS)
