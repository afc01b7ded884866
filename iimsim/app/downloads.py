"""A run's tables as files to download: Parquet as saved, or CSV."""

from __future__ import annotations

from pathlib import Path

import iimsim

FORMATS = ("csv", "parquet")


def table_names(folder: Path) -> list[str]:
    """The tables a run folder holds (patients, events, doses, assessments, ...; not its CSV summaries, which have
    no table schema to write them as Parquet with)."""
    from iimsim.reports.export import RUN_TABLES, has_table

    return sorted(name for name in RUN_TABLES if has_table(folder, name))


def table_bytes(folder: Path, name: str, table_format: str) -> bytes:
    """Table `name` of the run in `folder` as a file in `table_format` (csv or parquet)."""
    if table_format not in FORMATS:
        raise ValueError(f"format {table_format!r}: choose from {', '.join(FORMATS)}")
    saved = Path(folder) / f"{name}.{table_format}"
    if saved.is_file():
        return saved.read_bytes()
    frame = iimsim.load_run(folder).table(name)
    if table_format == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    return frame.to_parquet(index=False)
