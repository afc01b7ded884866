"""iimsim: treatment-pathway simulator for the idiopathic inflammatory myopathies.

`iimsim.simulate(...)` runs a scenario and returns its tables as DataFrames; `iimsim.load_run(folder)`
reads a saved run back; `iimsim.compare(...)` returns paired differences between scenarios; `psa`, `oneway`,
`validate` and `calibrate` are the sensitivity, validation and calibration experiments. See `iimsim.api`.
Importing iimsim is light: the heavy libraries load when a function first runs.
"""

from pathlib import Path as _Path

# Installed, pathway/simulation/scenarios/reports are sub-packages of iimsim (pyproject's package-dir). In a
# source checkout they sit beside this folder: look for them there too, so that a checkout (or a git worktree)
# imports its own code rather than wherever the editable install points.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "pathway" / "__init__.py").is_file():
    __path__.append(str(_checkout))

from iimsim.version import __version__  # noqa: E402
from iimsim.api import (  # noqa: E402  (light: heavy imports are inside the functions)
    ArgumentError,
    Run,
    calibrate,
    compare,
    load_run,
    oneway,
    psa,
    resolve,
    simulate,
    validate,
)

__all__ = ["ArgumentError", "Run", "calibrate", "compare", "load_run", "oneway", "psa", "resolve", "simulate",
           "validate", "__version__"]
