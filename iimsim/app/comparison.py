"""Two scenarios on the same patients: paired differences with 95% intervals, for the Plan page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iimsim.api import compare
from iimsim.scenarios import Scenario


def compare_runs(scenarios: list[Scenario], *, replications: int, out: Path) -> pd.DataFrame:
    """Each scenario minus the first, replication by replication on the same patients (common random numbers):
    one row per scenario and metric with the difference and its 95% interval (the columns of comparison.csv).
    The first scenario's seed, patients and horizon apply to all (a planner edits one scenario's clinic, not
    its cohort). Writes `out` as `iimsim compare` does: comparison.csv, comparison.html, figures/ and each
    scenario's run with its report.
    """
    first = scenarios[0].simulation
    aligned = [scenario.model_copy(update={"simulation": first}) for scenario in scenarios]
    return compare(aligned, replications=replications, out=out)
