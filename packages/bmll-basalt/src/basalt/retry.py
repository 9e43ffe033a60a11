"""Retrying work that failed with a transient I/O error (connection drops, throttling)."""

from __future__ import annotations

import errno
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import polars as pl

from basalt.errors import TransientError

__all__ = ["TRANSIENT_MESSAGE", "causes", "is_transient", "with_retries"]

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
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
TRANSIENT_MESSAGE = re.compile(
    r"timed out|timeout|connection (?:reset|aborted|refused|closed)|broken pipe|slow ?down"
    r"|throttl|service unavailable|too many requests|status(?: code)?:? (?:429|5\d\d)"
    r"|\((?:429|5\d\d) [A-Z]",
    re.IGNORECASE,
)


def _transient_link(exc: BaseException) -> bool | None:
    """Whether ``exc`` itself is transient; None when it says nothing and its cause decides
    (Basalt's own errors other than :class:`TransientError`, errors other than I/O ones,
    whose messages are not read)."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    response = getattr(exc, "response", None)  # an HTTP client's error (botocore's)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR or None
    if isinstance(exc, OSError | pl.exceptions.PolarsError):  # I/O: object stores report so
        return TRANSIENT_MESSAGE.search(str(exc)) is not None or None
    return None


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling (``raise … from None``
    cuts the chain), nearest first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        context = None if current.__suppress_context__ else current.__context__
        current = current.__cause__ or context


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, looks like a transient I/O failure
    worth retrying: a refused, dropped or timed-out connection, throttling (HTTP 429,
    ``SlowDown``) or a server error (HTTP 5xx)."""
    return any(_transient_link(cause) for cause in causes(exc))


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
