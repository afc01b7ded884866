"""Scenario files: load, validate and resolve. See `scenarios.loader`."""

from scenarios.loader import ScenarioError, builtin_names, load_scenario, resolve_scenario_dict, to_toml
from scenarios.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "builtin_names", "load_scenario", "resolve_scenario_dict", "to_toml"]
