"""manifest.json: what ran, with what, on what (STRESS-DES software, random numbers, run time)."""

from __future__ import annotations

import os
import platform
import sys
from functools import lru_cache
from importlib import metadata
from typing import Any

from iimsim.version import __version__

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
        "iimsim_version": __version__,
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


# What a report and `load_run` read from a manifest, and its shape. A field a run writes that is not named here is
# kept as it is; a manifest from an earlier version without `run.files` or `run.format` is read without them.
MAX_MANIFEST_BYTES = 10_000_000
TABLE_NAME = r"^[a-z_]+$"


@lru_cache(maxsize=1)
def manifest_model():
    """The manifest's schema (pydantic, built when first needed: importing this module stays light)."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field

    class Part(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)

    class RandomNumbers(Part):
        generator: str
        seed: Annotated[int, Field(ge=0)]

    class Machine(Part):
        platform: str
        cpu: str
        cpu_count: int | None
        python: str

    class CsvFacts(Part):
        rows: Annotated[int, Field(ge=0)]
        columns: dict[str, Literal["number", "text"]]

    class RunFacts(Part):
        wall_seconds: float
        workers: int
        rows: dict[Annotated[str, Field(pattern=TABLE_NAME)], Annotated[int, Field(ge=0)]]
        format: Literal["parquet", "csv"] | None = None
        files: dict[str, CsvFacts] | None = None

    class Manifest(Part):
        iimsim_version: str
        command: list[str]
        random_numbers: RandomNumbers
        packages: dict[str, str]
        machine: Machine
        run: RunFacts
        scenario: dict

    return Manifest


def csv_facts(frame) -> dict[str, Any]:
    """What the manifest records of a CSV file a run writes: its rows and its columns with their kinds."""
    from pandas.api.types import is_numeric_dtype

    return {"rows": len(frame), "columns": {str(column): "number" if is_numeric_dtype(frame[column]) else "text"
                                            for column in frame.columns}}
