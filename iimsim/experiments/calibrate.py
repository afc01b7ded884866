"""Calibration: fit the disease model's free parameters to the published targets marked `fitted`.

The parameters are scenario paths; the targets are the validation table's (experiments/validation.py),
each simulated as published (trials as trials). The objective is the sum over fitted targets of
their miss in tolerances, squared, on the same patients at every evaluation (common random
numbers make it smooth enough for Nelder-Mead, searched on the log scale so values stay positive).
The targets not fitted are the check. `write_values` puts the fitted values into a scenario file
with the calibration as their source.
"""

from __future__ import annotations

import difflib
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from iimsim.scenarios.loader import override
from iimsim.experiments.validation import TARGETS, Target, merged, simulate_targets
from iimsim.scenarios import load_scenario

PARAMETERS: tuple[str, ...] = (
    "disease.gc_max_effect",
    "disease.gc_onset_days",
    "agents.methotrexate.effect",
    "agents.ciclosporin.effect",
    "agents.ivig.effect",
    "agents.rituximab.effect",
    "assessment.activity_noise",
    "disease.fluctuation_sd",
    "assessment.measure_response_sd",
    "disease.damage_per_active_year",
    "mortality.myositis_death_rate_per_year",
    "mortality.rp_ild_death_rate_per_year",
)
# Mechanisms a scenario may switch on (off by default: no ceiling, no expectation effect); fitted only when the
# scenario sets them (a finite value above zero), from that value.
OPTIONAL_PARAMETERS: tuple[str, ...] = (
    "disease.suppression_ceiling",
    "disease.suppression_ceiling_sd",
    "assessment.expectation_percent",
    "assessment.recovery_days",
)


@dataclass
class Calibration:
    parameters: dict[str, float]
    start: dict[str, float]
    objective: float
    start_objective: float
    evaluations: int
    targets: dict[str, float]  # fitted targets' simulated values at the fit
    published: dict[str, float] = field(default_factory=dict)  # the fitted targets' published values


def _get(scenario, path: str) -> float:
    node = scenario.model_dump()
    for part in path.split("."):
        node = node[part]
    return float(node)


def parameters_for(scenario: str) -> tuple[str, ...]:
    """The free parameters to fit in `scenario`: the core ones and the optional mechanisms it switches on."""
    base = load_scenario(scenario)
    return PARAMETERS + tuple(path for path in OPTIONAL_PARAMETERS if 0.0 < _get(base, path) < math.inf)


def calibrate(scenario: str = "baseline", parameters: tuple[str, ...] = PARAMETERS, patients: int = 1000,
              replications: int = 1, seed: int = 20261123, max_evaluations: int = 120, workers: int = 1,
              progress: Callable[[str], None] | None = None,
              targets: Sequence[str] | None = None) -> Calibration:
    """Nelder-Mead on the log of each parameter, from the scenario's values, against the fitted targets (or
    those of them named in `targets`)."""
    fitted = fitted_targets(targets)
    base = load_scenario(scenario)
    start = np.log([max(_get(base, path), 1e-6) for path in parameters])
    seen: dict[tuple, tuple[float, dict[str, float]]] = {}

    def objective(x: np.ndarray) -> float:
        key = tuple(np.round(x, 6))
        if key not in seen:
            overrides = merged(*(override(path, float(value)) for path, value in zip(parameters, np.exp(x))))
            values = simulate_targets(fitted, scenario, patients, replications, seed, workers, overrides)
            means = {t.key: float(np.mean(values[t.key])) for t in fitted}
            seen[key] = (sum(_miss(t, means[t.key]) ** 2 for t in fitted), means)
            if progress:
                shown = ", ".join(f"{'.'.join(p.split('.')[-2:])}={v:.3g}" for p, v in zip(parameters, np.exp(x)))
                progress(f"evaluation {len(seen)}: objective {seen[key][0]:.3f} ({shown})")
        return seen[key][0]

    start_objective = objective(start)
    minimize(objective, start, method="Nelder-Mead",
             options={"maxfev": max_evaluations, "xatol": 0.01, "fatol": 0.01,
                      "initial_simplex": np.vstack([start, start + 0.3 * np.eye(len(start))])})
    best = min(seen, key=lambda k: seen[k][0])
    return Calibration({p: float(v) for p, v in zip(parameters, np.exp(best))},
                       {p: float(v) for p, v in zip(parameters, np.exp(start))},
                       seen[best][0], start_objective, len(seen), seen[best][1],
                       {t.key: t.published_value for t in fitted})


def fitted_targets(keys: Sequence[str] | None = None) -> tuple[Target, ...]:
    """The targets marked fitted, or those named: a held-out or unknown key is an error naming it."""
    fitted = tuple(t for t in TARGETS if t.fitted)
    if not keys:
        return fitted
    by_key = {t.key: t for t in TARGETS}
    for key in keys:
        if key not in by_key:
            near = difflib.get_close_matches(key, list(by_key), n=1)
            raise ValueError(f"targets: {key!r} is no validation target" + (f" (did you mean {near[0]!r}?)" if near else ""))
        if not by_key[key].fitted:
            raise ValueError(f"targets: {key!r} is {by_key[key].role.replace('_', ' ')}, not fitted: fitting to it "
                             "would leave it no check")
    return tuple(t for t in fitted if t.key in keys)


def _miss(target: Target, value: float) -> float:
    return target.miss(value) if not math.isnan(value) else 10.0


def toml_string_lines(key: str, value: str, width: int = 110) -> list[str]:
    """`key = "value"` as TOML, on one line if it fits in `width`, else as a multi-line string wrapped at spaces
    (each line-ending backslash joins the next line with no newline, so the value is unchanged)."""
    escaped = value.replace("\\", "\\\\")
    line = f'{key} = "{escaped.replace(chr(34), chr(92) + chr(34))}"'
    if len(line) <= width:
        return [line]
    parts = textwrap.wrap(escaped.replace('"""', '""\\"'), width=width - 2, break_long_words=False,
                          break_on_hyphens=False)
    return [f'{key} = """', *(part + " \\" for part in parts[:-1]), parts[-1] + '"""']


def _section_span(text: str, section: str) -> tuple[int, int] | None:
    """Where the body of `[section]` lies in `text`: from after its header to the next header."""
    header = re.search(rf"^\[{re.escape(section)}\]\s*$", text, flags=re.MULTILINE)
    if header is None:
        return None
    end = re.search(r"^\[", text[header.end():], flags=re.MULTILINE)
    return header.end(), header.end() + (end.start() if end else len(text) - header.end())


def _entry(key: str) -> str:
    """A key's line, or its multi-line string up to the closing quotes."""
    return rf'^{re.escape(key)} = (""".*?"""|.*?)$\n?'


def write_values(path: Path, values: dict[str, float], command: str) -> None:
    """Put fitted values into a scenario file, keeping its layout, with the calibration as their source (in the
    section's `[SECTION.sources]` table, one source per key)."""
    text = path.read_text("utf-8")
    source = f"calibrated: {command} (fits the validation targets marked fitted, docs/validation.md)"
    for dotted, value in values.items():
        section, key = dotted.rsplit(".", 1)
        span = _section_span(text, section)
        if span is None:
            raise ValueError(f"{path}: no [{section}] section for {dotted}")
        block, count = re.subn(rf"^{re.escape(key)} = .*$", f"{key} = {value:.4g}", text[span[0]:span[1]],
                               count=1, flags=re.MULTILINE)
        if count != 1:
            raise ValueError(f"{path}: [{section}] has no line for {key}")
        text = text[:span[0]] + block + text[span[1]:]
        entry = "\n".join(toml_string_lines(key, source)) + "\n"
        sources = _section_span(text, f"{section}.sources")
        if sources is None:
            span = _section_span(text, section)
            body = text[span[0]:span[1]].rstrip("\n")
            text = text[:span[0]] + body + f"\n\n[{section}.sources]\n{entry}\n" + text[span[1]:]
            continue
        block = text[sources[0]:sources[1]]
        block, count = re.subn(_entry(key), lambda _: entry, block, count=1, flags=re.MULTILINE | re.DOTALL)
        if count != 1:
            body = block.rstrip("\n")
            block = body + "\n" + entry + block[len(body) + 1:]
        text = text[:sources[0]] + block + text[sources[1]:]
    path.write_text(text, "utf-8")


def run_calibration(scenario: str = "baseline", parameters: Sequence[str] | None = None, patients: int = 1000,
                    replications: int = 1, seed: int = 20261123, max_evaluations: int = 120, workers: int = 1,
                    write_to: Path | str | None = None,
                    progress: Callable[[str], None] | None = None,
                    targets: Sequence[str] | None = None) -> Calibration:
    """`calibrate` the scenario's free parameters (`parameters_for` unless named), telling `progress` which
    parameters and targets it fits; with `write_to`, puts the fitted values into that scenario file (with the
    calibration as their source) and checks it still loads."""
    base = load_scenario(scenario)  # a bad scenario fails here, before any simulation
    named = tuple(parameters) if parameters else ()
    parameters = named or parameters_for(scenario)
    fitted = fitted_targets(targets)
    for path in parameters:
        try:
            _get(base, path)
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"parameters: {path!r} names no numeric scenario parameter") from None
    if progress:
        progress("parameters: " + ", ".join(parameters))
        progress("targets: " + ", ".join(t.key for t in fitted))
    result = calibrate(scenario, parameters, patients, replications, seed, max_evaluations, workers, progress,
                       targets)
    if write_to is not None:
        command = (f"iimsim calibrate {scenario}" + (f" --parameters {','.join(named)}" if named else "")
                   + (f" --targets {','.join(targets)}" if targets else "")
                   + f" --patients {patients} --max-evaluations {max_evaluations} --seed {seed}")
        write_values(Path(write_to), result.parameters, command)
        load_scenario(str(write_to))  # still a valid scenario
    return result
