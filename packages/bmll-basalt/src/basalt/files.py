"""Local file helpers: atomic writes, locks, and the leftovers of killed processes.

Temporary files and directories are named after the final path and the process writing
them — its machine and pid (``.{name}.{host}-{pid}-{random}.tmp``) — so that a process
removes the leftovers of processes of its machine that are gone (killed runs), and never the
work in progress of a concurrent one, here or on another machine sharing the directory.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = [
    "HOST",
    "RUN_DIR_PREFIX",
    "atomic_path",
    "locked",
    "process_alive",
    "remove_stale",
    "run_directory",
    "temporary_name",
]

RUN_DIR_PREFIX = "basalt-run-"
HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
"""This machine, in the names of temporary files (8 hexadecimal digits)."""


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
    return os.path.join(directory, f".{name}.{HOST}-{os.getpid()}-{uuid.uuid4().hex}.tmp")


def _gone(host: str | None, pid: str | None) -> bool:
    """Whether the process ``pid`` of machine ``host`` (None: this one, as older names
    said) has ended; a process of another machine cannot be told, and is not."""
    if host not in (None, HOST):
        return False
    return pid is not None and not process_alive(int(pid))


def _leftovers(path: str) -> list[str]:
    """The temporary files and directories beside ``path`` of processes that are gone."""
    directory, name = os.path.split(path)
    pattern = re.compile(
        rf"^\.{re.escape(name)}\.(?:(?:([0-9a-f]{{8}})-)?(\d+)-[0-9a-f]+|[0-9a-f]{{32}})"
        r"\.tmp(?:\.old)?$"
    )
    found = []
    for entry in glob.glob(os.path.join(glob.escape(directory or "."), f".{glob.escape(name)}.*")):
        match = pattern.match(os.path.basename(entry))
        if match and (match[2] is None or _gone(match[1], match[2])):
            found.append(entry)
    return found


def remove_stale(path: str) -> None:
    """Remove the temporary files and directories beside ``path`` of processes that are
    gone. A directory that a killed process moved aside to put its new one in place
    (``….tmp.old``) is put back first when nothing is at ``path``."""
    for leftover in _leftovers(path):
        if leftover.endswith(".old") and os.path.isdir(leftover) and not os.path.exists(path):
            os.replace(leftover, path)  # the swap was cut short: the earlier content returns
        elif os.path.isdir(leftover):
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
    """A fresh temporary directory for a run (``basalt-run-{host}-{pid}-…``), removed
    afterwards; directories of earlier runs of this machine whose process is gone (killed
    runs) are removed first."""
    base = Path(parent or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    owner = re.compile(rf"^{RUN_DIR_PREFIX}(?:([0-9a-f]{{8}})-(?=\d+-))?(\d+)-")
    for stale in base.glob(f"{RUN_DIR_PREFIX}*"):
        match = owner.match(stale.name)
        if match and _gone(match[1], match[2]):
            shutil.rmtree(stale, ignore_errors=True)
    prefix = f"{RUN_DIR_PREFIX}{HOST}-{os.getpid()}-"
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield str(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
