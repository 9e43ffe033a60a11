"""Retrying work that failed with a transient I/O error (connection drops, throttling)."""

from __future__ import annotations

import errno
import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar

from basalt.errors import BasaltError, TransientError

__all__ = ["is_transient", "with_retries"]

log = logging.getLogger(__name__)
R = TypeVar("R")

TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ECONNREFUSED,
    errno.ETIMEDOUT,
    errno.EAGAIN,
    errno.EPIPE,
}
TRANSIENT_MESSAGE = re.compile(
    r"timed out|timeout|connection (?:reset|aborted|refused|closed)|broken pipe|slow ?down"
    r"|throttl|service unavailable|too many requests|status(?: code)?:? (?:429|5\d\d)"
    r"|\((?:429|5\d\d) [A-Z]",
    re.IGNORECASE,
)


def _transient_link(exc: BaseException) -> bool | None:
    """Whether ``exc`` itself is transient; None when it says nothing (Basalt's own
    errors other than :class:`TransientError`: their cause decides)."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    if isinstance(exc, BasaltError):
        return None
    return TRANSIENT_MESSAGE.search(str(exc)) is not None or None


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, looks like a transient I/O failure
    worth retrying: a refused, dropped or timed-out connection, throttling (HTTP 429,
    ``SlowDown``) or a server error (HTTP 5xx)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _transient_link(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


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
                "%s: transient error (%s), retry %d of %d in %.1f s",
                what,
                exc,
                attempt + 1,
                retries,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
