"""An output folder written whole or not at all, by one run at a time.

Everything is written into a hidden sibling folder `.NAME.partial-PID`, renamed to NAME at the end. While it
writes, the run holds an advisory lock (`fcntl.flock`) on the file `.NAME.lock` beside it: a second run into
NAME is refused at once (`OutputBusyError`) rather than made to wait, since after the wait it would find the folder
written (refused without `force`) or replace the first run's work unseen (with it). The kernel drops a lock when
its process ends, however it ends (SIGKILL included), so a leftover's owner is alive exactly when its lock is
held: each run removes the leftovers of dead runs in the parent folder (partial and replaced folders, lock files)
whose lock it can take. A failure to write (a full or read-only disk, a file in the way) raises
`OutputWriteError` naming the path, after removing what was written; an earlier folder of that name is kept.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The output folder exists and `force` was not given; the message names it."""


class OutputBusyError(OutputExistsError):
    """Another live run is writing the output folder; the message names it."""


class OutputWriteError(OSError):
    """The output folder could not be written (a full or read-only disk, a file in the way); the message names
    the path. Nothing partial is left, and an earlier folder of that name is kept."""


LOCK_PATIENCE_S = 0.5  # a run's start waits this long for a lock held by a run cleaning up leftovers

# What iimsim writes into every folder it stages (a run, a saved run, a comparison, a PSA, a one-way analysis):
# `force` replaces only a folder holding one of them (or an empty one), never a folder of other files.
OUTPUT_MARKERS = ("manifest.json", "comparison.csv", "psa_draws.csv", "oneway.csv")
LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?:partial|replaced)-\d+|\.(?P<locked>.+)\.lock")


def _reason(err: OSError) -> str:
    return err.strerror or (str(err).strip().splitlines() or [type(err).__name__])[0]


def write_error(target: Path, err: OSError) -> OutputWriteError:
    """The error to raise when writing output folder `target` failed, naming the file that failed if known."""
    if isinstance(err.filename, str) and err.filename != str(target):
        message = f"{err.filename}: cannot be written ({_reason(err)}); nothing was written to {target}"
    else:
        message = f"{target}: cannot be written ({_reason(err)}); nothing was written"
    failure = OutputWriteError(message)
    failure.errno = err.errno
    return failure


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextmanager
def folder_lock(target: Path, patience_s: float = 0.0) -> Iterator[None]:
    """Hold the lock of output folder `target` (its parent must exist); `OutputBusyError` if a live process holds
    it for longer than `patience_s` (a run cleaning leftovers holds another's lock for a moment)."""
    path = lock_path(target)
    deadline = time.monotonic() + patience_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise OutputBusyError(f"{target}: another run is writing it now (it holds {path.name}): wait for it to "
                                  "finish, or choose another --out") from None
        try:  # its last holder may have removed the file between our open and lock: lock the one at the path
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        with suppress(OSError):  # removed while held: whoever opens the path next makes a new file
            path.unlink()
        os.close(fd)


def clean_leftovers(parent: Path, held: str | None = None) -> None:
    """Remove what dead runs left in `parent`: `.NAME.partial-PID` and `.NAME.replaced-PID` folders and
    `.NAME.lock` files whose lock no live run holds. `held`: the NAME whose lock this process holds (its
    leftovers are a dead run's, since this run has written nothing yet)."""
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = LEFTOVER.fullmatch(entry.name)
        if match is None or not entry.is_dir() and match["locked"] is None:
            continue
        name = match["name"] or match["locked"]
        if name == held:
            if match["name"]:
                shutil.rmtree(entry, ignore_errors=True)
            continue
        with suppress(OutputBusyError, OSError), folder_lock(parent / name):  # taken: nobody is writing it
            if match["name"]:
                shutil.rmtree(entry, ignore_errors=True)


def _missing_ancestors(folder: Path) -> list[Path]:
    """The folders that `folder.mkdir(parents=True)` would create, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


class StagedFolder:
    """`with StagedFolder(target, force) as staging: ...` writes into `staging`, which becomes `target` only if
    the block succeeds; the lock on `target` is held throughout. `OutputExistsError` (before any work) if the
    target exists and `force` is not given."""

    def __init__(self, target: Path | str, force: bool = False) -> None:
        self.target = Path(target)
        self.force = force
        self.staging = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        self._refuse_existing()

    def _refuse_existing(self) -> None:
        if not self.target.exists():
            return
        if not self.force:
            raise OutputExistsError(f"{self.target} exists: choose another --out or pass --force to replace it")
        if not self.target.is_dir():
            raise OutputExistsError(f"{self.target} exists and is not a folder")
        if any(self.target.iterdir()) and not any((self.target / name).exists() for name in OUTPUT_MARKERS):
            raise OutputExistsError(f"{self.target} holds files iimsim did not write (no {', '.join(OUTPUT_MARKERS)}): "
                                    "--force replaces only an earlier output folder; choose another --out")

    def __enter__(self) -> Path:
        self._created = _missing_ancestors(self.target.parent)
        self._lock = folder_lock(self.target, patience_s=LOCK_PATIENCE_S)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._lock.__enter__()
        except OSError as err:
            if isinstance(err, OutputExistsError):
                raise
            self._remove_created()
            raise write_error(self.target, err) from None
        try:
            self._refuse_existing()  # again, under the lock: a run that finished meanwhile made it
            clean_leftovers(self.target.parent, held=self.target.name)
            self.staging.mkdir()
        except BaseException as err:
            self._release()
            if isinstance(err, OSError) and not isinstance(err, OutputExistsError):
                raise write_error(self.target, err) from None
            raise
        return self.staging

    def _remove_created(self) -> None:
        for folder in self._created:  # deepest first; only if still empty
            with suppress(OSError):
                folder.rmdir()

    def _release(self) -> None:
        self._lock.__exit__(None, None, None)
        self._remove_created()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self._release()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()
            if isinstance(exc, OSError) and not isinstance(exc, (OutputExistsError, OutputWriteError)) \
                    and is_write_failure(exc):
                raise write_error(self.target, exc) from exc
            return
        try:
            self._commit()
        except OSError as err:
            self.discard()
            raise write_error(self.target, err) from None
        self._lock.__exit__(None, None, None)

    def _commit(self) -> None:
        """Rename the staging folder into place; an earlier folder is replaced only now, and put back if the
        rename fails."""
        if not self.target.exists():
            self.staging.rename(self.target)
            return
        self._refuse_existing()
        old = self.target.parent / f".{self.target.name}.replaced-{os.getpid()}"
        self.target.rename(old)
        try:
            self.staging.rename(self.target)
        except OSError:
            old.rename(self.target)
            raise
        shutil.rmtree(old, ignore_errors=True)


# Errors of writing (a full, read-only or missing place to write), as opposed to reading a damaged input.
WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EDQUOT, errno.ENOTDIR,
                errno.EEXIST, errno.EIO, errno.ENAMETOOLONG}


def is_write_failure(err: OSError) -> bool:
    """Whether `err` is a failure to write (a full, read-only or missing place), not a damaged input."""
    return err.errno in WRITE_ERRNOS or "No space left" in str(err) or "File too large" in str(err)


@contextmanager
def staged_folder(out_dir: Path | str, force: bool = False) -> Iterator[Path]:
    """Yield a hidden sibling folder to write into; it becomes `out_dir` only if the block succeeds."""
    with StagedFolder(out_dir, force) as staging:
        yield staging
