"""Start the app: Streamlit serving `streamlit_app.py`, on localhost unless told otherwise, never asking anything.

Streamlit's first start on a machine asks for an email address on the terminal (and, with standard input closed,
never serves). Every setting that keeps it from asking is given on its command line, so nothing is written into
the user's home and the app serves whatever its standard input is.
"""

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


def display_available() -> bool:
    """Whether a browser window could open here: on Linux and the BSDs only with an X or Wayland display (without
    one the browser Streamlit finds may be a text one that takes the terminal over)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def streamlit_command(port: int, address: str, browser: bool) -> list[str]:
    """`python -m streamlit run` on the app's entry, with settings that keep it local, quiet and prompt-free."""
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY),
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "false" if browser else "true",  # not headless: Streamlit opens the browser
            "--server.showEmailPrompt", "false",  # the first-run "Email:" prompt (Streamlit >= 1.46)
            "--browser.gatherUsageStats", "false",
            "--server.maxUploadSize", "1",  # megabytes: scenario files only
            "--client.showErrorDetails", "none",  # an unforeseen error shows no traceback (no server paths)
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--client.toolbarMode", "minimal"]


def launch(port: int, address: str, browser: bool) -> int:
    """Serve the app until interrupted. On POSIX Streamlit replaces this process (one process to stop)."""
    command = streamlit_command(port, address, browser and display_available())
    if os.name == "posix":
        os.execv(command[0], command)
    return subprocess.call(command)
