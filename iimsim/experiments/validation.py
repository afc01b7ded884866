"""The validation table: simulated results against published figures (their sources in docs/sources.md).

Each target (validation_targets.toml) says what was published (value, definition, population, source), how
the simulation reads it, and a tolerance. Trial targets are reproduced by simulating the trial inside the
pathway: the trial's population entering the line the trial studied, arms as scenarios run with the same seed
(the same patients), the outcome read at the trial's time point. The protocols (populations, arms, the changes
they make to the scenario) and each target's endpoint are data, in trial_protocols.toml, checked on import;
here is how a protocol becomes scenario overrides and an endpoint a measure. Values are means over
replications with a 95% t-interval.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iimsim.pathway.definition import TREATMENT_LINE_STATES
from iimsim.reports.validation_table import to_markdown
from iimsim.scenarios import load_scenario
from iimsim.scenarios.loader import deep_merge
from iimsim.scenarios.schema import DRUGS, SUBTYPES, Drug, Scenario
from iimsim.reports.summary import mean_and_interval
from iimsim.simulation.runner import collect_tables
from iimsim.reports.trial_endpoints import (  # noqa: F401  (the measures are the targets' vocabulary)
    Tables,
    at_week,
    by_week,
    cumulative_hazard_ratio,
    mean_at_week,
    mean_months_to_withdrawal,
    median_weeks_to,
    not_entering_in_a_flare,
    share_failing_first_line,
    share_reaching_drug_free_remission_by,
    share_never_in_remission,
    share_off_glucocorticoid_for_good_by,
    share_weak_among_survivors,
    share_with_a_flare,
    share_without_improvement_at_6_months,
    standardised_mortality_ratio,
    survival_at,
    survival_within,
    weeks_to_first,
)

Measure = Callable[[Tables], float]


def only(*subtypes: str) -> dict:
    """Overrides restricting the cohort to some subtypes, in equal shares."""
    share = 1.0 / len(subtypes)
    return {"cohort": {"subtype_shares": {s: (share if s in subtypes else 0.0) for s in SUBTYPES}}}


def ivig_at(line: str, share: float) -> dict:
    return {"lines": {line: {"p_ivig_severe": share, "p_ivig_non_severe": share}}}


def years(horizon: float) -> dict:
    return {"simulation": {"horizon_years": horizon}}


OPTION_TABLES = ("options", "ild_options", "rp_ild_options")


def _zeroed(line: str) -> dict[str, float]:
    """Every option the built-in scenario's `line` offers in any of its tables, and every single drug, at 0."""
    section = load_scenario("baseline").lines.model_dump()[line]
    keys = {key for table in OPTION_TABLES for key in section[table]}
    keys |= {key for table in section["subtype_options"].values() for key in table}
    return {key: 0.0 for key in sorted(keys | {d for d in DRUGS if d != "placebo"})}


def only_option(line: str, drug: str) -> dict:
    """`line` gives `drug` alone, with ILD or without, whatever the scenario's options (option weights merge, so
    the rest are zeroed)."""
    weights = {**_zeroed(line), drug: 1.0}
    return {"lines": {line: {table: weights for table in OPTION_TABLES}}}


def merged(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out = deep_merge(out, part)
    return out


def kept_on_arm(line: str, weeks: float) -> dict:
    """A trial keeps its patients on the treatment they were randomised to until its time point: no escalation
    for too little improvement before it (the clinic's 12-week and 6-month windows); rescue for worsening (a
    flare) still ends a patient's follow-up."""
    days = 2.0 * 7.0 * weeks  # (twice the time point: no clinician's clock, `failure_window_sd`, reaches it first)
    return {"lines": {line: {"minimal_improvement_by_days": days, "failure_assessment_days": days,
                             "max_days_on_line": max(days, 365.0)}}}


def first_line_for(subtype: str, option: dict[str, float]) -> dict:
    """`subtype`'s first line gives `option` (a trial arm's drugs) alone, with ILD or without.

    Option weights merge with the scenario's, so every other drug is zeroed (else the subtype's own agent
    would stay beside the arm's); the ILD table, which a patient with ILD gets before the subtype's, is set
    to it too (for a cohort of that subtype alone)."""
    weights = {**_zeroed("first_line"), **option}
    return {"lines": {"first_line": {"subtype_options": {subtype: weights}, "ild_options": weights,
                                     "rp_ild_options": weights}}}


# -- the protocols, from PROTOCOLS_FILE -------------------------------------------------------------------------

PROTOCOLS_FILE = Path(__file__).with_name("trial_protocols.toml")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Changes(_Data):
    """Scenario changes that protocols share, and why."""

    why: Annotated[str, Field(min_length=1)]
    scenario: dict[str, Any]


class Arm(_Data):
    like: str | None = None  # another arm's changes first
    line_gives: Drug | None = None  # the protocol's line gives this drug alone
    first_line_gives: dict[Drug, float] = Field(default_factory=dict)  # each subtype's first line: these alone
    ivig: bool | None = None  # offered to all at the protocol's line, or to none
    changes: list[str] = Field(default_factory=list)
    scenario: dict[str, Any] = Field(default_factory=dict)


class Protocol(_Data):
    """A trial's or a cohort's design: its population, follow-up, the line it studies, and its arms."""

    name: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]
    subtypes: list[Literal[SUBTYPES]] = Field(default_factory=list)  # none: the scenario's mix
    horizon_years: Annotated[float, Field(gt=0.0)] | None = None
    line: Literal[TREATMENT_LINE_STATES] | None = None
    keep_on_arm_until_week: Annotated[float, Field(gt=0.0)] | None = None
    changes: list[str] = Field(default_factory=list)
    scenario: dict[str, Any] = Field(default_factory=dict)
    arm: Annotated[dict[str, Arm], Field(min_length=1)]

    @model_validator(mode="after")
    def _arms_consistent(self):
        for name, arm in self.arm.items():
            if arm.like is not None and (arm.like not in self.arm or self.arm[arm.like].like is not None):
                raise ValueError(f"arm.{name}.like = {arm.like!r}: names no other arm of the protocol (one that is "
                                 f"like none): {', '.join(self.arm)}")
            if self.line is None and (arm.line_gives or arm.ivig is not None):
                raise ValueError(f"arm.{name}: line_gives and ivig need the protocol's line")
        if self.line is None and self.keep_on_arm_until_week is not None:
            raise ValueError("keep_on_arm_until_week needs the protocol's line")
        return self


class Endpoint(_Data):
    """What a target reads of its protocol's arms."""

    simulated: bool = True
    protocol: str | None = None
    arm: str | None = None
    difference: tuple[str, str] | None = None
    pooled: Literal["mean", "median"] | None = None
    entering_in_a_flare: bool = True  # false: the patients entering the line in a flare are left out
    measure: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_reading(self):
        if not self.simulated:
            return self
        readings = [name for name in ("arm", "difference", "pooled") if getattr(self, name) is not None]
        if len(readings) != 1 or self.protocol is None or self.measure is None:
            raise ValueError("give protocol, measure and one of arm, difference and pooled (or simulated = false)")
        return self


def _plain(measure: Measure) -> Callable[[], Measure]:
    return lambda: measure


def _times_to_first(line: str, week: float, column: str) -> Callable[[Tables], pd.Series]:
    return lambda t: weeks_to_first(t, line, week, column)


# The measures an endpoint may name: each makes the measure of one arm's tables from the endpoint's args.
MEASURES: dict[str, Callable[..., Measure]] = {
    "share_never_in_remission": _plain(share_never_in_remission), "at_week": at_week, "by_week": by_week,
    "mean_at_week": mean_at_week, "mean_months_to_withdrawal": _plain(mean_months_to_withdrawal),
    "share_weak_among_survivors": _plain(share_weak_among_survivors), "survival_at": survival_at,
    "standardised_mortality_ratio": _plain(standardised_mortality_ratio),
    "cumulative_hazard_ratio": cumulative_hazard_ratio, "survival_within": survival_within,
    "share_off_glucocorticoid_for_good_by": share_off_glucocorticoid_for_good_by,
    "share_reaching_drug_free_remission_by": share_reaching_drug_free_remission_by,
    "share_failing_first_line": _plain(share_failing_first_line),
    "share_without_improvement_at_6_months": _plain(share_without_improvement_at_6_months),
    "share_with_a_flare": _plain(share_with_a_flare),
}
# ... and those giving each patient's time, for a median over the arms' patients pooled (`pooled = "median"`).
TIME_MEASURES: dict[str, Callable[..., Callable[[Tables], pd.Series]]] = {"weeks_to_first": _times_to_first}


@dataclass(frozen=True)
class Protocols:
    changes: dict[str, Changes]
    protocols: dict[str, Protocol]
    endpoints: dict[str, Endpoint]

    def arms(self, name: str) -> dict[str, dict]:
        """The scenario overrides of each of protocol `name`'s arms (run on the same patients)."""
        p = self.protocols[name]
        common = [only(*p.subtypes) if p.subtypes else {}, years(p.horizon_years) if p.horizon_years else {},
                  kept_on_arm(p.line, p.keep_on_arm_until_week) if p.keep_on_arm_until_week else {},
                  *(self.changes[c].scenario for c in p.changes), p.scenario]

        def own(arm: Arm) -> list[dict]:
            return [*(own(p.arm[arm.like]) if arm.like else []), *(self.changes[c].scenario for c in arm.changes),
                    only_option(p.line, arm.line_gives) if arm.line_gives else {},
                    *(first_line_for(s, arm.first_line_gives) for s in p.subtypes if arm.first_line_gives),
                    ivig_at(p.line, 1.0 if arm.ivig else 0.0) if arm.ivig is not None else {}, arm.scenario]
        return {arm_name: merged(*common, *own(arm)) for arm_name, arm in p.arm.items()}

    def measure(self, key: str) -> Callable[[dict[str, Tables]], float]:
        """Target `key`'s value from its protocol's arms' tables."""
        e = self.endpoints[key]
        line = self.protocols[e.protocol].line
        factory = MEASURES.get(e.measure) or TIME_MEASURES[e.measure]
        args = {**({"line": line} if "line" in inspect.signature(factory).parameters else {}), **e.args}
        measure = factory(**args)
        if not e.entering_in_a_flare:
            measure = not_entering_in_a_flare(args.get("line", line), measure)
        if e.arm is not None:
            return lambda arms: measure(arms[e.arm])
        if e.difference is not None:
            a, b = e.difference
            return lambda arms: measure(arms[a]) - measure(arms[b])
        if e.pooled == "mean":  # a share over randomised groups of equal size (the same patients in each)
            return lambda arms: sum(measure(t) for t in arms.values()) / len(arms)
        return lambda arms: float(pd.concat([measure(t) for t in arms.values()]).median())


def _checked(protocols: Protocols) -> Protocols:
    """Every name a protocol or an endpoint gives is defined, and every measure's arguments fit it."""
    for name, p in protocols.protocols.items():
        unknown = [c for c in [*p.changes, *(c for arm in p.arm.values() for c in arm.changes)]
                   if c not in protocols.changes]
        if unknown:
            raise ValueError(f"protocol.{name}: unknown changes {unknown} (defined: {', '.join(protocols.changes)})")
    for key, e in protocols.endpoints.items():
        where = f"endpoint.{key}"
        if not e.simulated:
            continue
        if e.protocol not in protocols.protocols:
            raise ValueError(f"{where}.protocol = {e.protocol!r}: no such protocol")
        p = protocols.protocols[e.protocol]
        named = [arm for arm in [e.arm, *(e.difference or ())] if arm is not None]
        if any(arm not in p.arm for arm in named):
            raise ValueError(f"{where}: arms {named} are not all arms of {e.protocol} ({', '.join(p.arm)})")
        measures = TIME_MEASURES if e.pooled == "median" else MEASURES
        if e.measure not in measures:
            raise ValueError(f"{where}.measure = {e.measure!r}: not one of {', '.join(measures)}")
        factory = measures[e.measure]
        takes_line = "line" in inspect.signature(factory).parameters
        if (takes_line or not e.entering_in_a_flare) and p.line is None and "line" not in e.args:
            raise ValueError(f"{where}: its measure needs a line, and protocol {e.protocol} has none")
        try:
            inspect.signature(factory).bind(**({"line": p.line} if takes_line else {}), **e.args)
        except TypeError as error:
            raise ValueError(f"{where}.args = {e.args}: {error} (for {e.measure})") from None
    return protocols


def load_protocols(path: Path = PROTOCOLS_FILE) -> Protocols:
    """The protocols file, checked: a bad value raises a ValueError naming its place and the value."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    unknown = sorted(set(data) - {"changes", "protocol", "endpoint"})
    if unknown:
        raise ValueError(f"{path.name}: unknown tables {unknown} (expected changes, protocol and endpoint)")
    parsed = {}
    for table, model in (("changes", Changes), ("protocol", Protocol), ("endpoint", Endpoint)):
        parsed[table] = {}
        for name, value in data.get(table, {}).items():
            try:
                parsed[table][name] = model.model_validate(value)
            except ValidationError as error:
                first = error.errors()[0]
                place = ".".join(str(part) for part in (table, name, *first["loc"]))
                raise ValueError(f"{path.name}: {place}: {first['msg']} (got {first.get('input')!r})") from None
    return _checked(Protocols(parsed["changes"], parsed["protocol"], parsed["endpoint"]))


PROTOCOLS = load_protocols()
# Each protocol's arms (scenario overrides), by protocol and arm.
ARMS: dict[str, dict[str, dict]] = {name: PROTOCOLS.arms(name) for name in PROTOCOLS.protocols}


FITTED, HELD_OUT, INPUT_CHECK = "fitted", "held_out", "input_check"
ROLE_WORDS = {FITTED: "fitted", HELD_OUT: "held out", INPUT_CHECK: "input check"}


@dataclass(frozen=True)
class Target:
    key: str
    target: str
    published_value: float
    unit: str
    definition: str
    population: str
    source: str
    simulated_as: str
    arms: dict[str, dict] = field(default_factory=dict)
    measure: Callable[[dict[str, Tables]], float] | None = None
    tolerance: float | None = None
    published_range: tuple[float, float] | None = None
    note: str = ""
    # fitted: used by `iimsim calibrate`, or to set a parameter by hand; held_out: never used to set or design
    # anything, the check of the fit; input_check: reads back an input (not counted as a check)
    role: str = HELD_OUT

    @property
    def fitted(self) -> bool:
        return self.role == FITTED

    def tolerance_text(self) -> str:
        if self.published_range is not None:
            return f"within {self.published_range[0]:g}-{self.published_range[1]:g}"
        return "" if self.tolerance is None else f"+/- {self.tolerance:g}"

    def within(self, value: float) -> bool | None:
        if value != value:
            return None
        if self.published_range is not None:
            return self.published_range[0] <= value <= self.published_range[1]
        return abs(value - self.published_value) <= self.tolerance

    def miss(self, value: float) -> float:
        """How far outside the target, in tolerances (0 inside a range); for calibration."""
        if value != value:
            return 10.0
        if self.published_range is not None:
            low, high = self.published_range
            return max(low - value, value - high, 0.0) / max(high - low, 1e-9)
        return (value - self.published_value) / self.tolerance


TARGETS_FILE = Path(__file__).with_name("validation_targets.toml")


def load_targets(path: Path = TARGETS_FILE, protocols: Protocols | None = None) -> tuple[Target, ...]:
    """The published targets, in the file's order, each with the protocol's arms and the endpoint it reads."""
    protocols = protocols or PROTOCOLS
    with path.open("rb") as file:
        rows = tomllib.load(file)["target"]
    keys = [row["key"] for row in rows]
    if len(set(keys)) != len(keys) or set(keys) != set(protocols.endpoints):
        raise ValueError(f"{path.name}: its targets {sorted(keys)} are not those with an endpoint in "
                         f"{PROTOCOLS_FILE.name} {sorted(protocols.endpoints)}")
    targets = []
    for row in rows:
        endpoint = protocols.endpoints[row["key"]]
        arms, measure = ((protocols.arms(endpoint.protocol), protocols.measure(row["key"])) if endpoint.simulated
                         else ({}, None))
        if "published_range" in row:
            row = {**row, "published_range": tuple(row["published_range"])}
        targets.append(Target(**row, arms=arms, measure=measure))
    return tuple(targets)


TARGETS: tuple[Target, ...] = load_targets()


def _replications(tables: dict[str, pd.DataFrame], replications: int) -> list[Tables]:
    return [{name: frame[frame["replication"] == r] for name, frame in tables.items()} for r in range(replications)]


def simulate_targets(targets: tuple[Target, ...], scenario: str = "baseline", patients: int = 2000,
                     replications: int = 5, seed: int | None = None, workers: int = 1,
                     overrides: dict | None = None,
                     progress: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Each simulated target's value per replication; arms shared between targets are simulated once."""
    base = merged(overrides or {}, {"simulation": {"patients": patients, "replications": replications,
                                                   **({"seed": seed} if seed is not None else {})}})
    cache: dict[str, list[Tables]] = {}
    values: dict[str, list[float]] = {}
    for target in targets:
        if target.measure is None:
            continue
        per_arm = {}
        for arm, arm_overrides in target.arms.items():
            resolved: Scenario = load_scenario(scenario, merged(base, arm_overrides))
            key = resolved.model_dump_json()
            if key not in cache:
                if progress:
                    progress(f"{target.key}: simulating {arm}")
                tables = {name: t.to_pandas() for name, t in collect_tables(resolved, workers).items()}
                cache[key] = _replications(tables, replications)
            per_arm[arm] = cache[key]
        values[target.key] = [target.measure({arm: runs[r] for arm, runs in per_arm.items()})
                              for r in range(replications)]
    return values


def validate(scenario: str = "baseline", patients: int = 2000, replications: int = 5, seed: int | None = None,
             workers: int = 1, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Simulate every target's arms and compare with the published values."""
    simulated = simulate_targets(TARGETS, scenario, patients, replications, seed, workers, progress=progress)
    rows = []
    for target in TARGETS:
        mean, low, high = mean_and_interval(simulated.get(target.key, []))
        rows.append({
            "target": target.target, "published_value": target.published_value, "unit": target.unit,
            "published_definition": target.definition, "population": target.population, "source": target.source,
            "simulated_as": target.simulated_as, "simulated_mean": mean, "ci_low": low, "ci_high": high,
            "tolerance": target.tolerance_text(), "within_tolerance": target.within(mean), "note": target.note,
            "role": ROLE_WORDS[target.role],
        })
    return pd.DataFrame(rows)


def command_line(scenario: str, patients: int, replications: int, seed: int | None) -> str:
    """The `iimsim validate` command that produces this table (named in validation.md)."""
    return " ".join(["iimsim validate", scenario, "--patients", str(patients), "--replications", str(replications),
                     *(["--seed", str(seed)] if seed is not None else [])])


def run_validation(scenario: str = "baseline", patients: int = 2000, replications: int = 5, seed: int | None = None,
                   workers: int = 1, out_dir: Path | str | None = None,
                   progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """`validate`; with `out_dir`, also writes validation.csv and validation.md there (each file replaced
    atomically) and, when the folder is a run, rebuilds its report with the table."""
    load_scenario(scenario)  # a bad scenario fails here, before any simulation
    if replications < 2:
        raise ValueError(f"replications = {replications}: the 95% CI needs at least 2")
    table = validate(scenario, patients, replications, seed, workers, progress=progress)
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        markdown = to_markdown(table, command_line(scenario, patients, replications, seed))
        for name, text in (("validation.csv", table.to_csv(index=False)), ("validation.md", markdown)):
            partial = folder / f".{name}.partial"
            partial.write_text(text, "utf-8")
            partial.replace(folder / name)
        if (folder / "manifest.json").exists() and (folder / "summary.csv").exists():
            from iimsim.reports.report import build_report

            build_report(folder)
    return table
