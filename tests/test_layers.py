"""The layers import downwards only: scenarios -> pathway/simulation -> tables -> reports, with the experiments
and the front ends (command line, app, Python API) on top. Checked on the sources, so it cannot regress."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOWER_LAYERS = ("reports", "simulation", "pathway", "scenarios")
UPPER_MODULES = ("iimsim.run", "iimsim.api", "iimsim.experiments", "iimsim.cli", "iimsim.app")


def imported_modules(source: str) -> set[str]:
    """Every module an `import` or `from ... import` names, anywhere in the file (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def upward(modules: set[str]) -> set[str]:
    """The upper layers' modules among `modules` (or that `modules` reach into)."""
    return {up for up in UPPER_MODULES for m in modules if m == up or m.startswith(up + ".")}


def test_the_check_sees_an_upward_import_wherever_it_is():
    source = "import os\ndef f():\n    from iimsim.run import execute_run\n    from iimsim import api\n"
    assert upward(imported_modules(source)) == {"iimsim.run", "iimsim.api"}
    assert upward(imported_modules("from iimsim.reports.export import read_table\nimport iimsim\n")) == set()


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_never_import_the_experiments_or_the_front_ends(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    offending = {str(path.relative_to(ROOT)): sorted(upward(imported_modules(path.read_text("utf-8"))))
                 for path in files}
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_experiments_never_import_the_front_ends():
    """compare, sensitivity, validation and calibration sit under the API, the command line and the app."""
    front_ends = ("iimsim.api", "iimsim.cli", "iimsim.app")
    files = sorted((ROOT / "iimsim" / "experiments").rglob("*.py"))
    assert files
    offending = {str(path.relative_to(ROOT)): sorted(up for up in upward(imported_modules(path.read_text("utf-8")))
                                                     if up in front_ends) for path in files}
    assert {path: names for path, names in offending.items() if names} == {}


def test_importing_iimsim_and_its_command_line_loads_no_heavy_library():
    heavy = ["pandas", "numpy", "pyarrow", "matplotlib", "scipy", "pydantic", "transitions", "simpy"]
    code = ("import sys, iimsim, iimsim.cli; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
