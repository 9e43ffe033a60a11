"""``generate_lake``: write a deterministic synthetic BMLL lake for MICs × listings × days."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from basalt.errors import ConfigError
from basalt.lake import Lake
from basalt.sampledata.book import snapshots
from basalt.sampledata.frames import (
    ListingDay,
    l2_frame,
    l3_frame,
    market_state_frame,
    trades_frame,
)
from basalt.sampledata.listings import Listing, build_listings, open_price, reference_frame
from basalt.sampledata.orders import BookSpec, simulate_orders
from basalt.sampledata.trades import TradePlan, trade_prints
from basalt.sampledata.venues import FX_TO_EUR, Session, get_venue, session, tick_size
from basalt.sampledata.writer import ParquetSink
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable

__all__ = ["SampleSummary", "generate_lake", "trading_days"]

# Calibration of the order-flow model (measured averages; see ``orders`` for the model):
# lit prints per skeleton event, L3 rows per skeleton event and per extra order, and L2 rows
# per extra order placed within the top 10 levels.
LIT_PRINTS_PER_SKELETON_EVENT = 0.9
L3_ROWS_PER_SKELETON_EVENT = 1.3
L3_ROWS_PER_EXTRA_ORDER = 2.07
L2_ROWS_PER_TOP_EXTRA_ORDER = 2.05
OFF_BOOK_SHARE = 0.08
AUCTION_PRINTS = 20
LIT_NOTIONAL_EUR = 6_000.0
MIN_TRADES = 10


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_lake` wrote: the files and the row count of each table."""

    root: Path
    days: tuple[dt.date, ...]
    mics: tuple[str, ...]
    files: tuple[str, ...] = ()
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Rows over all tables."""
        return sum(self.rows.values())


def trading_days(start: dt.date, end: dt.date, *, exclude_weekends: bool = True) -> list[dt.date]:
    """The days from ``start`` to ``end`` inclusive, without Saturdays and Sundays by default."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if not exclude_weekends or d.weekday() < 5]


def _validate(
    start: dt.date,
    end: dt.date,
    mics: Sequence[str],
    listings: int,
    trades_per_listing: int,
    l2_per_trade: float,
    l3_per_trade: float,
) -> tuple[str, ...]:
    if end < start:
        raise ConfigError(f"end date {end} is before start date {start}")
    names = tuple(m.strip().upper() for m in mics if m.strip())
    if not names:
        raise ConfigError("at least one MIC is required")
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate MICs in {', '.join(names)}")
    for name in names:
        get_venue(name)
    if listings < 1:
        raise ConfigError(f"listings must be at least 1 per MIC, got {listings}")
    if trades_per_listing < MIN_TRADES:
        raise ConfigError(f"trades_per_listing must be at least {MIN_TRADES}")
    if not 1.5 <= l2_per_trade <= l3_per_trade <= 100:
        raise ConfigError(
            "need 1.5 <= l2_per_trade <= l3_per_trade <= 100, "
            f"got {l2_per_trade} and {l3_per_trade}"
        )
    return names


@dataclass(frozen=True)
class _Params:
    """Per-listing-day generation parameters."""

    seed: int
    trades_per_listing: int
    l2_per_trade: float
    l3_per_trade: float


def _simulate(listing: Listing, sess: Session, params: _Params) -> ListingDay:
    """Simulate one listing-day from its own random stream."""
    venue = listing.venue
    rng = np.random.default_rng([params.seed, venue.code, sess.day.toordinal(), listing.index])
    price = open_price(listing, sess.day, params.seed)
    tick = tick_size(price, venue.us_market)
    target = max(MIN_TRADES, round(params.trades_per_listing * rng.uniform(0.6, 1.4)))
    off_book = round(OFF_BOOK_SHARE * target)
    skeleton = math.ceil(max(1, target - off_book - AUCTION_PRINTS) / LIT_PRINTS_PER_SKELETON_EVENT)
    extra = max(
        1,
        round(
            (params.l3_per_trade * target - L3_ROWS_PER_SKELETON_EVENT * skeleton)
            / L3_ROWS_PER_EXTRA_ORDER
        ),
    )
    top_share = (params.l2_per_trade * target - skeleton) / (L2_ROWS_PER_TOP_EXTRA_ORDER * extra)
    size_scale = LIT_NOTIONAL_EUR / (price * FX_TO_EUR[venue.currency])
    spec = BookSpec(
        best_bid=math.floor(price / tick),
        spread=1,
        max_spread=int(rng.integers(2, 5)),
        skeleton_events=skeleton,
        extra_orders=extra,
        top_share=min(1.0, max(0.02, top_share)),
        size_scale=size_scale,
        round_lot=venue.round_lot,
        auction_open=sess.auction_open,
        continuous_open=sess.continuous_open,
        continuous_close=sess.continuous_close,
    )
    flow = simulate_orders(rng, spec)
    book = snapshots(flow)
    plan = TradePlan(
        off_book=off_book,
        continuous_open=sess.continuous_open,
        continuous_close=sess.continuous_close,
        auction_close=sess.auction_close,
        size_scale=size_scale,
        round_lot=venue.round_lot,
        block_shares=500_000.0 / (price * FX_TO_EUR[venue.currency]),
    )
    trades = trade_prints(rng, flow, book, plan)
    return ListingDay(listing, sess, tick, price, flow, book, trades)


_BUILDERS: tuple[tuple[type[DataTable], Callable[[ListingDay], pl.DataFrame]], ...] = (
    (TradesTable, trades_frame),
    (L2Table, l2_frame),
    (L3Table, l3_frame),
    (MarketStateTable, market_state_frame),
)


def _listing_frames(listing: Listing, sess: Session, params: _Params) -> list[pl.DataFrame]:
    """The trades, L2, L3 and market-state rows of one listing-day."""
    simulated = _simulate(listing, sess, params)
    return [build(simulated) for _, build in _BUILDERS]


def _write_mic_day(
    pool: ThreadPoolExecutor, lake: Lake, listings: list[Listing], sess: Session, params: _Params
) -> dict[type[DataTable], ParquetSink]:
    """Simulate ``listings`` on ``pool`` and stream their rows into the MIC-day's files."""
    mic, day = sess.venue.mic, sess.day
    ahead = 2 * (os.cpu_count() or 1)
    with ExitStack() as stack, ThreadPoolExecutor(len(_BUILDERS)) as writers:
        sinks = {
            table: stack.enter_context(ParquetSink(table.path(lake, mic, day), table.schema()))
            for table, _ in _BUILDERS
        }
        pending: deque[Future[list[pl.DataFrame]]] = deque()
        writes: list[Future[None]] = []

        def write_next() -> None:
            nonlocal writes
            frames = pending.popleft().result()
            for write in writes:
                write.result()
            pairs = zip(sinks.values(), frames, strict=True)
            writes = [writers.submit(sink.write, frame) for sink, frame in pairs]

        for listing in listings:
            pending.append(pool.submit(_listing_frames, listing, sess, params))
            if len(pending) > ahead:
                write_next()
        while pending:
            write_next()
        for write in writes:
            write.result()
    with ParquetSink(ReferenceTable.path(lake, mic, day), ReferenceTable.schema()) as reference:
        reference.write(reference_frame(listings, day))
    return sinks | {ReferenceTable: reference}


def generate_lake(
    root: str | Path,
    start_date: dt.date,
    end_date: dt.date,
    mics: Sequence[str],
    listings: int,
    *,
    trades_per_listing: int = 2000,
    seed: int = 0,
    exclude_weekends: bool = True,
    l2_per_trade: float = 4.0,
    l3_per_trade: float = 8.0,
    progress: Callable[[dt.date, str], None] | None = None,
) -> SampleSummary:
    """Write a synthetic BMLL lake under ``root`` and summarise it; ``progress(day, mic)``
    is called after each day and MIC is written.

    For every trading day and MIC it writes the trades-plus, L2, L3, market-state and reference
    files at the kernel tables' paths, with ``listings`` listings per MIC. Each listing prints
    about ``trades_per_listing`` trades a day (±40% between listings), with about
    ``l2_per_trade`` L2 rows and ``l3_per_trade`` L3 rows per trade. Listings are simulated in
    parallel threads and streamed to the files, one row group per listing, so memory stays
    bounded however many listings there are. Same arguments, same bytes.

    Raises:
        ConfigError: for an empty or reversed date range, unknown or duplicate MICs, fewer than
            one listing or ``MIN_TRADES`` trades, or unreachable row ratios.
    """
    names = _validate(
        start_date, end_date, mics, listings, trades_per_listing, l2_per_trade, l3_per_trade
    )
    lake = Lake(str(root))
    universe = build_listings(names, listings)
    days = trading_days(start_date, end_date, exclude_weekends=exclude_weekends)
    params = _Params(seed, trades_per_listing, l2_per_trade, l3_per_trade)
    files: list[str] = []
    rows = dict.fromkeys(("trades", "l2", "l3", "marketstate", "reference"), 0)
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        for day in days:
            for mic in names:
                mine = [x for x in universe if x.mic == mic]
                written = _write_mic_day(pool, lake, mine, session(get_venue(mic), day), params)
                for table, sink in written.items():
                    files.append(sink.path)
                    rows[table.name] += sink.rows
                if progress is not None:
                    progress(day, mic)
    return SampleSummary(Path(root), tuple(days), names, tuple(files), rows)
