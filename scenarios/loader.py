"""Load a scenario by built-in name or path, apply `extends`, validate.

A file may start from another scenario with `extends = "baseline"` (a built-in
name or a path relative to the file) and override any part of it; tables merge
key by key, other values replace. Every failure raises `ScenarioError` with one
message naming the file, the field and the value.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the schema (pydantic) loads with the first scenario, not on import: `iimsim --help` stays fast
    from iimsim.scenarios.schema import Scenario

BUILTIN_PACKAGE = "iimsim.scenarios.builtin"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is meant for the user as it is."""


def builtin_names() -> list[str]:
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_toml(text: str, label: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{label}: not valid TOML: {err}") from None


def _locate(name_or_path: str, relative_to: Path | None) -> tuple[str, str, Path | None]:
    """(text, label, folder for relative `extends`) for a built-in name or a file path."""
    if name_or_path in builtin_names():
        text = resources.files(BUILTIN_PACKAGE).joinpath(f"{name_or_path}.toml").read_text("utf-8")
        return text, f"built-in scenario {name_or_path!r}", None
    path = Path(name_or_path)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.suffix == ".toml" and path.is_file():
        return path.read_text("utf-8"), str(path), path.parent
    raise ScenarioError(
        f"unknown scenario {name_or_path!r}: not a built-in ({', '.join(builtin_names())}) "
        "nor a .toml file"
    )


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def override(path: str, value: Any) -> dict[str, Any]:
    """A nested override setting one parameter: "a.b.c" -> {"a": {"b": {"c": value}}}."""
    *parents, leaf = path.split(".")
    node: dict[str, Any] = {leaf: value}
    for part in reversed(parents):
        node = {part: node}
    return node


def resolve_scenario_dict(name_or_path: str, _relative_to: Path | None = None,
                          _seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """The scenario's data with `extends` applied, and the label of its file."""
    text, label, folder = _locate(name_or_path, _relative_to)
    data = _read_toml(text, label)
    parent = data.pop("extends", None)
    if parent is None:
        return data, label
    if not isinstance(parent, str):
        raise ScenarioError(f"{label}: extends = {parent!r}: must be a scenario name or path")
    if parent in _seen:
        raise ScenarioError(f"{label}: extends = {parent!r}: scenarios extend each other in a loop")
    base, _ = resolve_scenario_dict(parent, folder, (*_seen, name_or_path))
    return deep_merge(base, data), label


def _format_error(label: str, data: dict[str, Any], error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(scenario)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{label}: {field}: missing"
    if error["loc"]:
        return f"{label}: {field} = {error['input']!r}: {message}"
    return f"{label}: {message}"


def validate(data: dict[str, Any], label: str) -> Scenario:
    from pydantic import ValidationError

    from iimsim.scenarios.schema import Scenario

    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        first = _format_error(label, data, errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ScenarioError(first + more) from None


def load_scenario(name_or_path: str = "baseline", overrides: dict[str, Any] | None = None) -> Scenario:
    data, label = resolve_scenario_dict(name_or_path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate(data, label)


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML a user can copy, edit and run."""
    import tomli_w

    return tomli_w.dumps(scenario.model_dump(mode="json", exclude_none=True))


# Keyword overrides that name a [simulation] field by a shorter name.
SIMULATION_KEYWORDS = {"patients": "patients", "seed": "seed", "years": "horizon_years",
                       "replications": "replications"}


def resolve(scenario: str | Path | Scenario = "baseline", **overrides: Any) -> Scenario:
    """A validated scenario: a built-in name, a .toml path or a `Scenario`, with overrides applied.

    Overrides are `patients=`, `seed=`, `years=`, `replications=`, or any scenario path, dotted
    (`**{"cohort.p_ild.DM": 0.3}`) or with double underscores (`cohort__p_ild__DM=0.3`). A bad value
    raises `ScenarioError` naming the field and the value, as the command line does.
    """
    from iimsim.scenarios.schema import Scenario

    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        path = f"simulation.{SIMULATION_KEYWORDS[key]}" if key in SIMULATION_KEYWORDS else key.replace("__", ".")
        if "." not in path:
            raise ScenarioError(f"unknown override {key}={value!r}: use patients, seed, years, replications "
                                "or a dotted scenario path such as cohort.p_ild.DM")
        nested = deep_merge(nested, override(path, value))
    if isinstance(scenario, Scenario):
        data = scenario.model_dump()
        return validate(deep_merge(data, nested), scenario.name) if nested else scenario
    return load_scenario(str(scenario), nested or None)
