"""Comparing scenarios with common random numbers: paired differences with 95% CIs.

Every scenario runs with the same seed, so replication r of each sees the same
patients and the same chance events wherever the pathways agree; the difference
of a metric is taken within each replication, then averaged with a t-interval.
That pairing removes the patient-to-patient noise the scenarios share. The runs
are read and drawn by `iimsim.reports.comparison`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from iimsim.scenarios.loader import resolve
from iimsim.scenarios.names import folder_name
from iimsim.reports.comparison import by_replication, paired_differences, unique_names, write_comparison
from iimsim.reports.export import staged_folder
from iimsim.experiments.run import execute_run
from iimsim.scenarios.schema import Scenario

# Seeds of independent runs (for contrast with common random numbers) are spread this far apart.
INDEPENDENT_SEED_STRIDE = 1_000_003


def compare(scenarios: Sequence[str | Path | Scenario], out_dir: Path | str | None = None,
            patients: int | None = None, replications: int = 5, seed: int | None = None, workers: int = 1,
            independent_seeds: bool = False, force: bool = False, command: list[str] | None = None,
            progress: bool = False) -> pd.DataFrame:
    """Run every scenario and return the paired differences against the first.

    With `out_dir`, each run (with its report) goes into out_dir/NAME and comparison.csv, comparison.html,
    figures/ and cost_effectiveness.csv are written beside them, atomically; without it the runs go to a
    temporary folder, without reports, and only the differences are returned.
    """
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    base_seed = seed if seed is not None else resolve(scenarios[0]).simulation.seed
    resolved = [resolve(scenario, patients=patients, replications=replications,
                        seed=base_seed + index * INDEPENDENT_SEED_STRIDE if independent_seeds else base_seed)
                for index, scenario in enumerate(scenarios)]
    # each run's folder (and the comparison's label for it) is named from the scenario's name, safely
    named = dict(zip(unique_names([folder_name(scenario.name) for scenario in resolved]), resolved))
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="iimsim-compare-") as folder:
            for name, scenario in named.items():
                execute_run(scenario, Path(folder) / name, workers=workers, command=command, progress=progress)
            per_replication = {name: by_replication(Path(folder) / name) for name in named}
        return paired_differences(per_replication, next(iter(named)))
    with staged_folder(out_dir, force) as staging:
        for name, scenario in named.items():
            execute_run(scenario, staging / name, workers=workers, command=command, report=True, progress=progress)
        return write_comparison(staging, named, replications, base_seed, independent_seeds)
