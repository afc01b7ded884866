"""Scenario files: load, validate and resolve. See `scenarios.loader`."""

from iimsim.scenarios.loader import ScenarioError, builtin_names, load_scenario, resolve_scenario_dict, to_toml

__all__ = ["Scenario", "ScenarioError", "builtin_names", "load_scenario", "resolve_scenario_dict", "to_toml"]


def __getattr__(name: str):
    """`Scenario` (the pydantic schema) is imported when first asked for, so that importing this package is light."""
    if name == "Scenario":
        from iimsim.scenarios.schema import Scenario

        return Scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
