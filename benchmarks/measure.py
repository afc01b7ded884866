"""Measuring whole processes for the benchmarks: CPU as the operating system counts it, peak memory, wall
time."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_measured(command: list[str]) -> tuple[float, float, float]:
    """Run a command to its end: its CPU seconds (with its workers), the peak resident memory of its largest
    process in MB, and its wall seconds."""
    started = time.perf_counter()
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=environment)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def cpu_seconds() -> float:
    """CPU seconds of this process and the children it has waited for (worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
