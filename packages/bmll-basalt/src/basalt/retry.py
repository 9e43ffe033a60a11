"""Retrying work that failed with a transient I/O error (connection drops, throttling)."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from basalt.errors import BasaltError

__all__ = ["is_transient", "with_retries"]

log = logging.getLogger(__name__)
R = TypeVar("R")

TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EAGAIN,
    errno.EPIPE,
}
TRANSIENT_MARKERS = (
    "timed out",
    "timeout",
    "connection reset",
    "connection aborted",
    "connection refused",
    "broken pipe",
    "slowdown",
    "throttl",
    "service unavailable",
    "internal error",
    "503",
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` looks like a transient I/O failure worth retrying."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    if isinstance(exc, BasaltError):  # Basalt's own errors are deterministic
        return False
    text = str(exc).lower()
    return any(marker in text for marker in TRANSIENT_MARKERS)


def with_retries(fn: Callable[[], R], *, retries: int, what: str, base_delay: float = 0.5) -> R:
    """Call ``fn``; on a transient error retry up to ``retries`` times with exponential
    backoff (``base_delay`` · 2ⁿ seconds). Other errors propagate at once."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == retries or not is_transient(exc):
                raise
            delay = base_delay * 2**attempt
            log.warning(
                "%s: transient error (%s), retry %d in %.1f s", what, exc, attempt + 1, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
