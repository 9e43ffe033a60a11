"""U-shaped intraday activity: event intensity over the session and event times drawn from it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["event_times", "intensity"]

OPEN_BOOST = 3.0
CLOSE_BOOST = 4.0
DECAY = 0.06

_GRID = np.linspace(0.0, 1.0, 2049)


def intensity(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Relative event intensity at session fraction ``x`` in [0, 1]: about 1 at midday,
    ``1 + OPEN_BOOST`` at the open and ``1 + CLOSE_BOOST`` at the close."""
    return 1.0 + OPEN_BOOST * np.exp(-x / DECAY) + CLOSE_BOOST * np.exp((x - 1.0) / DECAY)


def _inverse_cdf() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    density = intensity(_GRID)
    cdf = np.concatenate(([0.0], np.cumsum((density[1:] + density[:-1]) / 2.0)))
    return cdf / cdf[-1], _GRID


_CDF, _X = _inverse_cdf()


def event_times(
    rng: np.random.Generator, n: int, start: int, end: int, *, parity: int
) -> npt.NDArray[np.int64]:
    """``n`` sorted, distinct epoch-nanosecond times in ``[start, end)`` following the U-shape.

    Every time has ``time % 2 == parity``, so two families drawn with different parities never
    share a timestamp.
    """
    if n == 0:
        return np.empty(0, dtype=np.int64)
    half_span = (end - start) // 2 - n
    if half_span <= 0:
        raise ValueError("too many events for the session")
    x = np.interp(np.sort(rng.random(n)), _CDF, _X)
    steps = np.floor(x * half_span).astype(np.int64) + np.arange(n, dtype=np.int64)
    first = start + (start - parity) % 2
    return first + 2 * steps
