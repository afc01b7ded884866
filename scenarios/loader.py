"""Load a scenario by built-in name or path, apply `extends`, validate.

A file may start from another scenario with `extends = "baseline"` and override any part of it; tables merge key
by key, other values replace. What a scenario may extend (so that a file from someone else reads nothing else):
a file on disk, a built-in scenario or a .toml file in its own folder or below (a relative path is relative to
the file; symbolic links are followed before the check); a scenario given as text (an upload), only built-in
scenarios. Files are at most `MAX_SCENARIO_BYTES`, values nest at most `MAX_NESTING_DEPTH` deep and a chain of
`extends` is at most `MAX_EXTENDS` long. Every failure raises `ScenarioError` with one message naming the file,
the field and the value (shortened).
"""

from __future__ import annotations

import reprlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the schema (pydantic) loads with the first scenario, not on import: `iimsim --help` stays fast
    from iimsim.scenarios.schema import Scenario

BUILTIN_PACKAGE = "iimsim.scenarios.builtin"
MAX_SCENARIO_BYTES = 1_000_000  # the built-in baseline is about 60 kB
MAX_NESTING_DEPTH = 12  # tables and arrays within each other; the built-ins nest 5 deep
MAX_EXTENDS = 8  # files in one chain of `extends`; the built-ins chain at most 3


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is meant for the user as it is."""


def builtin_names() -> list[str]:
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


# Values quoted in messages are shortened: a message is one line, whatever a file holds.
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
_SHORT.maxlevel = 2


def shown(value: Any) -> str:
    """`repr(value)`, shortened to fit a one-line message."""
    return _SHORT.repr(value)


MAX_MESSAGE_CHARACTERS = 600


def one_line(message: str, limit: int | None = MAX_MESSAGE_CHARACTERS) -> str:
    """A message as one line of printable text (what a file or a path holds is escaped), at most `limit`
    characters long (None: any length)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


def _field(part: Any) -> str:
    """One part of a field's path: a plain key as it is, any other quoted."""
    text = str(part)
    return text if text and len(text) <= 80 and all(c.isalnum() or c in "_+-" for c in text) else shown(text)


def too_deep(node: Any) -> str | None:
    """The path of the first value nested deeper than MAX_NESTING_DEPTH, or None (iterative: any depth is safe)."""
    stack = [(node, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            children = ((f"{path}.{key}" if path else str(key), child) for key, child in value.items())
        elif isinstance(value, list):
            children = ((f"{path}[{index}]", child) for index, child in enumerate(value))
        else:
            continue
        if depth >= MAX_NESTING_DEPTH:
            return path
        stack.extend((child, child_path, depth + 1) for child_path, child in children)
    return None


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """A scenario file's text as data, within the size and nesting bounds."""
    import tomllib

    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{label}: larger than a scenario file may be ({MAX_SCENARIO_BYTES:,} bytes)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{label}: not valid TOML: {err}") from None
    except RecursionError:
        raise ScenarioError(f"{label}: values nested deeper than {MAX_NESTING_DEPTH} levels") from None
    deep = too_deep(data)
    if deep is not None:
        raise ScenarioError(f"{label}: {deep}: values nested deeper than {MAX_NESTING_DEPTH} levels")
    return data


def _read_file(path: Path, label: str) -> str:
    """A scenario file's text: a regular file of at most MAX_SCENARIO_BYTES, UTF-8."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SCENARIO_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"{label}: cannot be read ({err.strerror or type(err).__name__})") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{label}: larger than a scenario file may be ({MAX_SCENARIO_BYTES:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{label}: not UTF-8 text") from None


def _unknown(name_or_path: str, path: Path) -> str:
    """Why `name_or_path` names no scenario; `path` is where it would be as a file. A .toml name that is no file
    is a file not found; another name is no built-in, with the nearest built-in suggested."""
    import difflib

    builtins = builtin_names()
    if path.suffix == ".toml":
        if path.exists():
            return f"{path}: not a file"
        builtin = f" (the built-in scenario is named {path.stem!r}, without .toml)" if path.stem in builtins else ""
        return f"file not found: {path}{builtin}"
    typed = name_or_path.lower()
    nearest = ([name for name in builtins if typed and name.startswith(typed)]
               or difflib.get_close_matches(typed, builtins, n=1))
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    return (f"unknown scenario {shown(name_or_path)}: not a built-in ({', '.join(builtins)}) "
            f"nor a .toml file{hint}")


def _builtin_text(name: str) -> str:
    return resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def _file(path: Path) -> Path | None:
    """`path` resolved (symbolic links followed), if it names a regular .toml file."""
    return path.resolve() if path.suffix == ".toml" and path.is_file() else None


def _layers(data: dict[str, Any], label: str, key: str, folder: Path | None, allowed: Path | None,
            uploaded: bool) -> list[dict[str, Any]]:
    """The scenario and what it extends, nearest first. `key` names the first file for spotting loops (its
    resolved path, or the built-in's name); `folder`: where a relative `extends` starts (None for a built-in);
    `allowed`: the folder every extended file must lie in (None: built-ins only)."""
    layers: list[dict[str, Any]] = []
    seen = {key}
    while True:
        parent = data.pop("extends", None)
        layers.append(data)
        if parent is None:
            return layers
        where = f"{label}: extends = {shown(parent)}"
        if not isinstance(parent, str):
            raise ScenarioError(f"{where}: must be a scenario name or path")
        if len(layers) >= MAX_EXTENDS:
            raise ScenarioError(f"{where}: more than {MAX_EXTENDS} scenarios extend one another")
        if parent in builtin_names():
            label, key, folder, text = f"built-in scenario {parent!r}", parent, None, _builtin_text(parent)
        else:
            if allowed is None or folder is None:
                who = "an uploaded scenario" if uploaded else "a built-in scenario"
                raise ScenarioError(f"{where}: {who} may extend only a built-in scenario "
                                    f"({', '.join(builtin_names())})")
            path = _file(folder / parent)
            if path is None:
                raise ScenarioError(f"{where}: {_unknown(parent, folder / parent)}")
            if not path.is_relative_to(allowed):
                raise ScenarioError(f"{where}: outside the scenario's folder; a scenario may extend a built-in "
                                    "scenario or a .toml file in its own folder or below")
            label = key = str(path)
            folder, text = path.parent, _read_file(path, label)
        if key in seen:
            raise ScenarioError(f"{where}: scenarios extend each other in a loop")
        seen.add(key)
        data = parse_toml(text, label)


def _merged(layers: list[dict[str, Any]]) -> dict[str, Any]:
    merged = layers[-1]
    for layer in reversed(layers[:-1]):
        merged = deep_merge(merged, layer)
    return merged


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


def resolve_scenario_dict(name_or_path: str) -> tuple[dict[str, Any], str]:
    """The scenario's data with `extends` applied, and the label of its file."""
    if name_or_path in builtin_names():
        label = f"built-in scenario {name_or_path!r}"
        data = parse_toml(_builtin_text(name_or_path), label)
        return _merged(_layers(data, label, name_or_path, None, None, False)), label
    path = _file(Path(name_or_path))
    if path is None:
        raise ScenarioError(_unknown(name_or_path, Path(name_or_path)))
    label = str(name_or_path)
    data = parse_toml(_read_file(path, label), label)
    return _merged(_layers(data, label, str(path), path.parent, path.parent, False)), label


def resolve_scenario_text(text: str, label: str) -> tuple[dict[str, Any], str]:
    """The data of a scenario given as text (an uploaded file), with `extends` applied: built-ins only."""
    return _merged(_layers(parse_toml(text, label), label, label, None, None, True)), label


def _format_error(label: str, data: dict[str, Any], error: dict[str, Any]) -> str:
    field = ".".join(_field(part) for part in error["loc"]) or "(scenario)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{label}: {field}: missing"
    if error["loc"] and isinstance(error["input"], dict) and error["type"] == "value_error":
        return f"{label}: {field}: {message}"  # a section's own check: its message names the values
    if error["loc"]:
        return f"{label}: {field} = {shown(error['input'])}: {message}"
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
        raise ScenarioError(one_line(first + more)) from None


def load_scenario(name_or_path: str = "baseline", overrides: dict[str, Any] | None = None) -> Scenario:
    data, label = resolve_scenario_dict(name_or_path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate(data, label)


def load_scenario_text(text: str, label: str) -> Scenario:
    """A scenario given as text (an uploaded file, named `label` in messages); it may extend only built-ins."""
    return validate(*resolve_scenario_text(text, label))


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML a user can copy, edit and run."""
    import tomli_w

    return tomli_w.dumps(scenario.model_dump(mode="json", exclude_none=True))


# Keyword overrides that name a [simulation] field by a shorter name.
SIMULATION_KEYWORDS = {"patients": "patients", "seed": "seed", "years": "horizon_years",
                       "replications": "replications"}


class PatientsNotForRegion(ScenarioError):
    """A number of patients given for a scenario with a [region], whose patients are those its region diagnoses:
    refused rather than ignored. `naming(option)` is the message with the option as the caller spells it."""

    def __init__(self, label: str, option: str, value: Any, region: dict[str, Any]):
        self.label, self.value, self.region = label, value, region
        super().__init__(self.naming(option))

    def naming(self, option: str) -> str:
        region = self.region
        return one_line(
            f"{self.label}: {option} = {shown(self.value)} does not apply: a [region] scenario simulates the "
            f"patients its region diagnoses (region.population = {shown(region.get('population'))} at "
            f"region.incidence_per_100k_person_years = {shown(region.get('incidence_per_100k_person_years'))}, "
            f"plus region.prevalent_patients = {shown(region.get('prevalent_patients', 0))}); to change its "
            "size, change region.population in a .toml file that extends it")


def resolve(scenario: str | Path | Scenario = "baseline", **overrides: Any) -> Scenario:
    """A validated scenario: a built-in name, a .toml path or a `Scenario`, with overrides applied.

    Overrides are `patients=`, `seed=`, `years=`, `replications=`, or any scenario path, dotted
    (`**{"cohort.p_ild.DM": 0.3}`) or with double underscores (`cohort__p_ild__DM=0.3`). A bad value
    raises `ScenarioError` naming the field and the value, as the command line does.
    """
    from iimsim.scenarios.schema import Scenario

    nested: dict[str, Any] = {}
    patients_key = None  # the override that sets the patients simulated, as the caller spelled it
    for key, value in overrides.items():
        if value is None:
            continue
        path = f"simulation.{SIMULATION_KEYWORDS[key]}" if key in SIMULATION_KEYWORDS else key.replace("__", ".")
        if "." not in path:
            raise ScenarioError(f"unknown override {key}={shown(value)}: use patients, seed, years, replications "
                                "or a dotted scenario path such as cohort.p_ild.DM")
        if path == "simulation.patients":
            patients_key = key
        nested = deep_merge(nested, override(path, value))
    deep = too_deep(nested)
    if deep is not None:
        raise ScenarioError(f"overrides: {deep}: values nested deeper than {MAX_NESTING_DEPTH} levels")
    if isinstance(scenario, Scenario):
        data, label = scenario.model_dump(), scenario.name
    else:
        data, label = resolve_scenario_dict(str(scenario))
    if patients_key is not None and isinstance(data.get("region"), dict):
        raise PatientsNotForRegion(label, patients_key, overrides[patients_key], data["region"])
    if isinstance(scenario, Scenario) and not nested:
        return scenario
    return validate(deep_merge(data, nested), label)
