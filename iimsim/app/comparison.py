"""Two scenarios on the same patients: paired differences with 95% intervals, for the Plan page."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from iimsim.scenarios import Scenario, to_toml


def compare_runs(scenarios: list[Scenario], *, replications: int, out: Path) -> pd.DataFrame:
    """Each scenario minus the first, replication by replication on the same patients (common random numbers):
    one row per scenario and metric with the difference and its 95% interval (the columns of comparison.csv).
    The first scenario's seed, patients and horizon apply to all. Writes `out` as `iimsim compare` does:
    comparison.csv, comparison.html, figures/ and each scenario's run with its report.
    """
    # TODO: iimsim.compare once merged: return iimsim.compare(scenarios, replications=replications, out=out)
    from iimsim.reports.compare import compare

    first = scenarios[0].simulation
    with tempfile.TemporaryDirectory(prefix="iimsim-compare-") as folder:
        paths = []
        for index, scenario in enumerate(scenarios):
            path = Path(folder) / f"{index}-{scenario.name}.toml"
            path.write_text(to_toml(scenario.model_copy(update={"simulation": first})), "utf-8")
            paths.append(str(path))
        return compare(paths, Path(out), first.patients, replications, first.seed)
