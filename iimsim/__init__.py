"""iimsim: treatment-pathway simulator for the idiopathic inflammatory myopathies.

`iimsim.simulate(...)` runs a scenario and returns its tables as DataFrames; `iimsim.load_run(folder)`
reads a saved run back. See `iimsim.api`.
"""

__version__ = "0.1.0"

from iimsim.api import Run, load_run, resolve, simulate  # noqa: E402  (light: heavy imports are inside)

__all__ = ["Run", "load_run", "resolve", "simulate", "__version__"]
