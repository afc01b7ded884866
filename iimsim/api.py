"""The Python API: simulate a scenario and get its tables as pandas DataFrames.

    import iimsim
    run = iimsim.simulate("baseline", patients=500, seed=7, years=3)
    run.summary            # one row per metric, with its unit and 95% interval
    run.patients           # one row per patient
    run.save("runs/mine")  # the same folder `iimsim run` writes
    again = iimsim.load_run("runs/mine")

The command line calls these functions; a run is a folder of tables either way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy libraries load when a run is made, not on `import iimsim`
    import pandas as pd

    from iimsim.scenarios.schema import Scenario

# Keyword overrides that name a [simulation] field by a shorter name.
SIMULATION_KEYWORDS = {"patients": "patients", "seed": "seed", "years": "horizon_years",
                       "replications": "replications"}


def resolve(scenario: str | Path | Scenario = "baseline", **overrides: Any) -> Scenario:
    """A validated scenario: a built-in name, a .toml path or a `Scenario`, with overrides applied.

    Overrides are `patients=`, `seed=`, `years=`, `replications=`, or any scenario path, dotted
    (`**{"cohort.p_ild.DM": 0.3}`) or with double underscores (`cohort__p_ild__DM=0.3`). A bad value
    raises `ScenarioError` naming the field and the value, as the command line does.
    """
    from iimsim.scenarios.loader import ScenarioError, deep_merge, load_scenario, override, validate
    from iimsim.scenarios.schema import Scenario

    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        path = f"simulation.{SIMULATION_KEYWORDS[key]}" if key in SIMULATION_KEYWORDS else key.replace("__", ".")
        if "." not in path:
            raise ScenarioError(f"unknown override {key}={value!r}: use patients, seed, years, replications "
                                "or a dotted scenario path such as cohort.p_ild.DM")
        nested = deep_merge(nested, override(path, value))
    if isinstance(scenario, Scenario):
        data = scenario.model_dump()
        return validate(deep_merge(data, nested), scenario.name) if nested else scenario
    return load_scenario(str(scenario), nested or None)


class Run:
    """A simulated run: its folder of tables, read into DataFrames when first asked for."""

    def __init__(self, folder: Path | str, _owned: tempfile.TemporaryDirectory | None = None) -> None:
        self.folder = Path(folder)
        self._owned = _owned  # a temporary folder this object deletes when it goes

    def __repr__(self) -> str:
        return f"Run({self.scenario_name!r}, folder={str(self.folder)!r})"

    def table(self, name: str) -> pd.DataFrame:
        """Any saved table by name (`patients`, `events`, `doses`, `assessments`, `patient_costs`, ...)."""
        from iimsim.reports.export import read_table

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
        return json.loads((self.folder / "manifest.json").read_text())

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario the run simulated (from its manifest)."""
        from iimsim.scenarios.loader import validate

        return validate(self.manifest["scenario"], str(self.folder / "manifest.json"))

    @property
    def scenario_name(self) -> str:
        return self.manifest["scenario"]["name"]

    def metric(self, name: str) -> float:
        """One summary metric's value (the mean over replications)."""
        rows = self.summary.loc[self.summary["metric"] == name, "value"]
        if rows.empty:
            raise KeyError(f"no metric {name!r} in the summary")
        return float(rows.iloc[0])

    def save(self, folder: Path | str, force: bool = False) -> Path:
        """Copy the run to `folder` (atomically; an existing folder is replaced only with `force`)."""
        from iimsim.reports.export import staged_folder

        with staged_folder(folder, force) as staging:
            shutil.copytree(self.folder, staging, dirs_exist_ok=True)
        return Path(folder)

    def report(self) -> Path:
        """Write report.html and figures/ into the run's folder; returns the report's path."""
        from iimsim.reports.report import build_report

        return build_report(self.folder)


def simulate(scenario: str | Path | Scenario = "baseline", *, out: Path | str | None = None, force: bool = False,
             workers: int = 1, table_format: str = "parquet", report: bool = False,
             progress: bool | Callable[[int, int], None] = False,
             backend: str = "processes", scheduler: str | None = None,
             overrides: Mapping[str, Any] | None = None, **keyword_overrides: Any) -> Run:
    """Simulate a scenario and return its `Run`.

    `scenario` is a built-in name, a .toml path or a `Scenario`; overrides as in `resolve` (or as a
    mapping in `overrides=`). Without `out` the tables go to a temporary folder that lives as long as
    the returned run (`run.save(folder)` keeps them); with `out` they are written there, atomically.
    Same seed, same tables, whatever `workers` or `backend`. `progress=True` draws a bar on stderr; a
    callable is called with (patients done, patients in all) after each batch instead.
    """
    from iimsim.run import execute_run

    resolved = resolve(scenario, **{**dict(overrides or {}), **keyword_overrides})
    owned = None
    if out is None:
        owned = tempfile.TemporaryDirectory(prefix="iimsim-run-")
        out = Path(owned.name) / resolved.name
    execute_run(resolved, Path(out), workers=workers, table_format=table_format, force=force,
                progress=progress, report=report, backend=backend, scheduler=scheduler,
                command=["iimsim.simulate", resolved.name])
    return Run(out, owned)


def load_run(folder: Path | str) -> Run:
    """A saved run (from `iimsim run` or `Run.save`) as a `Run`; raises `FileNotFoundError` if it is not one."""
    folder = Path(folder)
    missing = [name for name in ("manifest.json", "summary.csv") if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"{folder}: not a run folder (no {', '.join(missing)})")
    return Run(folder)
