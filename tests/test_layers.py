"""The layers import downwards only, as docs/architecture.md draws them: pathway (the clinical vocabulary and
rules) -> scenarios -> simulation -> reports (which read only the table contract) -> experiments -> Python API
-> front ends (command line, app); and no module reaches itself through others. Checked on the sources, so it
cannot regress."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top: a module imports from its own layer or those below. iimsim (the package) is the Python API.
LAYERS = (("pathway", ("iimsim.pathway",)), ("scenarios", ("iimsim.scenarios",)),
          ("simulation", ("iimsim.simulation",)), ("reports", ("iimsim.reports",)),
          ("experiments", ("iimsim.experiments",)), ("Python API", ("iimsim.api", "iimsim.arguments", "iimsim")),
          ("front ends", ("iimsim.cli", "iimsim.app")))
ANY_LAYER = ("iimsim.version",)  # what every layer may read
TABLE_CONTRACT = "iimsim.simulation.tables"  # all the reports read of the simulation
FOLDERS = {"iimsim": "iimsim", "pathway": "iimsim.pathway", "simulation": "iimsim.simulation",
           "scenarios": "iimsim.scenarios", "reports": "iimsim.reports"}


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


def test_importing_iimsim_and_its_command_line_loads_no_heavy_library():
    heavy = ["pandas", "numpy", "pyarrow", "matplotlib", "scipy", "pydantic", "transitions", "simpy"]
    code = ("import sys, iimsim, iimsim.cli; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def module_graph() -> dict[str, set[str]]:
    """Each module of the package (by its installed name) and the package's modules it imports."""
    files = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [part for part in path.relative_to(ROOT / folder).with_suffix("").parts if part != "__init__"]
            files[".".join([package, *parts])] = path
    graph = {}
    for name, path in files.items():
        named = imported_modules(path.read_text("utf-8"))
        graph[name] = {module for module in named if module in files and module != name}
    return graph


def layer_of(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes if prefix != "iimsim"):
            return rank
    return len(LAYERS) - 2 if module == "iimsim" else None


def test_every_module_has_a_layer_and_imports_only_its_own_or_those_below():
    graph = module_graph()
    assert len(graph) > 50
    unplaced = sorted(m for m in graph if m not in ANY_LAYER and layer_of(m) is None)
    assert unplaced == []
    upward_arrows = sorted(f"{m} -> {d}" for m, deps in graph.items() if m not in ANY_LAYER for d in deps
                           if d not in ANY_LAYER and layer_of(d) > layer_of(m))
    assert upward_arrows == []
    assert "iimsim.scenarios.schema -> iimsim.pathway.vocabulary" in {f"{m} -> {d}" for m, deps in graph.items()
                                                                      for d in deps}  # the check sees arrows


def test_the_pathway_never_imports_the_simulation_and_the_reports_read_only_its_table_contract():
    graph = module_graph()
    into_simulation = {m: sorted(d for d in deps if d.startswith("iimsim.simulation"))
                       for m, deps in graph.items()}
    assert {m: d for m, d in into_simulation.items() if d and m.startswith("iimsim.pathway")} == {}
    assert {m: [x for x in d if x != TABLE_CONTRACT] for m, d in into_simulation.items()
            if m.startswith("iimsim.reports") and any(x != TABLE_CONTRACT for x in d)} == {}


def test_no_module_imports_itself_through_others():
    try:
        list(graphlib.TopologicalSorter(module_graph()).static_order())
    except graphlib.CycleError as circle:
        pytest.fail(f"an import circle: {' -> '.join(circle.args[1])}")


def test_the_checks_see_a_circle_and_an_upward_arrow():
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter({"a": {"b"}, "b": {"c"}, "c": {"a"}}).static_order())
    assert layer_of("iimsim.reports.costs") > layer_of("iimsim.simulation.tables") > layer_of("iimsim.pathway.rules")
    assert layer_of("iimsim") == layer_of("iimsim.api") < layer_of("iimsim.cli")
