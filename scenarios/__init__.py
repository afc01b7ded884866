"""Scenario files: load, validate and resolve. See `scenarios.loader`."""

from iimsim.scenarios.loader import ScenarioError, builtin_names, load_scenario, resolve_scenario_dict, to_toml
from iimsim.scenarios.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "builtin_names", "load_scenario", "resolve_scenario_dict", "to_toml"]
