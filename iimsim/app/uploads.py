"""A scenario file uploaded to the app: read as data (TOML parsed, never executed) and validated as `iimsim run`
validates a file, so that a bad file gets the command line's message."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import iimsim
from iimsim.scenarios import Scenario, ScenarioError

MAX_UPLOAD_BYTES = 1_000_000  # a scenario is a few tens of kilobytes


def scenario_from_upload(file_name: str, data: bytes) -> Scenario:
    """The scenario in an uploaded file named `file_name`. A bad file raises `ScenarioError` with the message
    `iimsim run FILE` prints for a file of that name in the current folder (without its "error: " prefix).

    The file is parsed by the scenario loader, whose only reader is TOML: nothing in it is run. An `extends`
    may name a built-in scenario; a relative path would name a file that was not uploaded.
    """
    name = Path(file_name).name
    if not name.strip("."):  # "", "." or "..": no file name to keep
        name = "scenario.toml"
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data):,} bytes, larger than a scenario file can be "
                            f"({MAX_UPLOAD_BYTES:,})")
    with tempfile.TemporaryDirectory(prefix="iimsim-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return iimsim.resolve(str(path))
        except ScenarioError as err:
            raise ScenarioError(str(err).replace(str(path), name).replace(folder + os.sep, "")) from None
        except UnicodeDecodeError:
            raise ScenarioError(f"{name}: not UTF-8 text") from None
