"""L2 snapshots: the top ``LEVELS`` price levels of each side after every event that shows there.

The book is rebuilt from the L3 stream without replaying it row by row. Between two price events
of a side (a *segment*) the side's levels sit at fixed prices, so a level's size is its size when
the segment began (a per-level running sum of everything before) plus the running sum of the
segment's own changes at that level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from basalt.sampledata.orders import INSERT, SKELETON, OrderFlow, SidePath

__all__ = ["LEVELS", "Snapshots", "snapshots"]

I64 = npt.NDArray[np.int64]
LEVELS = 10


@dataclass(frozen=True)
class Snapshots:
    """L2 rows of one listing-day. Level arrays are level-major, ``(LEVELS, rows)``; a missing
    level (only while the opening auction builds the book) has zero orders.

    ``row_of_event`` maps an L3 ``event_no`` to its L2 row (-1 where the event shows no change).
    """

    time: I64
    event_no: I64
    bid_ticks: I64
    bid_qty: I64
    bid_orders: I64
    ask_ticks: I64
    ask_qty: I64
    ask_orders: I64
    row_of_event: I64

    def mid_ticks2(self) -> npt.NDArray[np.float64]:
        """Twice the mid price in ticks (NaN where a side is empty)."""
        empty = (self.bid_orders[0] == 0) | (self.ask_orders[0] == 0)
        return np.where(empty, np.nan, (self.bid_ticks[0] + self.ask_ticks[0]).astype(float))


def _segment_start_levels(
    path: SidePath, seg: I64, x: I64, deltas: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``(k, LEVELS, segments)``: for each delta row ``k``, the sum over rows before each
    segment at each of the segment's visible levels."""
    low = min(int(x.min()), int(path.best.min()))
    span = len(path.best) + 1
    keys = (x - low) * span + seg
    order = np.argsort(keys)
    keys = keys[order]
    sums = np.zeros((len(deltas), len(keys) + 1), np.int64)
    np.cumsum(deltas[:, order], axis=1, out=sums[:, 1:])
    level_x = (path.best - low + np.arange(LEVELS)[:, None]) * span
    end = np.searchsorted(keys, level_x + np.arange(len(path.best)))
    begin = np.searchsorted(keys, level_x)
    return sums[:, end] - sums[:, begin]


def snapshots(flow: OrderFlow) -> Snapshots:
    """The L2 rows of ``flow``: one after each event that changes the visible levels."""
    shows = (flow.kind == SKELETON) | (flow.level <= LEVELS)
    rows = np.flatnonzero(flow.end_of_event & shows)
    n = len(rows)
    row_of_event = np.full(int(flow.event_no[-1]) + 1, -1, np.int64)
    row_of_event[flow.event_no[rows]] = np.arange(n)
    l2_row = row_of_event[flow.event_no]
    times = flow.time[rows]
    deltas = np.stack(
        [
            np.where(flow.old_size < 0, flow.size, flow.size - flow.old_size),
            np.where(flow.action == INSERT, 1, np.where(flow.size == 0, -1, 0)),
        ]
    )
    out: list[I64] = []
    for side, path in enumerate(flow.paths):
        mine = flow.side == side
        seg, x, d = path.segment(flow.time[mine]), flow.x[mine], deltas[:, mine]
        depth = x - path.best[seg]
        visible = (depth >= 0) & (depth < LEVELS)
        flat = depth[visible] * n + l2_row[mine][visible]
        row_seg = path.segment(times)
        first_row = np.r_[0, np.searchsorted(times, path.times)][row_seg]
        start = _segment_start_levels(path, seg, x, d)
        for k in range(len(d)):
            within = np.zeros((LEVELS, n + 1), np.int64)
            counts = np.bincount(flat, d[k][visible], minlength=n * LEVELS)
            np.cumsum(counts.reshape(LEVELS, n), axis=1, out=within[:, 1:], dtype=np.int64)
            level = start[k][:, row_seg]
            level += within[:, 1:]
            level -= within[:, first_row]
            out.append(level)
        sign = -1 if side == 0 else 1
        out.append(sign * (path.best[row_seg] + np.arange(LEVELS)[:, None]))
    bid_qty, bid_orders, bid_ticks, ask_qty, ask_orders, ask_ticks = out
    return Snapshots(
        time=times,
        event_no=flow.event_no[rows],
        bid_ticks=bid_ticks,
        bid_qty=bid_qty,
        bid_orders=bid_orders,
        ask_ticks=ask_ticks,
        ask_qty=ask_qty,
        ask_orders=ask_orders,
        row_of_event=row_of_event,
    )
