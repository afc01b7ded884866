"""The Python API's arguments, checked at the door: a bad one raises `ArgumentError` naming it and its value,
before any work (the scenario's own values are checked by its schema, with `ScenarioError`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iimsim.scenarios.loader import ScenarioError, shown

MAX_WORKERS = 256
MAX_DRAWS = 10_000  # parameter draws of a PSA: each simulates every scenario
MAX_EVALUATIONS = 10_000  # simulations a calibration may run
MAX_CHUNK_PATIENTS = 5_000_000  # patients per batch (the scenario's bound on a run)
BACKENDS = ("processes", "dask")


class ArgumentError(ScenarioError, TypeError):
    """A bad argument to an API function: the message names the argument and its value. A `ValueError` (a
    `ScenarioError`, as a bad override is) and a `TypeError` (for a value of the wrong type)."""


def _refuse(name: str, value: Any, expected: str) -> ArgumentError:
    return ArgumentError(f"{name} = {shown(value)}: {expected}")


def integer(name: str, value: Any, low: int, high: int, optional: bool = False) -> int | None:
    """An int (not a bool) in [low, high], or None if `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(name, value, f"must be a whole number from {low:,} to {high:,}"
                      + (", or None" if optional else ""))
    return value


def flag(name: str, value: Any, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise _refuse(name, value, "must be True or False" + (", or None" if optional else ""))
    return value


def choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _refuse(name, value, f"must be one of {', '.join(map(repr, choices))}")
    return value


def text(name: str, value: Any, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _refuse(name, value, "must be a non-empty string" + (", or None" if optional else ""))
    return value


def folder(name: str, value: Any, optional: bool = True) -> Path | None:
    """A path (str or os.PathLike), or None if `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return Path(value)
    raise _refuse(name, value, "must be a path (a str or pathlib.Path)" + (", or None" if optional else ""))


def texts(name: str, value: Any, optional: bool = True) -> list[str] | None:
    """A sequence of strings (not one string), or None if `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) \
            or not all(isinstance(item, str) for item in value):
        raise _refuse(name, value, "must be a list of strings" + (", or None" if optional else ""))
    return list(value)


def callback(name: str, value: Any, flags_too: bool = True) -> Any:
    """A callable, or (if `flags_too`) a bool or None."""
    if callable(value) or value is None or (flags_too and isinstance(value, bool)):
        return value
    raise _refuse(name, value, "must be a function" + (", True, False or None" if flags_too else " or None"))


def mapping(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise _refuse(name, value, "must be a mapping of scenario paths to values, or None")
    return value


def scenarios(name: str, value: Any, at_least: int) -> list[Any]:
    """A sequence of scenarios (names, paths or `Scenario`s), at least `at_least` of them."""
    from iimsim.scenarios.schema import Scenario

    count = {1: "one", 2: "two"}.get(at_least, str(at_least))
    if isinstance(value, (str, os.PathLike, Scenario)) or not isinstance(value, Sequence):
        raise _refuse(name, value, f"must be a list of {count} or more scenarios (names, paths or Scenario)")
    for item in value:
        scenario(name, item)
    if len(value) < at_least:
        raise _refuse(name, value, f"must name at least {count} scenario{'s' * (at_least > 1)}")
    return list(value)


def scenario(name: str, value: Any, objects: bool = True) -> Any:
    """A built-in name or a .toml path, or (if `objects`) a `Scenario`."""
    from iimsim.scenarios.schema import Scenario

    if isinstance(value, (str, os.PathLike)) or (objects and isinstance(value, Scenario)):
        return value
    raise _refuse(name, value, "must be a scenario: a built-in name, a .toml path" + (" or a Scenario" if objects
                                                                                     else ""))

