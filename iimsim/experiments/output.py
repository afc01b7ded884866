"""Where an experiment writes: a folder committed atomically, or nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from iimsim.reports.export import staged_folder


@contextmanager
def staged_or_none(out_dir: Path | str | None, force: bool = False) -> Iterator[Path | None]:
    """`staged_folder(out_dir, force)` (refusing an existing folder before any work), or None without a folder."""
    with staged_folder(out_dir, force) if out_dir is not None else nullcontext() as staging:
        yield staging
