"""Order flow of one listing-day: price path, order lifecycles and the L3 event stream.

Model. Each side of the book always holds ``DEPTH`` contiguous price levels (one tick apart),
each with at least one order. Prices are in ticks; a side's *coordinate* ``x`` grows away from
the spread (bid ``x = -price``, ask ``x = price``), so both sides share one code path.

* The opening auction inserts one *anchor* order per level (bid and ask alternately, best
  levels first).
* A skeleton of continuous-trading events (U-shaped times) drives the price: a share of them are
  *price events* whose effect on the spread is a reflected ±1 walk in ``[1, max_spread]`` ticks.
  Widening is a *clear*: an aggressive order executes every order of one side's best level and
  the side gets a new anchor at its far end. Narrowing is an *improvement*: a new anchor one
  tick inside the spread, and the side's deepest level is cancelled. The other skeleton events
  are partial fills of the best level's anchor, which is always the head of its queue.
* A level lives from its anchor's insertion to its clear or cancellation (an *episode*). Extra
  orders join a level's queue at random times, and are cancelled after a log-normal lifetime,
  sometimes reduced in size first, or end with their level (executed or cancelled).

Every L3 row carries its size change, so the book is exactly the running sum of the stream.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from basalt.sampledata.activity import event_times

__all__ = [
    "DEPTH",
    "BookSpec",
    "OrderFlow",
    "SidePath",
    "grouped_cumsum",
    "order_sizes",
    "simulate_orders",
]

I64 = npt.NDArray[np.int64]
DEPTH = 20
NEVER = np.iinfo(np.int64).max
PRICE_EVENT_SHARE = 0.3
UPDATE_SHARE = 0.1
LIFETIME_MEDIAN_S = 2.0
LIFETIME_SIGMA = 2.0
AUCTION_MARGIN_NS = 2_000_000

# Action codes (BMLL ``LobAction``) and row kinds.
EXEC, INSERT, REMOVE, UPDATE = 1, 2, 3, 4
AUCTION, SKELETON, EXTRA = 0, 1, 2


@dataclass(frozen=True)
class BookSpec:
    """Inputs of one listing-day's order-flow simulation (prices in ticks, times in epoch ns)."""

    best_bid: int
    spread: int
    max_spread: int
    skeleton_events: int
    extra_orders: int
    top_share: float
    size_scale: float
    round_lot: int
    auction_open: int
    continuous_open: int
    continuous_close: int


@dataclass(frozen=True)
class SidePath:
    """One side's price events: their times, skeleton indices and the best level ``x`` per
    segment (segment ``s`` follows the ``s``-th price event; segment 0 is the opening book)."""

    times: I64
    events: I64
    best: I64

    def segment(self, times: I64) -> I64:
        """Segment in force at ``times`` (an event at exactly that time counts)."""
        return np.searchsorted(self.times, times, side="right").astype(np.int64)


@dataclass(frozen=True)
class OrderFlow:
    """The L3 stream of one listing-day in time order, plus the price paths behind it.

    ``side`` is 0 bid / 1 ask, ``x`` the side coordinate, ``kind`` 0 auction / 1 skeleton /
    2 extra-order event, ``old_size`` -1 where not applicable.
    """

    time: I64
    event_no: I64
    end_of_event: npt.NDArray[np.bool_]
    kind: I64
    side: I64
    x: I64
    action: I64
    order_id: I64
    size: I64
    old_size: I64
    exec_size: I64
    level: I64
    size_ahead: I64
    orders_ahead: I64
    paths: tuple[SidePath, SidePath]

    def price_ticks(self) -> I64:
        """Price of each row in ticks."""
        return np.where(self.side == 0, -self.x, self.x)


def order_sizes(rng: np.random.Generator, n: int, scale: float, round_lot: int) -> I64:
    """Log-normal order sizes with median ``scale``; with ``round_lot`` > 1 most are
    multiples of the lot and the rest odd lots."""
    raw = np.ceil(rng.lognormal(np.log(max(scale, 1.0)), 0.8, n)).astype(np.int64)
    if round_lot == 1:
        return raw
    lots = np.maximum(1, np.rint(raw / round_lot)).astype(np.int64) * round_lot
    odd = rng.random(n) < 0.25
    return np.where(odd, 1 + raw % (round_lot - 1), lots)


def grouped_cumsum(values: npt.NDArray[np.int64], groups: I64) -> npt.NDArray[np.int64]:
    """Inclusive running sum of ``values`` (last axis) within each group, in row order."""
    if groups.size == 0:
        return values.copy()
    low = int(groups.min())
    small = int(groups.max()) - low < 2**15
    # A stable sort of 16-bit keys is a radix sort: much faster than sorting 64-bit keys.
    order = np.argsort((groups - low).astype(np.int16) if small else groups, kind="stable")
    ordered, keys = values[..., order], groups[order]
    sums = np.cumsum(ordered, axis=-1)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lengths = np.diff(np.r_[starts, len(keys)])
    offsets = np.repeat(sums[..., starts] - ordered[..., starts], lengths, axis=-1)
    out = np.empty_like(sums)
    out[..., order] = sums - offsets
    return out


def _reflected_walk(rng: np.random.Generator, n: int, start: int, top: int) -> I64:
    """A ±1 walk on ``1..top`` started at ``start``, reflected at both ends."""
    period = 2 * (top - 1)
    steps = np.where(rng.random(n) < 0.5, -1, 1).astype(np.int64)
    folded = np.mod((start - 1) + np.cumsum(steps), period)
    return (1 + np.where(folded <= top - 1, folded, period - folded)).astype(np.int64)


def _next_occurrence(path: I64, targets: I64, after: I64) -> I64:
    """First index ``> after`` where ``path`` equals ``targets``; ``len(path)`` if none."""
    n = len(path)
    low, high = int(path.min()), int(path.max())
    order = np.lexsort((np.arange(n), path))
    keys = (path[order] - low) * (n + 1) + order
    valid = (targets >= low) & (targets <= high)
    query = (np.where(valid, targets, low) - low) * (n + 1) + after + 1
    pos = np.minimum(np.searchsorted(keys, query), n - 1)
    found = valid & (path[order[pos]] == targets) & (order[pos] > after)
    return np.where(found, order[pos], n)


@dataclass(frozen=True)
class _Episodes:
    """Price-level episodes of both sides, with a sorted key index for lookups."""

    side: I64
    x: I64
    start_seg: I64
    start_time: I64
    start_slot: I64
    start_level: I64
    end_time: I64
    end_exec: npt.NDArray[np.bool_]
    ended: npt.NDArray[np.bool_]
    x_low: int
    x_span: int
    seg_span: int

    def key(self, side: I64, x: I64, seg: I64) -> I64:
        """Sort key of level ``(side, x)`` in segment ``seg``."""
        return (side * self.x_span + (x - self.x_low)) * self.seg_span + seg

    @functools.cached_property
    def _index(self) -> tuple[I64, I64]:
        keys = self.key(self.side, self.x, self.start_seg)
        order = np.argsort(keys, kind="stable").astype(np.int64)
        return keys[order], order

    def find(self, side: I64, x: I64, seg: I64) -> I64:
        """The episode of level ``(side, x)`` in force in segment ``seg``."""
        keys, order = self._index
        return order[np.searchsorted(keys, self.key(side, x, seg), side="right") - 1]


def _episodes(paths: tuple[SidePath, SidePath], auction_times: I64) -> _Episodes:
    cols: dict[str, list[I64]] = {}
    for side, path in enumerate(paths):
        m = len(path.times)
        best = path.best
        moves = np.diff(best)
        depth = np.arange(DEPTH, dtype=np.int64)
        x = np.r_[best[0] + depth, np.where(moves > 0, best[1:] + DEPTH - 1, best[1:])]
        start_seg = np.r_[np.zeros(DEPTH, np.int64), np.arange(1, m + 1)]
        cleared = _next_occurrence(best, x + 1, start_seg)
        dropped = _next_occurrence(best, x - DEPTH, start_seg)
        end_seg = np.minimum(cleared, dropped)
        ended = end_seg <= m
        ends = np.r_[path.times, NEVER][np.where(ended, end_seg - 1, m)]
        new = {
            "side": np.full(len(x), side, np.int64),
            "x": x,
            "start_seg": start_seg,
            "start_time": np.r_[auction_times[side::2], path.times],
            "start_slot": np.r_[np.zeros(DEPTH, np.int64), (moves > 0).astype(np.int64)],
            "start_level": np.r_[depth + 1, np.where(moves > 0, DEPTH, 1)],
            "end_time": ends,
            "end_exec": (cleared < dropped).astype(np.int64),
            "ended": ended.astype(np.int64),
        }
        for name, values in new.items():
            cols.setdefault(name, []).append(values)
    c = {name: np.concatenate(parts) for name, parts in cols.items()}
    return _Episodes(
        side=c["side"],
        x=c["x"],
        start_seg=c["start_seg"],
        start_time=c["start_time"],
        start_slot=c["start_slot"],
        start_level=c["start_level"],
        end_time=c["end_time"],
        end_exec=c["end_exec"] > 0,
        ended=c["ended"] > 0,
        x_low=int(c["x"].min()) - 2 * DEPTH,
        x_span=int(c["x"].max() - c["x"].min()) + 4 * DEPTH,
        seg_span=int(c["start_seg"].max()) + 2,
    )


def _side_paths(
    rng: np.random.Generator, spec: BookSpec, times: I64, is_price: npt.NDArray[np.bool_]
) -> tuple[SidePath, SidePath]:
    """Split the skeleton's price events (``is_price``) between the sides."""
    events = np.flatnonzero(is_price).astype(np.int64)
    spread = _reflected_walk(rng, len(events), spec.spread, spec.max_spread)
    moves = np.where(spread > np.r_[spec.spread, spread[:-1]], 1, -1)
    on_ask = rng.random(len(events)) < 0.5
    starts = (-spec.best_bid, spec.best_bid + spec.spread)
    paths = []
    for side, start in enumerate(starts):
        mine = on_ask == bool(side)
        best = start + np.r_[0, np.cumsum(moves[mine])].astype(np.int64)
        paths.append(SidePath(times[events[mine]], events[mine], best))
    return paths[0], paths[1]


def _rows(**columns: I64 | int) -> dict[str, I64]:
    n = max(np.size(v) for v in columns.values() if np.ndim(v) > 0)
    return {k: np.broadcast_to(np.asarray(v, np.int64), (n,)) for k, v in columns.items()}


def simulate_orders(rng: np.random.Generator, spec: BookSpec) -> OrderFlow:
    """Simulate one listing-day's order flow (see the module docstring)."""
    skeleton = event_times(
        rng, spec.skeleton_events, spec.continuous_open, spec.continuous_close, parity=0
    )
    is_price = rng.random(len(skeleton)) < PRICE_EVENT_SHARE
    paths = _side_paths(rng, spec, skeleton, is_price)
    auction = event_times(
        rng, 2 * DEPTH, spec.auction_open, spec.continuous_open - AUCTION_MARGIN_NS, parity=0
    )
    ep = _episodes(paths, auction)
    n_ep = len(ep.x)

    # Partial fills of the best level's anchor.
    fills_at = np.flatnonzero(~is_price)
    fill_side = (rng.random(len(fills_at)) < 0.5).astype(np.int64)
    fill_seg = np.where(
        fill_side == 0,
        np.searchsorted(paths[0].events, fills_at),
        np.searchsorted(paths[1].events, fills_at),
    ).astype(np.int64)
    fill_ep = ep.find(fill_side, _best(paths, fill_side, fill_seg), fill_seg)
    fill = order_sizes(rng, len(fills_at), spec.size_scale, spec.round_lot)
    remainder = order_sizes(rng, n_ep, 2.0 * spec.size_scale, spec.round_lot)
    anchor_size = np.bincount(fill_ep, fill, minlength=n_ep).astype(np.int64) + remainder
    left = anchor_size[fill_ep] - grouped_cumsum(fill, fill_ep)

    # Extra orders joining a level's queue.
    n_x = spec.extra_orders
    t_in = event_times(rng, n_x, spec.continuous_open, spec.continuous_close, parity=1)
    x_side = (rng.random(n_x) < 0.5).astype(np.int64)
    top = rng.random(n_x) < spec.top_share
    depth = np.where(
        top,
        1 + np.floor(10 * rng.random(n_x) ** 1.5),
        11 + np.floor((DEPTH - 10) * rng.random(n_x)),
    ).astype(np.int64)
    x_seg = _segment(paths, x_side, t_in)
    x_x = _best(paths, x_side, x_seg) + depth - 1
    x_ep = ep.find(x_side, x_x, x_seg)
    size = order_sizes(rng, n_x, 1.5 * spec.size_scale, spec.round_lot)
    life = rng.lognormal(np.log(LIFETIME_MEDIAN_S * 1e9), LIFETIME_SIGMA, n_x)
    t_cancel = t_in + 2 * (np.floor(np.minimum(life, 1e15) / 2).astype(np.int64) + 1)
    ep_end = ep.end_time[x_ep]
    cancelled = (t_cancel < ep_end) & (t_cancel < spec.continuous_close)
    with_level = ~cancelled & ep.ended[x_ep]
    bound = np.minimum(np.where(cancelled, t_cancel, ep_end), spec.continuous_close)
    room = (bound - t_in + 1) // 2 - 1
    updated = (rng.random(n_x) < UPDATE_SHARE) & (room >= 1) & (size >= 2)
    t_update = t_in + 2 * np.minimum(room, 1 + np.floor(rng.random(n_x) * room).astype(np.int64))
    new_size = np.minimum(size - 1, np.maximum(1, np.floor(size * rng.uniform(0.2, 0.9, n_x))))
    final = np.where(updated, new_size, size).astype(np.int64)
    x_id = n_ep + np.arange(n_x, dtype=np.int64)

    ended, level_exec = ep.ended, ep.end_exec
    u, c, w = np.flatnonzero(updated), np.flatnonzero(cancelled), np.flatnonzero(with_level)
    we = level_exec[x_ep[w]]
    groups = [
        # Anchor inserts (opening auction, improvements, replenishment after a clear).
        _rows(t=ep.start_time, slot=ep.start_slot, sub=-1, ord=np.arange(n_ep), side=ep.side,
              x=ep.x, action=INSERT, size=anchor_size, old=-1, exe=0, dq=anchor_size, dn=1,
              level=ep.start_level, kind=np.where(ep.start_seg == 0, AUCTION, SKELETON)),
        # Partial fills of anchors.
        _rows(t=skeleton[fills_at], slot=0, sub=-1, ord=fill_ep, side=fill_side,
              x=ep.x[fill_ep], action=EXEC, size=left, old=left + fill, exe=fill, dq=-fill,
              dn=0, level=1, kind=SKELETON),
        # Anchors ending with their level.
        _rows(t=ep.end_time[ended], slot=np.where(level_exec[ended], 0, 1), sub=-1,
              ord=np.flatnonzero(ended), side=ep.side[ended], x=ep.x[ended],
              action=np.where(level_exec[ended], EXEC, REMOVE), size=0, old=remainder[ended],
              exe=np.where(level_exec[ended], remainder[ended], 0), dq=-remainder[ended], dn=-1,
              level=np.where(level_exec[ended], 1, DEPTH), kind=SKELETON),
        # Extra orders: insert, update, cancel.
        _rows(t=t_in, slot=0, sub=0, ord=x_id, side=x_side, x=x_x, action=INSERT, size=size,
              old=-1, exe=0, dq=size, dn=1, level=0, kind=EXTRA),
        _rows(t=t_update[u], slot=0, sub=0, ord=x_id[u], side=x_side[u], x=x_x[u],
              action=UPDATE, size=final[u], old=size[u], exe=0, dq=final[u] - size[u], dn=0,
              level=0, kind=EXTRA),
        _rows(t=t_cancel[c], slot=0, sub=0, ord=x_id[c], side=x_side[c], x=x_x[c],
              action=REMOVE, size=0, old=final[c], exe=0, dq=-final[c], dn=-1, level=0,
              kind=EXTRA),
        # Extra orders ending with their level, after the anchor, in queue order.
        _rows(t=ep_end[w], slot=np.where(we, 0, 1), sub=t_in[w], ord=x_id[w], side=x_side[w],
              x=x_x[w], action=np.where(we, EXEC, REMOVE), size=0, old=final[w],
              exe=np.where(we, final[w], 0), dq=-final[w], dn=-1, level=np.where(we, 1, DEPTH),
              kind=SKELETON),
    ]  # fmt: skip
    r = {k: np.concatenate([g[k] for g in groups]) for k in groups[0]}
    order = np.lexsort((r["ord"], r["sub"], r["slot"], r["t"]))
    r = {k: v[order] for k, v in r.items()}
    return _finish(r, paths)


def _segment(paths: tuple[SidePath, SidePath], side: I64, times: I64) -> I64:
    return np.where(side == 0, paths[0].segment(times), paths[1].segment(times))


def _best(paths: tuple[SidePath, SidePath], side: I64, seg: I64) -> I64:
    bid, ask = paths[0].best, paths[1].best
    return np.where(
        side == 0, bid[np.minimum(seg, len(bid) - 1)], ask[np.minimum(seg, len(ask) - 1)]
    )


def _finish(r: dict[str, I64], paths: tuple[SidePath, SidePath]) -> OrderFlow:
    """Levels, event numbers, order ids and queue positions of the time-sorted rows."""
    t, kind, side, x, action, orders = r["t"], r["kind"], r["side"], r["x"], r["action"], r["ord"]
    extra = kind == EXTRA
    level = np.where(extra, x - _best(paths, side, _segment(paths, side, t)) + 1, r["level"])
    new_event = np.r_[True, t[1:] != t[:-1]] | extra
    inserts = action == INSERT
    rank = np.zeros(int(orders.max()) + 1, np.int64)
    rank[orders[inserts]] = np.arange(1, int(inserts.sum()) + 1)
    # Running size and order count of each price level, before each row.
    level_key = side * (int(x.max() - x.min()) + 1) + (x - x.min())
    deltas = np.stack([r["dq"], r["dn"]])
    q_before, n_before = grouped_cumsum(deltas, level_key) - deltas
    q_at_insert, n_at_insert = np.zeros_like(rank), np.zeros_like(rank)
    q_at_insert[orders[inserts]] = q_before[inserts]
    n_at_insert[orders[inserts]] = n_before[inserts]
    # Exact for inserts (queue tail) and executions/level removals (queue head); for a
    # mid-queue cancel or update, the queue ahead at insertion capped by the level's size.
    mid_queue = extra & ~inserts
    size_ahead = np.where(
        inserts,
        q_before,
        np.where(mid_queue, np.minimum(q_at_insert[orders], q_before - r["old"]), 0),
    )
    orders_ahead = np.where(
        inserts,
        n_before,
        np.where(mid_queue, np.minimum(n_at_insert[orders], n_before - 1), 0),
    )
    return OrderFlow(
        time=t,
        event_no=np.cumsum(new_event),
        end_of_event=np.r_[new_event[1:], True],
        kind=kind,
        side=side,
        x=x,
        action=action,
        order_id=rank[orders],
        size=r["size"],
        old_size=r["old"],
        exec_size=r["exe"],
        level=level,
        size_ahead=size_ahead,
        orders_ahead=orders_ahead,
        paths=paths,
    )
