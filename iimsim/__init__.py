"""iimsim: treatment-pathway simulator for the idiopathic inflammatory myopathies.

`iimsim.simulate(...)` runs a scenario and returns its tables as DataFrames; `iimsim.load_run(folder)`
reads a saved run back. See `iimsim.api`.
"""

__version__ = "0.1.0"

from pathlib import Path as _Path

# Installed, pathway/simulation/scenarios/reports are sub-packages of iimsim (pyproject's package-dir). In a
# source checkout they sit beside this folder: look for them there too, so that a checkout (or a git worktree)
# imports its own code rather than wherever the editable install points.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "pathway" / "__init__.py").is_file():
    __path__.append(str(_checkout))

from iimsim.api import Run, load_run, resolve, simulate  # noqa: E402  (light: heavy imports are inside)

__all__ = ["Run", "load_run", "resolve", "simulate", "__version__"]
