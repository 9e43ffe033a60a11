"""What a worker process started by an executor does first.

A worker ends with the process that started it — killed, crashed or stopped by a signal —
so that no worker outlives a run holding memory: on Linux the kernel sends it ``SIGKILL``
when its parent dies (``PR_SET_PDEATHSIG``), elsewhere a watchdog thread notices. A worker
ignores Ctrl-C: the terminal sends it to the whole process group, and the parent, which
stops the workers itself, is the one to report it. Workers end without the interpreter's
teardown (:mod:`basalt.teardown`), and log at the level of the command (:mod:`basalt.logs`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

from basalt.logs import configure_worker_logging
from basalt.teardown import skip_teardown

__all__ = ["die_with_parent", "init_worker"]

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """End this process as soon as its parent ``parent`` is gone."""
    libc_name = ctypes.util.find_library("c") if sys.platform == "linux" else None
    if libc_name is not None:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="basalt-watch").start()


def init_worker(parent: int) -> None:
    """Initialiser of a worker process whose parent is ``parent``."""
    skip_teardown()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    configure_worker_logging()
