"""Guard predicates named in `pathway.definition.TRANSITIONS`.

Each takes the patient model and reads only facts the engine keeps on it
(`severe`, `subtype`, `remission_line`, `switch_agent`), so the pathway holds the
clinical rule and the engine holds time and chance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iimsim.pathway.rules import escalation_allowed, pulse_indicated

Guard = Callable[[Any], bool]


def _remission_on(line: int) -> Guard:
    return lambda patient: patient.remission_line == line


GUARDS: dict[str, Guard] = {
    # Severe, and not IBM: inclusion body myositis has a trial of prednisone with methotrexate, no pulse.
    "pulse_indicated": lambda patient: patient.severe and pulse_indicated(patient.subtype),
    # IBM: a trial of prednisone with methotrexate, no escalation beyond it (Praxis, BMJ Best Practice).
    "no_escalation": lambda patient: not escalation_allowed(patient.subtype),
    # The engine sets `switch_agent` to the next agent within the line, or None.
    "can_switch_agent": lambda patient: patient.switch_agent is not None,
    **{f"remission_on_line_{line}": _remission_on(line) for line in range(1, 6)},
}
