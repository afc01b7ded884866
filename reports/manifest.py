"""manifest.json: what ran, with what, on what (STRESS-DES software, random numbers, run time)."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import iimsim

PACKAGES = ("transitions", "simpy", "numpy", "pandas", "pyarrow", "matplotlib", "pydantic", "click")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0]}


def manifest(scenario_dict: dict, command: list[str], run: dict[str, Any]) -> dict[str, Any]:
    return {
        "iimsim_version": iimsim.__version__,
        "command": command,
        "random_numbers": {
            "generator": "numpy PCG64, one stream per patient from SeedSequence(seed, spawn_key=(replication, "
                         "patient_id)); identical results for any number of workers or chunk size",
            "seed": scenario_dict["simulation"]["seed"],
        },
        "packages": {name: _version(name) for name in PACKAGES},
        "machine": machine(),
        "run": run,
        "scenario": scenario_dict,
    }
