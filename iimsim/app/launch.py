"""Start the app: Streamlit serving `streamlit_app.py`, on localhost unless told otherwise."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ENTRY = Path(__file__).with_name("streamlit_app.py")
INSTALL_HINT = 'the app needs Streamlit: pip install -e ".[app]" (or pip install "iimsim[app]")'


def streamlit_installed() -> bool:
    return importlib.util.find_spec("streamlit") is not None


def streamlit_command(port: int, address: str, browser: bool) -> list[str]:
    """`python -m streamlit run` on the app's entry, with settings that keep it local and quiet."""
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY),
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "false" if browser else "true",
            "--server.maxUploadSize", "1",  # megabytes: scenario files only
            "--client.showErrorDetails", "none",  # an unforeseen error shows no traceback (no server paths)
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]


def launch(port: int, address: str, browser: bool) -> int:
    """Serve the app until interrupted. On POSIX Streamlit replaces this process (one process to stop)."""
    command = streamlit_command(port, address, browser)
    if os.name == "posix":
        os.execv(command[0], command)
    return subprocess.call(command)
