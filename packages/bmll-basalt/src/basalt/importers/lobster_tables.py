"""LOBSTER messages and books of one day as BMLL trades, l2, l3, market state and reference.

Conventions:

* ``ListingId`` (and ``InstrumentId``) = CRC-32 of ``"MIC:TICKER"`` (UTF-8), a stable Int64.
* Message times are New York time; ``TimestampNanoseconds`` and the other event timestamps are
  naive UTC, ``Local*`` columns New York time and ``TZOffset`` = local minus UTC in minutes
  (-240 in summer). The offset of a file is that of its start time (trading never spans a
  daylight-saving switch).
* ``EventNo`` / ``BMLLSequenceNo`` / ``L2EventNo`` number the messages of a listing and day
  from 1; ``TradeId`` is ``TICKER-YYYYMMDD-EventNo`` in both trades and l3.
* Trades are executions of visible (type 4) and hidden (type 5) orders; executing a sell order
  is a buyer-initiated trade (``AggressorSide`` 1), executing a buy order seller-initiated (2).
  Best bid/ask are those of the book before the message (the orderbook file's previous row;
  null for a file's first message). ``PricePoint`` (= ``PricePointAtVenue``) places the price
  in that spread: (Price − BestBidPrice) / (BestAskPrice − BestBidPrice), 0 at the bid and 1
  at the ask; null without both best prices or when they are locked or crossed.
* L3 ``Size`` is the order's resting size after the event and ``OldSize`` the size before;
  both are null where the order was entered before the data starts, except for removals
  (their message size is the removed size).
* Halt messages (type 7) set the market state: price -1 ``HALTED``, 0 ``QUOTING`` (quotes,
  no trading), 1 ``CONTINUOUS_TRADING``; a file's window opens with ``CONTINUOUS_TRADING``
  and closes with ``CLOSED``.
* L2 keeps the first 10 levels, at a file's first message and at the messages after which
  those levels changed; order counts are unknown (null), and so are levels beyond the file's
  depth. Empty levels (LOBSTER's dummy prices) have a null price and quantity.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import polars as pl

from basalt.importers.lobster_files import (
    BOOK_FIELDS,
    MAX_LEVELS,
    PRICE_SCALE,
    LobsterSource,
    book_columns,
    dollars,
)
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable

__all__ = ["NEW_YORK", "conform", "convert_day", "listing_id", "tz_offset_minutes"]

NEW_YORK = ZoneInfo("America/New_York")
NS = pl.Datetime("ns")
US = pl.Datetime("us")
MS = pl.Datetime("ms")
NS_PER_MS = 1_000_000
NS_PER_MINUTE = 60_000_000_000
CONTINUOUS = "CONTINUOUS_TRADING"
HALT_STATES = {-1: "HALTED", 0: "QUOTING", 1: CONTINUOUS}
ALL_BOOK_COLUMNS = [f"{f}{i}" for i in range(1, MAX_LEVELS + 1) for f in BOOK_FIELDS]
BEST_QUOTES = {
    "BestBidPrice": "BidPrice1",
    "BestBidSize": "BidQuantity1",
    "BestAskPrice": "AskPrice1",
    "BestAskSize": "AskQuantity1",
}


def listing_id(mic: str, ticker: str) -> int:
    """The ``ListingId`` of ``ticker`` on ``mic``: CRC-32 of ``"MIC:TICKER"``."""
    return zlib.crc32(f"{mic}:{ticker}".encode())


def tz_offset_minutes(day: dt.date, ms_after_midnight: int) -> int:
    """New York's offset from UTC, in minutes, at a local time of ``day``."""
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(milliseconds=ms_after_midnight)
    aware = local.replace(tzinfo=NEW_YORK)
    return int((aware.replace(tzinfo=dt.UTC) - aware).total_seconds()) // 60


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly the columns and dtypes of ``schema``, absent columns as nulls."""
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in schema.items()
    )


class _Clock:
    """Converts a file's local times (ns after midnight) to naive UTC and local datetimes."""

    def __init__(self, source: LobsterSource) -> None:
        day = source.message.day
        self.midnight_ns = (day - dt.date(1970, 1, 1)).days * 86_400 * 1_000_000_000
        self.offset = tz_offset_minutes(day, source.message.start_ms)

    def utc(self, ns_after_midnight: int) -> int:
        return self.midnight_ns + ns_after_midnight - self.offset * NS_PER_MINUTE


def _events(source: LobsterSource, frame: pl.DataFrame, mic: str) -> pl.DataFrame:
    """One source's messages with listing, time and pre-event best-quote columns."""
    clock = _Clock(source)
    local = pl.lit(clock.midnight_ns) + pl.col("Nanos")
    book = book_columns(source.orderbook.level) if source.orderbook else []
    if book:
        best = [
            pl.col(col).shift(1).cast(pl.Float64).alias(name) for name, col in BEST_QUOTES.items()
        ]
        first = pl.int_range(pl.len()) == 0
        changed = pl.any_horizontal(
            first, *(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in book)
        )
    else:
        best = [pl.lit(None, pl.Float64).alias(name) for name in BEST_QUOTES]
        changed = pl.lit(False)
    day = dt.datetime.combine(source.message.day, dt.time())
    return frame.with_columns(
        pl.lit(source.message.ticker).alias("Ticker"),
        pl.lit(listing_id(mic, source.message.ticker), pl.Int64).alias("ListingId"),
        pl.lit(day, MS).alias("TradeDate"),
        pl.lit(clock.offset, pl.Int32).alias("TZOffset"),
        local.cast(NS).alias("LocalTimestamp"),
        (local - clock.offset * NS_PER_MINUTE).cast(NS).alias("TimestampNanoseconds"),
        changed.alias("BookChanged"),
        *best,
    )


def _trade_id() -> pl.Expr:
    day = pl.col("TradeDate").dt.strftime("%Y%m%d")
    return pl.concat_str([pl.col("Ticker"), day, pl.col("EventNo")], separator="-")


def _price_point() -> pl.Expr:
    """Where the message's price lies in the spread before it: 0 at the best bid, 1 at the
    best ask; null without both best prices or with a locked or crossed book. Computed on
    LOBSTER's integer prices, so the ratio is rounded once."""
    bid = (pl.col("BestBidPrice") * PRICE_SCALE).round()
    spread = (pl.col("BestAskPrice") * PRICE_SCALE).round() - bid
    return pl.when(spread > 0).then((pl.col("Price") - bid) / spread)


def _trades(events: pl.DataFrame, mic: str) -> pl.DataFrame:
    price = dollars(pl.col("Price"))
    size = pl.col("Size").cast(pl.Float64)
    notional = price * size
    return events.filter(pl.col("Type").is_in((4, 5))).select(
        "Ticker",
        pl.lit(mic).alias("MIC"),
        "ListingId",
        pl.col("ListingId").alias("InstrumentId"),
        "TradeDate",
        pl.col("TimestampNanoseconds").cast(US).alias("TradeTimestamp"),
        pl.col("LocalTimestamp").cast(US).alias("LocalTradeTimestamp"),
        pl.col("TimestampNanoseconds").alias("TradeTimestampNanoseconds"),
        "TZOffset",
        _trade_id().alias("TradeId"),
        pl.col("EventNo").alias("BMLLSequenceNo"),
        pl.when(pl.col("Direction") == -1).then(1).otherwise(2).alias("AggressorSide"),
        price.alias("Price"),
        size.alias("Size"),
        pl.lit("USD").alias("CurrencyCode"),
        pl.lit("USD").alias("InstrumentCurrencyCode"),
        pl.lit(mic).alias("ExecutionVenue"),
        pl.when(pl.col("Type") == 4)
        .then(pl.lit("VISIBLE_EXECUTION"))
        .otherwise(pl.lit("HIDDEN_EXECUTION"))
        .alias("OriginalTradeType"),
        "MarketState",
        pl.lit("LIT").alias("BMLLTradeType"),
        pl.lit("LIT_CONTINUOUS").alias("Classification"),
        notional.alias("TradeNotional"),
        notional.alias("TradeNotionalUSD"),
        *BEST_QUOTES,
        *(pl.col(name).alias(f"{name}AtVenue") for name in BEST_QUOTES),
        _price_point().alias("PricePoint"),
        _price_point().alias("PricePointAtVenue"),
        pl.lit(mic).alias("BestBidVenue"),
        pl.lit(mic).alias("BestAskVenue"),
    )


def _l3(events: pl.DataFrame) -> pl.DataFrame:
    kind = pl.col("Type")
    order = ["ListingId", "OrderNo"]
    delta = pl.when(kind == 1).then(pl.col("Size")).otherwise(-pl.col("Size"))
    after = pl.when((kind.first() == 1).over(order)).then(delta.cum_sum().over(order))
    price = dollars(pl.col("Price"))
    executed = kind == 4
    return events.filter(kind.is_in((1, 2, 3, 4))).select(
        "Ticker",
        "ListingId",
        pl.col("ListingId").alias("InstrumentId"),
        "TradeDate",
        "TimestampNanoseconds",
        "EventNo",
        pl.when(pl.col("Direction") == 1).then(1).otherwise(2).alias("Side"),
        kind.replace_strict({1: 2, 2: 4, 3: 3, 4: 1}, return_dtype=pl.Int64).alias("LobAction"),
        price.alias("Price"),
        pl.when(kind == 1)
        .then(pl.col("Size"))
        .when(kind == 3)
        .then(0)
        .otherwise(after)
        .alias("Size"),
        pl.col("OrderNo").cast(pl.String).alias("OrderId"),
        pl.when(kind != 1).then(price).alias("OldPrice"),
        pl.when(kind == 3)
        .then(pl.col("Size"))
        .when(kind != 1)
        .then(after - delta)
        .alias("OldSize"),
        executed.alias("OrderExecuted"),
        pl.when(executed).then(price).alias("ExecutionPrice"),
        pl.when(executed).then(pl.col("Size")).alias("ExecutionSize"),
        pl.when(executed).then(_trade_id()).alias("TradeId"),
        "MarketState",
        pl.col("EventNo").alias("BMLLSequenceNo"),
    )


def _l2(events: pl.DataFrame, mic: str) -> pl.DataFrame:
    return events.filter("BookChanged").select(
        "TradeDate",
        pl.col("TimestampNanoseconds").cast(US).alias("EventTimestamp"),
        pl.col("LocalTimestamp").cast(US),
        "TimestampNanoseconds",
        "TZOffset",
        *(c for c in ALL_BOOK_COLUMNS if c in events.columns),
        pl.col("EventNo").alias("L2EventNo"),
        pl.lit(mic).alias("MIC"),
        "Ticker",
        "ListingId",
        pl.lit("USD").alias("CurrencyCode"),
        "MarketState",
        pl.col("EventNo").alias("BMLLSequenceNo"),
    )


def _market_state(events: pl.DataFrame, sources: Sequence[LobsterSource], mic: str) -> pl.DataFrame:
    rows: list[tuple[int, int, str, int]] = []
    for source in sources:
        clock, file = _Clock(source), source.message
        lid = listing_id(mic, file.ticker)
        rows.append((lid, clock.utc(file.start_ms * NS_PER_MS), CONTINUOUS, 1))
        rows.append((lid, clock.utc(file.end_ms * NS_PER_MS), "CLOSED", 0))
    schema = {"ListingId": pl.Int64, "Time": pl.Int64, "MarketState": pl.String, "Rank": pl.Int8}
    windows = pl.DataFrame(rows, schema=schema, orient="row").select(
        "ListingId", pl.col("Time").cast(NS).alias("TimestampNanoseconds"), "MarketState", "Rank"
    )
    halts = events.filter(pl.col("Type") == 7).select(
        "ListingId", "TimestampNanoseconds", "MarketState", pl.lit(2, pl.Int8).alias("Rank")
    )
    keys = ["ListingId", "TimestampNanoseconds"]
    states = (
        pl.concat([windows, halts])
        .sort([*keys, "Rank"], maintain_order=True)
        .unique(keys, keep="last", maintain_order=True)
    )
    previous = pl.col("MarketState").shift(1).over("ListingId")
    return states.filter(pl.col("MarketState").ne_missing(previous)).select(
        "TimestampNanoseconds",
        "MarketState",
        pl.lit(mic).alias("MIC"),
        "ListingId",
        pl.col("ListingId").alias("InstrumentId"),
    )


def _reference(sources: Sequence[LobsterSource], mic: str) -> pl.DataFrame:
    tickers = sorted({s.message.ticker for s in sources})
    day = dt.datetime.combine(sources[0].message.day, dt.time())
    return pl.DataFrame(
        {"ListingId": [listing_id(mic, t) for t in tickers], "Ticker": tickers}
    ).with_columns(
        pl.col("ListingId").alias("InstrumentId"),
        pl.lit("USD").alias("CurrencyCode"),
        pl.lit(True).alias("IsAlive"),
        pl.lit(True).alias("IsPrimary"),
        pl.lit(mic).alias("MIC"),
        pl.lit(day, MS).alias("Date"),
    )


def convert_day(
    sources: Sequence[tuple[LobsterSource, pl.DataFrame]], mic: str
) -> dict[type[DataTable], pl.DataFrame]:
    """The BMLL tables of one day from its sources (each with its frame from ``read_source``),
    in the exact BMLL schemas; l2 only holds listings with an orderbook file."""
    ordered = sorted(sources, key=lambda pair: pair[0].message.key)
    halt_state = pl.when(pl.col("Type") == 7).then(
        pl.col("Price").replace_strict(HALT_STATES, default=None, return_dtype=pl.String)
    )
    events = pl.concat(
        [_events(source, frame, mic) for source, frame in ordered], how="diagonal_relaxed"
    ).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("ListingId").alias("EventNo"),
        halt_state.forward_fill().over("ListingId").fill_null(CONTINUOUS).alias("MarketState"),
    )
    plain = [source for source, _ in ordered]
    tables: dict[type[DataTable], pl.DataFrame] = {
        TradesTable: _trades(events, mic),
        L2Table: _l2(events, mic),
        L3Table: _l3(events),
        MarketStateTable: _market_state(events, plain, mic),
        ReferenceTable: _reference(plain, mic),
    }
    return {table: conform(frame, table.schema()) for table, frame in tables.items()}
