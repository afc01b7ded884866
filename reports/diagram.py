"""The pathway diagram drawn with Graphviz, optionally annotated with a run's counts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow.compute as pc

from iimsim.pathway.machine import EdgeNotes, StateNotes, to_dot
from iimsim.reports.export import read_table


class GraphvizMissing(RuntimeError):
    pass


def run_notes(run_dir: Path | str) -> tuple[StateNotes, EdgeNotes]:
    """Patients entering each state, and the share of exits from a state taking each transition (the folder
    checked first: `RunFolderError` naming a damaged file)."""
    from iimsim.reports.run_check import check_run

    check_run(run_dir)
    events = read_table(run_dir, "events", filter=pc.field("is_transition"),
                        columns=["replication", "patient_id", "event", "from_state", "to_state"]).to_pandas()
    patients = events[["replication", "patient_id"]].drop_duplicates()
    entering = events.drop_duplicates(["replication", "patient_id", "to_state"]).to_state.value_counts()
    state_notes = {"diagnosis": f"{len(patients):,} patients"}
    state_notes.update({state: f"{count:,} patients" for state, count in entering.items()})
    taken = events.groupby(["event", "from_state", "to_state"]).size()
    exits = events.groupby("from_state").size()
    edge_notes = {(trigger, source, dest): f"{count / exits[source]:.0%} ({count:,})"
                  for (trigger, source, dest), count in taken.items()}
    return state_notes, edge_notes


def render(dot_source: str, image_format: str) -> bytes:
    """SVG or PNG from Graphviz's `dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            "Graphviz's dot is not installed, and SVG and PNG need it: install graphviz (Debian: "
            "apt-get install graphviz; macOS: brew install graphviz), or use --format mermaid or dot")
    return subprocess.run([dot, f"-T{image_format}"], input=dot_source.encode(), capture_output=True,
                          check=True).stdout


def diagram(image_format: str, run_dir: Path | str | None = None) -> bytes:
    """The diagram in any format: json, mermaid, dot (text) or svg, png (Graphviz)."""
    from iimsim.pathway.machine import DIAGRAM_FORMATS

    notes = run_notes(run_dir) if run_dir is not None else (None, None)
    if image_format in DIAGRAM_FORMATS:
        return DIAGRAM_FORMATS[image_format](*notes).encode()
    return render(to_dot(*notes), image_format)
