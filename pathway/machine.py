"""The runtime state machine and its exports, all built from `pathway.definition`.

One `transitions.Machine` serves the whole cohort: patients are never added to
it (`add_model` per patient is quadratic in cohort size); the engine fires
`fire(patient, trigger)` on any object with a `state` attribute.
"""

from __future__ import annotations

import json
from functools import lru_cache

from transitions import Machine

from pathway.definition import STATES, TRANSITIONS, TRIGGERS
from pathway.guards import GUARDS

INITIAL_STATE = "diagnosis"


def _condition(guard_name: str):
    guard = GUARDS[guard_name]
    return lambda event_data: guard(event_data.model)


@lru_cache(maxsize=1)
def pathway_machine() -> Machine:
    """The one machine, built once per process."""
    transitions = [
        {
            "trigger": spec.trigger,
            "source": spec.source,
            "dest": spec.dest,
            **({"conditions": [_condition(spec.guard)]} if spec.guard else {}),
        }
        for spec in TRANSITIONS
    ]
    return Machine(
        model=None,
        states=[name for name, _, _ in STATES],
        transitions=transitions,
        initial=INITIAL_STATE,
        auto_transitions=False,
        send_event=True,
    )


class Firer:
    """Fires machine events on patients; `fire(patient, "respond")` -> new state name."""

    def __init__(self) -> None:
        machine = pathway_machine()
        self._events = {trigger: machine.events[trigger] for trigger in TRIGGERS}

    def __call__(self, patient, trigger: str) -> str:
        if not self._events[trigger].trigger(patient):
            raise RuntimeError(f"no transition for {trigger!r} from {patient.state!r}")
        return patient.state


def definition_dict() -> dict:
    """States, transitions and triggers as plain data (the JSON export)."""
    return {
        "initial": INITIAL_STATE,
        "states": [
            {"name": name, "line_of_therapy": line, "description": text} for name, line, text in STATES
        ],
        "triggers": list(TRIGGERS),
        "transitions": [
            {"trigger": t.trigger, "source": t.source, "dest": t.dest, "guard": t.guard, "why": t.why}
            for t in TRANSITIONS
        ],
    }


def _edge_label(trigger: str, guard: str | None) -> str:
    return f"{trigger} [{guard}]" if guard else trigger


def to_json() -> str:
    return json.dumps(definition_dict(), indent=2)


def to_mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATE}"]
    for t in TRANSITIONS:
        lines.append(f"    {t.source} --> {t.dest}: {_edge_label(t.trigger, t.guard)}")
    lines.append("    dead --> [*]")
    return "\n".join(lines) + "\n"


_LINE_COLOURS = {None: "#eeeeee", 1: "#cfe8ff", 2: "#ffe6b3", 3: "#ffc9b3", 4: "#f5b3c7", 5: "#e0c3f5"}


def to_dot() -> str:
    lines = ["digraph pathway {", "    rankdir=LR;", '    node [shape=box, style="rounded,filled"];']
    for name, line, text in STATES:
        label = name if line is None else f"{name}\\n(line {line})"
        lines.append(f'    {name} [label="{label}", fillcolor="{_LINE_COLOURS[line]}", tooltip="{text}"];')
    for t in TRANSITIONS:
        lines.append(f'    {t.source} -> {t.dest} [label="{_edge_label(t.trigger, t.guard)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


DIAGRAM_FORMATS = {"json": to_json, "mermaid": to_mermaid, "dot": to_dot}
