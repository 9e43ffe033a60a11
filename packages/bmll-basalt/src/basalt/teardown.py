"""Ending Basalt's own processes without the interpreter's teardown.

When CPython exits it frees every object of every loaded module; with polars and pydantic
loaded that costs 0.1–0.2 s of CPU per process. On a one-day run the teardowns of the
``basalt`` command and of its two workers took ≈ 0.5 s of a 3 s wall time. These processes
have nothing left to release when they end — outputs are written and files closed, results
are sent — so they flush logging and the standard streams and end with :func:`os._exit`,
as forked multiprocessing children always do.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import NoReturn

__all__ = ["end_process", "exit_status", "skip_teardown"]

FLUSH_FAILED = 120
"""The status the interpreter exits with when it cannot flush standard output."""


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` ends a process with: 0 for ``None``, an integer as it
    is, otherwise 1 (the code is printed to standard error, as the interpreter does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def end_process(status: int) -> NoReturn:
    """End this process now with ``status``, after flushing logging and the standard streams."""
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`basalt … | head`): nothing left to say
        pass
    except OSError:
        status = status or FLUSH_FAILED
    os._exit(status)


def skip_teardown() -> None:
    """End this process (status 0) as soon as the exit handlers registered after this call
    have run; for worker processes, whose exit status nobody reads."""
    atexit.register(end_process, 0)
