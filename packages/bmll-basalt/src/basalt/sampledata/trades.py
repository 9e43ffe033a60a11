"""Trade prints of one listing-day: lit executions from the L3 stream, auction uncrosses and
off-book prints, each with the venue book prevailing at the time of the trade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from basalt.sampledata.activity import event_times
from basalt.sampledata.book import Snapshots
from basalt.sampledata.orders import EXEC, OrderFlow, grouped_cumsum, order_sizes

__all__ = ["CATEGORIES", "HORIZONS_MS", "TradePlan", "TradePrints", "trade_prints"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Trade categories: (Classification, BMLLTradeType, MarketState).
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("LIT_CONTINUOUS", "LIT", "CONTINUOUS_TRADING"),
    ("LIT_AUCTION", "LIT", "OPENING_AUCTION"),
    ("LIT_AUCTION", "LIT", "CLOSING_AUCTION"),
    ("DARK", "DARK", "CONTINUOUS_TRADING"),
    ("OFF_BOOK_ON_EXCHANGE", "OTC", "CONTINUOUS_TRADING"),
)
LIT, OPENING, CLOSING, DARK, OFF_BOOK = range(5)
HORIZONS_MS: tuple[int, ...] = (1, 2, 5, 10, 25, 50, 100, 200, 500, 1000, 5000, 15000, 30000,
                                60000, 300000)  # fmt: skip
UNCROSS_LEAD_NS = 1_000_000


@dataclass(frozen=True)
class TradePlan:
    """What to print besides the lit executions (times in epoch ns, sizes in shares)."""

    off_book: int
    continuous_open: int
    continuous_close: int
    auction_close: int
    size_scale: float
    round_lot: int
    block_shares: float


@dataclass(frozen=True)
class TradePrints:
    """Trade prints in time order. ``half_ticks`` is twice the price in ticks (midpoint prints
    can fall between ticks); ``book_row``/``post_row`` index the L2 rows before/after the
    trade; ``l3_row`` is the execution's L3 row (-1 for other prints). ``pre_mid``/``post_mid``
    hold, in half ticks, the mid ``HORIZONS_MS[i]`` before/after the trade in column ``i``."""

    time: I64
    publication_delay: I64
    half_ticks: I64
    size: I64
    aggressor: I64
    category: I64
    book_row: I64
    post_row: I64
    bbo_remaining: F64
    l3_row: I64
    pre_mid: F64
    post_mid: F64


def _asof(times: I64, at: I64) -> I64:
    return np.searchsorted(times, at, side="right").astype(np.int64) - 1


def trade_prints(
    rng: np.random.Generator, flow: OrderFlow, book: Snapshots, plan: TradePlan
) -> TradePrints:
    """All prints of the listing-day (lit, auction, dark and off-book)."""
    lit = np.flatnonzero(flow.action == EXEC)
    lit_time = flow.time[lit]
    lit_post = book.row_of_event[flow.event_no[lit]]
    lit_size = flow.exec_size[lit]
    resting_ask = flow.side[lit] == 1
    best_qty = np.where(resting_ask, book.ask_qty[0, lit_post - 1], book.bid_qty[0, lit_post - 1])
    remaining = best_qty - grouped_cumsum(lit_size, flow.event_no[lit])

    off_time = event_times(
        rng, plan.off_book, plan.continuous_open, plan.continuous_close, parity=1
    )
    off_row = _asof(book.time, off_time)
    dark = rng.random(plan.off_book) < 0.5
    bid, ask = book.bid_ticks[0, off_row], book.ask_ticks[0, off_row]
    off_ticks = bid + np.floor(rng.random(plan.off_book) * (ask - bid + 1)).astype(np.int64)
    off_size = order_sizes(rng, plan.off_book, 4.0 * plan.size_scale, plan.round_lot)
    blocks = np.ceil(plan.block_shares * rng.uniform(1.0, 3.0, plan.off_book))
    off_size = np.where(rng.random(plan.off_book) < 0.03, blocks, off_size).astype(np.int64)

    n_open, n_close = int(rng.integers(3, 13)), int(rng.integers(5, 21))
    uncross = np.r_[plan.continuous_open, plan.auction_close] - UNCROSS_LEAD_NS
    auction_row = _asof(book.time, uncross)
    a_bid, a_ask = book.bid_ticks[0, auction_row], book.ask_ticks[0, auction_row]
    a_ticks = a_bid + np.floor(rng.random(2) * (a_ask - a_bid + 1)).astype(np.int64)
    counts = np.array([n_open, n_close])

    time = np.r_[lit_time, off_time, np.repeat(uncross, counts)]
    n_lit, n_off, n_auc = len(lit), plan.off_book, n_open + n_close
    category = np.r_[
        np.full(n_lit, LIT), np.where(dark, DARK, OFF_BOOK), np.repeat([OPENING, CLOSING], counts)
    ].astype(np.int64)
    half_ticks = np.r_[
        2 * flow.price_ticks()[lit],
        np.where(dark, bid + ask, 2 * off_ticks),
        np.repeat(2 * a_ticks, counts),
    ]
    size = np.r_[lit_size, off_size, order_sizes(rng, n_auc, 3.0 * plan.size_scale, plan.round_lot)]
    book_row = np.r_[lit_post - 1, off_row, np.repeat(auction_row, counts)]
    post_row = np.r_[lit_post, off_row, np.repeat(auction_row, counts)]
    delay_scale = np.where(category == OFF_BOOK, 5e9, np.where(category == DARK, 2e6, 2e5))
    delay = np.ceil(delay_scale * rng.exponential(1.0, len(time))).astype(np.int64)
    order = np.lexsort((np.arange(len(time)), category, time))

    mid = book.mid_ticks2()
    horizons = np.array(HORIZONS_MS, dtype=np.int64)[:, None] * 1_000_000
    pre = _asof(book.time, time[order] - horizons).T
    post = _asof(book.time, time[order] + horizons).T
    return TradePrints(
        time=time[order],
        publication_delay=delay[order],
        half_ticks=half_ticks[order],
        size=size[order],
        aggressor=np.r_[np.where(resting_ask, 1, 2), np.zeros(n_off + n_auc, np.int64)][order],
        category=category[order],
        book_row=book_row[order],
        post_row=post_row[order],
        bbo_remaining=np.r_[remaining, np.full(n_off + n_auc, np.nan)][order],
        l3_row=np.r_[lit, np.full(n_off + n_auc, -1)][order],
        pre_mid=np.where(pre >= 0, mid[pre], np.nan),
        post_mid=mid[post],
    )
