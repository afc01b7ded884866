"""The runtime state machine and its exports, all built from `pathway.definition`.

One `transitions.Machine` serves the whole cohort: patients are never added to
it (`add_model` per patient is quadratic in cohort size); the engine fires
`fire(patient, trigger)` on any object with a `state` attribute.

The pathway's transitions carry guards but no callbacks (what a state starts is
simulation/treatment_plan.py's job), and it never queues events, so the machine
uses transitions' own extension points, its event and transition classes, for
a direct path: find the transitions from the patient's state, check the guards,
set the state. That path skips the library's callback and logging machinery
(eight logging calls and a dozen empty callback lists per trigger), a third of
the cost of firing; `pathway_machine` refuses a definition with callbacks.
"""

from __future__ import annotations

import json
from functools import lru_cache

from transitions import Event, Machine, Transition
from transitions.core import EventData

from iimsim.pathway.definition import LINE_OF_STATE, STATE_NAMES, STATES, TRANSITIONS, TRIGGERS, TransitionSpec
from iimsim.pathway.guards import GUARDS

INITIAL_STATE = "diagnosis"


def _condition(guard_name: str):
    guard = GUARDS[guard_name]
    return lambda event_data: guard(event_data.model)


class DirectTransition(Transition):
    """A transition with guards and no callbacks: check the guards, then set the state."""

    def execute(self, event_data) -> bool:
        for condition in self.conditions:
            if not condition.check(event_data):
                return False
        setattr(event_data.model, event_data.machine.model_attribute, self.dest)
        return True


class DirectEvent(Event):
    """An event fired at once (never queued), its first transition whose guards pass taken."""

    def trigger(self, model, *args, **kwargs) -> bool:
        machine = self.machine
        state = machine.get_model_state(model)
        self._is_valid_source(state)  # raises MachineError for a trigger with no transition from here
        event_data = EventData(state, self, machine, model, args, kwargs)
        for transition in self.transitions[state.name]:
            event_data.transition = transition
            if transition.execute(event_data):
                return True
        return False


class PathwayMachine(Machine):
    event_cls = DirectEvent
    transition_cls = DirectTransition


def _refuse_callbacks(machine: Machine) -> Machine:
    """The direct path runs no callbacks: a definition that adds some must not be silently ignored."""
    hooks = [machine.before_state_change, machine.after_state_change, machine.prepare_event,
             machine.finalize_event, machine.on_exception, machine.on_final]
    hooks += [hook for state in machine.states.values() for hook in (state.on_enter, state.on_exit)]
    hooks += [hook for event in machine.events.values() for transitions in event.transitions.values()
              for t in transitions for hook in (t.prepare, t.before, t.after)]
    if any(hooks):
        raise TypeError("the pathway machine fires transitions directly and runs no callbacks; "
                        "put what a transition does in simulation/treatment_plan.py")
    return machine


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
    return _refuse_callbacks(PathwayMachine(
        model=None,
        states=[name for name, _, _ in STATES],
        transitions=transitions,
        initial=INITIAL_STATE,
        auto_transitions=False,
        send_event=True,
    ))


class Firer:
    """Fires machine events on patients; `fire(patient, "respond")` -> new state name."""

    def __init__(self) -> None:
        machine = pathway_machine()
        self._events = {trigger: machine.events[trigger] for trigger in TRIGGERS}

    def __call__(self, patient, trigger: str) -> str:
        if not self._events[trigger].trigger(patient):
            raise RuntimeError(f"no transition for {trigger!r} from {patient.state!r}")
        return patient.state


DESCRIPTIONS: dict[str, str] = {name: text for name, _, text in STATES}
StateNotes = dict[str, str]
EdgeNotes = dict[tuple[str, str, str], str]


def definition_dict(state_notes: StateNotes | None = None, edge_notes: EdgeNotes | None = None) -> dict:
    """States, transitions and triggers as plain data (the JSON export), with optional notes (run counts)."""
    state_notes, edge_notes = state_notes or {}, edge_notes or {}
    return {
        "initial": INITIAL_STATE,
        "states": [
            {"name": name, "line_of_therapy": line, "description": text,
             **({"note": state_notes[name]} if name in state_notes else {})} for name, line, text in STATES
        ],
        "triggers": list(TRIGGERS),
        "transitions": [
            {"trigger": t.trigger, "source": t.source, "dest": t.dest, "guard": t.guard, "why": t.why,
             **({"note": edge_notes[_key(t)]} if _key(t) in edge_notes else {})}
            for t in TRANSITIONS
        ],
    }


def _key(t) -> tuple[str, str, str]:
    return (t.trigger, t.source, t.dest)


def _edge_label(t, edge_notes: EdgeNotes, newline: str) -> str:
    label = f"{t.trigger} [{t.guard}]" if t.guard else t.trigger
    note = edge_notes.get(_key(t))
    return f"{label}{newline}{note}" if note else label


def _shown(edge_notes: EdgeNotes | None):
    """Every transition, or with run notes only those some patient took."""
    return [t for t in TRANSITIONS if edge_notes is None or _key(t) in edge_notes]


def to_json(state_notes: StateNotes | None = None, edge_notes: EdgeNotes | None = None) -> str:
    return json.dumps(definition_dict(state_notes, edge_notes), indent=2)


def to_mermaid(state_notes: StateNotes | None = None, edge_notes: EdgeNotes | None = None) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATE}"]
    for name, note in (state_notes or {}).items():
        lines.append(f"    {name}: {name} ({note})")
    for t in _shown(edge_notes):
        lines.append(f"    {t.source} --> {t.dest}: {_edge_label(t, edge_notes or {}, ' ')}")
    lines.append("    dead --> [*]")
    return "\n".join(lines) + "\n"


LINE_COLOURS = {None: "#eeeeee", 1: "#cfe8ff", 2: "#ffe6b3", 3: "#ffc9b3", 4: "#f5b3c7", 5: "#e0c3f5"}


HIGHLIGHT = 'color="#d62728", penwidth=4'


def to_dot(state_notes: StateNotes | None = None, edge_notes: EdgeNotes | None = None,
           highlight: str | None = None) -> str:
    """Graphviz source; states coloured and grouped by line of therapy; `highlight` outlines one state in red
    (a patient's current state)."""
    state_notes = state_notes or {}
    if highlight is not None and highlight not in STATE_NAMES:
        raise ValueError(f"no state {highlight!r} to highlight")
    lines = ["digraph pathway {", "    rankdir=LR;", '    node [shape=box, style="rounded,filled", fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=9];']
    for name, _, _ in STATES:
        lines.append(_node(name, state_notes.get(name), name == highlight))
    for t in _shown(edge_notes):
        lines.append(f'    {t.source} -> {t.dest} [label="{_edge_label(t, edge_notes or {}, chr(92) + "n")}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(name: str, note: str | None, outlined: bool) -> str:
    """One state as a Graphviz node: its name and line of therapy (and `note`), coloured by line."""
    line, text = LINE_OF_STATE[name], DESCRIPTIONS[name]
    label = name if line is None else f"{name}\\n(line {line})"
    if note:
        label += f"\\n{note}"
    outline = f", {HIGHLIGHT}" if outlined else ""
    return f'    {name} [label="{label}", fillcolor="{LINE_COLOURS[line]}", tooltip="{text}"{outline}];'


def next_states_dot(state: str, moves: list[TransitionSpec], note: str | None = None) -> str:
    """Graphviz source of where a patient is and where it may go next: `state` outlined in red (with `note`),
    and one arrow to each destination of `moves` (transitions from `state`) labelled with every trigger that
    leads there and why, in type large enough to read at a page's width (the whole machine is not)."""
    if state not in STATE_NAMES:
        raise ValueError(f"no state {state!r}")
    wrong = [t for t in moves if t.source != state]
    if wrong:
        raise ValueError(f"{wrong[0].trigger} leads from {wrong[0].source!r}, not from {state!r}")
    lines = ["digraph next_states {", "    rankdir=LR; nodesep=0.25; ranksep=1.2;",
             '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=16, margin="0.2,0.1"];',
             '    edge [fontname="Helvetica", fontsize=13];', _node(state, note, True)]
    reasons: dict[str, list[str]] = {}
    for t in moves:
        reasons.setdefault(t.dest, []).append(f"{t.trigger}: {t.why}" if t.why else t.trigger)
    for dest, why in reasons.items():
        label = "\\l".join(why) + "\\l"  # one reason a line, left-aligned
        if dest == state:  # a box of its own rather than a loop, whose label Graphviz lays over the others
            lines.append(f'    stays [label="stays on {state}", fillcolor="{LINE_COLOURS[LINE_OF_STATE[state]]}", '
                         'style="rounded,filled,dashed"];')
            lines.append(f'    {state} -> stays [label="{label}", style=dashed];')
        else:
            lines.append(_node(dest, None, False))
            lines.append(f'    {state} -> {dest} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


DIAGRAM_FORMATS = {"json": to_json, "mermaid": to_mermaid, "dot": to_dot}
