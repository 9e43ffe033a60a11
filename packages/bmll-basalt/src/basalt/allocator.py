"""polars' memory allocator (jemalloc): freed memory goes back to the system promptly.

When polars is first imported it configures jemalloc from ``_RJEM_MALLOC_CONF``; by default
freed pages stay "muzzy" for a second, still counted in the process's RSS. The processes
Basalt starts — the ``basalt`` command and the workers of its executors — add
``muzzy_decay_ms:0``, so their footprint follows the task at hand rather than the largest
one so far. Options later in ``_RJEM_MALLOC_CONF`` win.
"""

from __future__ import annotations

__all__ = ["ALLOCATOR_ENV", "PROMPT_RELEASE", "prompt_release"]

ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
PROMPT_RELEASE = "muzzy_decay_ms:0"


def prompt_release(current: str | None) -> str:
    """``_RJEM_MALLOC_CONF`` with ``current`` options, then prompt release."""
    if not current:
        return PROMPT_RELEASE
    return current if current.endswith(PROMPT_RELEASE) else f"{current},{PROMPT_RELEASE}"
