"""A scenario file uploaded to the app: read as data (TOML parsed, never executed) and validated as `iimsim run`
validates a file, so that a bad file gets the command line's message."""

from __future__ import annotations

from pathlib import Path

from iimsim.scenarios import Scenario, ScenarioError
from iimsim.scenarios.loader import MAX_SCENARIO_BYTES, load_scenario_text

MAX_UPLOAD_BYTES = MAX_SCENARIO_BYTES


def scenario_from_upload(file_name: str, data: bytes) -> Scenario:
    """The scenario in an uploaded file named `file_name`. A bad file raises `ScenarioError` with the message
    `iimsim run FILE` prints for a file of that name in the current folder (without its "error: " prefix).

    The file is parsed by the scenario loader, whose only reader is TOML: nothing in it is run, and nothing is
    written on the server. Its `extends` may name only a built-in scenario: no file on the server is read.
    """
    name = Path(file_name).name
    if not name.strip("."):  # "", "." or "..": no file name to keep
        name = "scenario.toml"
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: larger than a scenario file may be ({MAX_UPLOAD_BYTES:,} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{name}: not UTF-8 text") from None
    return load_scenario_text(text, name)
