"""Local file helpers: atomic writes, locks, and the leftovers of killed processes.

Temporary files and directories are named after the final path and the process writing
them (``.{name}.{pid}-{random}.tmp``), so that a process removes the leftovers of processes
that are gone — killed runs — and never the work in progress of a concurrent one.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = [
    "RUN_DIR_PREFIX",
    "atomic_path",
    "locked",
    "process_alive",
    "remove_stale",
    "run_directory",
    "temporary_name",
]

RUN_DIR_PREFIX = "basalt-run-"


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temporary_name(path: str) -> str:
    """A fresh temporary path beside ``path``, owned by this process."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")


def remove_stale(path: str) -> None:
    """Remove the temporary files and directories beside ``path`` of processes that are
    gone."""
    directory, name = os.path.split(path)
    for leftover in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp*")):
        owner = os.path.basename(leftover)[len(name) + 2 :].split("-", 1)[0]
        if owner.isdigit() and process_alive(int(owner)):
            continue
        if os.path.isdir(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with suppress(FileNotFoundError):
                os.remove(leftover)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block
    succeeds and removed when it fails, so ``path`` is never seen partially written."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    remove_stale(path)
    partial = temporary_name(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


@contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file beside it) for the block: processes
    changing ``path`` in several steps take turns."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f".{name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def run_directory(parent: str | None) -> Iterator[str]:
    """A fresh temporary directory for a run, removed afterwards; directories of earlier
    runs whose process is gone (killed runs) are removed first."""
    base = Path(parent or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.glob(f"{RUN_DIR_PREFIX}*"):
        owner = stale / "pid"
        try:
            pid = int(owner.read_text() or 0)
        except (OSError, ValueError):  # not written yet, or not a run directory
            continue
        if not process_alive(pid):
            shutil.rmtree(stale, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=base))
    (directory / "pid").write_text(str(os.getpid()))
    try:
        yield str(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
