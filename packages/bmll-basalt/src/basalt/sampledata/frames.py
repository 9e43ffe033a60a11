"""Polars frames in the exact BMLL schemas from one simulated listing-day.

Conventions: timestamps are naive UTC; ``Local*`` columns add ``TZOffset`` (minutes); prices are
in the quote currency (GBX pence on XLON); ``TradeNotionalEUR``/``USD`` use the fixed rates of
:mod:`basalt.sampledata.venues`; ``OrderId`` and ``TradeId`` start with the ``ListingId``, so
they are unique per file. Columns without a sensible synthetic value are null. ``*AtPrimary``
columns repeat the venue's values on primary listings and are null on secondary ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from basalt.sampledata.book import LEVELS, Snapshots
from basalt.sampledata.listings import Listing
from basalt.sampledata.orders import EXEC, INSERT, UPDATE, OrderFlow
from basalt.sampledata.trades import CATEGORIES, HORIZONS_MS, LIT, OFF_BOOK, TradePrints
from basalt.sampledata.venues import FX_TO_EUR, FX_TO_USD, Session
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, TradesTable

__all__ = ["ListingDay", "l2_frame", "l3_frame", "market_state_frame", "trades_frame"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Column = pl.Series | npt.NDArray[np.generic] | int | float | str | bool | None
NS_PER_MINUTE = 60_000_000_000
EU_BLOCK_EUR = 500_000.0
US_BLOCK_USD = 200_000.0
RECEIVE_LATENCY_NS = 25_000
_EXCHANGE_STATES = {
    "CLOSED": "Closed",
    "OPENING_AUCTION": "Opening Auction Call",
    "CONTINUOUS_TRADING": "Continuous Trading",
    "CLOSING_AUCTION": "Closing Auction Call",
    "POST_TRADE": "Post-Close",
}


@dataclass(frozen=True)
class ListingDay:
    """Everything simulated for one listing on one day."""

    listing: Listing
    session: Session
    tick: float
    open_price: float
    flow: OrderFlow
    book: Snapshots
    trades: TradePrints

    def price(self, ticks: npt.NDArray[np.generic], per_tick: int = 1) -> F64:
        """Prices of ``ticks`` (``per_tick=2`` for half ticks): the nearest float to the exact
        decimal price, as a tick is a whole fraction (or multiple) of a currency unit."""
        values = np.asarray(ticks, dtype=np.float64)
        if self.tick >= 1.0:
            return values * (self.tick / per_tick)
        return values / (round(1.0 / self.tick) * per_tick)

    def common(self) -> dict[str, Column]:
        """Identifier, currency and date columns shared by the tables."""
        return {
            "ListingId": self.listing.listing_id,
            "InstrumentId": self.listing.instrument_id,
            "Ticker": self.listing.ticker,
            "MIC": self.listing.mic,
            "CurrencyCode": self.listing.venue.currency,
            "TradeDate": pl.Series([self.session.trade_date_ms]).cast(pl.Datetime("ms")),
            "TZOffset": self.session.tz_offset_minutes,
        }

    def time(self, ns: I64, unit: str, *, local: bool = False) -> pl.Series:
        """Epoch-ns ``ns`` as a naive datetime in ``unit``, shifted to venue time if ``local``."""
        shifted = ns + self.session.tz_offset_minutes * NS_PER_MINUTE if local else ns
        ticks = shifted // 1000 if unit == "us" else shifted
        return pl.Series(ticks).cast(pl.Datetime(unit))  # type: ignore[arg-type]

    def ids(self, numbers: I64, width: int) -> pl.Series:
        """Identifier strings ``{ListingId}{number:0{width}d}``."""
        return pl.Series(self.listing.listing_id * 10**width + numbers).cast(pl.String())


def _frame(columns: Mapping[str, Column], schema: pl.Schema, n: int) -> pl.DataFrame:
    """A frame with exactly ``schema``: the given columns (scalars repeated, NaN as null) cast,
    the others null."""
    out = []
    for name, dtype in schema.items():
        value = columns.get(name)
        if isinstance(value, np.ndarray):
            series = pl.Series(name, value, nan_to_null=value.dtype.kind == "f")
        elif isinstance(value, pl.Series):
            series = value if len(value) == n else value.new_from_index(0, n)
        else:
            series = pl.Series([value], dtype=dtype).new_from_index(0, n)
        out.append((series if series.dtype == dtype else series.cast(dtype)).alias(name))
    return pl.DataFrame(out)


def _null_where(
    values: pl.Series | npt.NDArray[np.generic], mask: npt.NDArray[np.bool_]
) -> pl.Series:
    """``values`` with nulls where ``mask``."""
    return pl.Series(values).set(pl.Series(mask), None)


def _pick(values: Sequence[str | None], codes: npt.NDArray[np.generic]) -> pl.Series:
    """Strings picked from ``values`` by integer ``codes``."""
    return pl.Series(values=list(values), dtype=pl.String()).gather(pl.Series(codes))


def trades_frame(d: ListingDay) -> pl.DataFrame:
    """The trades-plus rows of a listing-day."""
    t, book, venue = d.trades, d.book, d.listing.venue
    n = len(t.time)
    pub = t.time + t.publication_delay
    seq = np.arange(1, n + 1, dtype=np.int64)
    price = d.price(t.half_ticks, 2)
    size = t.size.astype(np.float64)
    notional = price * size
    eur, usd = notional * FX_TO_EUR[venue.currency], notional * FX_TO_USD[venue.currency]
    block_notional = US_BLOCK_USD if venue.us_market else EU_BLOCK_EUR
    block_value = usd if venue.us_market else eur
    to_block = (FX_TO_USD if venue.us_market else FX_TO_EUR)[venue.currency]
    bid, ask = book.bid_ticks[0, t.book_row], book.ask_ticks[0, t.book_row]
    lot = venue.round_lot
    lot_code = np.where(size < lot, 1, np.where(size % lot == 0, 0, 2)) if lot > 1 else 0
    retail = (t.category == LIT) & (eur < 2_000.0) & (seq % 7 == 0)
    cols: dict[str, Column] = {
        **d.common(),
        "OPOL": venue.mic,
        "ExecutionVenue": venue.mic,
        "ISOCountryCode": venue.country,
        "InstrumentCurrencyCode": venue.instrument_currency,
        "TradeTimestamp": d.time(t.time, "us"),
        "PublicationTimestamp": d.time(pub, "us"),
        "LocalTradeTimestamp": d.time(t.time, "us", local=True),
        "LocalPublicationTimestamp": d.time(pub, "us", local=True),
        "TradeTimestampNanoseconds": d.time(t.time, "ns"),
        "PublicationTimestampNanoseconds": d.time(pub, "ns"),
        "TradeId": d.ids(seq, 7),
        "ExchangeSequenceNo": seq,
        "BMLLSequenceNo": seq,
        "BMLLSequenceSource": 1,
        "AggressorSide": t.aggressor,
        "Price": price,
        "Size": size,
        "InstrumentCurrencyPrice": price / venue.minor_currency_factor,
        "MinorCurrencyFactor": venue.minor_currency_factor,
        "MarketMechanism": _pick(["1", "1", "1", "3", "4"], t.category),
        "TradingMode": _pick(["2", "O", "K", "2", None], t.category),
        "NegotiatedTrade": _pick(["N", "Y"], (t.category == OFF_BOOK).astype(np.int64)),
        "CrossingTrade": "N",
        "AlgorithmicTrade": _pick(["N", "Y"], (seq % 5 < 2).astype(np.int64)),
        "DuplicativeIndicator": "N",
        "Jurisdiction": venue.jurisdiction,
        "MarketState": _pick([c[2] for c in CATEGORIES], t.category),
        "BMLLTradeType": _pick([c[1] for c in CATEGORIES], t.category),
        "Classification": _pick([c[0] for c in CATEGORIES], t.category),
        "TradeNotional": notional,
        "TradeNotionalEUR": eur,
        "TradeNotionalUSD": usd,
        "BlockSize": float(round(block_notional / (d.open_price * to_block))),
        "BlockNotional": block_notional,
        "BlockNotionalCurrency": "USD" if venue.us_market else "EUR",
        "TradeNotionalBlockBps": block_value / block_notional * 10_000.0,
        "IsBlock": _pick(["N", "Y"], (block_value >= block_notional).astype(np.int64)),
        "LotType": _pick(["Round Lot", "Odd Lot", "Mixed Lot"], np.broadcast_to(lot_code, n)),
        "BMLLParticipantType": _pick(["UNKNOWN", "RETAIL"], retail.astype(np.int64)),
        "BestBidVenue": venue.mic,
        "BestAskVenue": venue.mic,
        "BestBidPrice": d.price(bid),
        "BestAskPrice": d.price(ask),
        "BestBidSize": book.bid_qty[0, t.book_row],
        "BestAskSize": book.ask_qty[0, t.book_row],
        "PricePoint": (t.half_ticks - bid - ask) / (ask - bid),
        "BBORemainingQtyAtVenue": t.bbo_remaining,
        "PostTradeMid": d.price(book.mid_ticks2()[t.post_row], 2),
    }
    cols["ParticipantType"] = cols["BMLLParticipantType"]
    for name in ("BestBidPrice", "BestBidSize", "BestAskPrice", "BestAskSize", "PricePoint"):
        cols[f"{name}AtVenue"] = cols[name]
    for i, h in enumerate(HORIZONS_MS):
        cols[f"PreTradeMid{h}ms"] = d.price(t.pre_mid[:, i], 2)
        cols[f"PostTradeMid{h}ms"] = d.price(t.post_mid[:, i], 2)
    for depth in (1, 3, 10):
        cols[f"PostTradeBestBid{depth}V"] = book.bid_qty[:depth, t.post_row].sum(axis=0)
        cols[f"PostTradeBestAsk{depth}V"] = book.ask_qty[:depth, t.post_row].sum(axis=0)
    schema = TradesTable.schema()
    if d.listing.is_primary:
        for name in list(cols):
            if f"{name}AtPrimary" in schema:
                cols[f"{name}AtPrimary"] = cols[name]
    return _frame(cols, schema, n)


def l2_frame(d: ListingDay) -> pl.DataFrame:
    """The L2 rows of a listing-day: 10 levels per side after each visible book change."""
    b = d.book
    n = len(b.time)
    seq = np.arange(1, n + 1, dtype=np.int64)
    cols: dict[str, Column] = {
        **d.common(),
        "EventTimestamp": d.time(b.time, "us"),
        "LocalTimestamp": d.time(b.time, "us", local=True),
        "TimestampNanoseconds": d.time(b.time, "ns"),
        "L2EventNo": b.event_no,
        "MarketState": _pick(
            ["OPENING_AUCTION", "CONTINUOUS_TRADING"],
            (b.time >= d.session.continuous_open).astype(np.int64),
        ),
        "ExchangeSequenceNo": seq,
        "BMLLSequenceNo": seq,
        "BMLLSequenceSource": 1,
    }
    for side, ticks, qty, orders in (
        ("Bid", b.bid_ticks, b.bid_qty, b.bid_orders),
        ("Ask", b.ask_ticks, b.ask_qty, b.ask_orders),
    ):
        prices = d.price(ticks)
        prices[orders == 0] = np.nan
        for k in range(LEVELS):
            cols[f"{side}Price{k + 1}"] = prices[k]
            cols[f"{side}Quantity{k + 1}"] = qty[k]
            cols[f"{side}NumOrders{k + 1}"] = orders[k]
        cols[f"{side}LevelCount"] = (orders > 0).sum(axis=0)
    return _frame(cols, L2Table.schema(), n)


def l3_frame(d: ListingDay) -> pl.DataFrame:
    """The L3 rows of a listing-day: one per order event."""
    f: OrderFlow = d.flow
    n = len(f.time)
    seq = np.arange(1, n + 1, dtype=np.int64)
    is_exec, inserted = f.action == EXEC, f.action == INSERT
    order_id = d.ids(f.order_id, 8)
    price = d.price(f.price_ticks())
    trade_no = np.zeros(n, np.int64)
    lit = d.trades.l3_row >= 0
    trade_no[d.trades.l3_row[lit]] = np.flatnonzero(lit) + 1
    cols: dict[str, Column] = {
        **d.common(),
        "TimestampNanoseconds": d.time(f.time, "ns"),
        "ReceiveTimestamp": f.time + RECEIVE_LATENCY_NS + (seq % 97) * 100,
        "EventNo": f.event_no,
        "Side": f.side + 1,
        "LobAction": f.action,
        "OriginalOrderId": order_id,
        "OrderId": order_id,
        "Price": price,
        "Size": f.size,
        "OldPrice": np.where(inserted, np.nan, price),
        "OldSize": _null_where(f.old_size, inserted),
        "OldOrderId": _null_where(order_id, f.action != UPDATE),
        "OrderExecuted": is_exec,
        "ExecutionPrice": np.where(is_exec, price, np.nan),
        "ExecutionSize": _null_where(f.exec_size, ~is_exec),
        "TradeId": _null_where(d.ids(trade_no, 7), ~is_exec),
        "PriceLevel": f.level,
        "OldPriceLevel": _null_where(f.level, inserted),
        "SizeAhead": f.size_ahead,
        "OrdersAhead": f.orders_ahead,
        "PosChange": _null_where(np.zeros(n, bool), f.action != UPDATE),
        "EndOfEvent": f.end_of_event,
        "MarketState": _pick(
            ["OPENING_AUCTION", "CONTINUOUS_TRADING"],
            (f.time >= d.session.continuous_open).astype(np.int64),
        ),
        "Printable": is_exec,
        "ExchangeSequenceNo": seq,
        "BMLLSequenceNo": seq,
        "BMLLSequenceSource": 1,
    }
    return _frame(cols, L3Table.schema(), n)


def market_state_frame(d: ListingDay) -> pl.DataFrame:
    """The market-state rows of a listing-day: its session's state changes."""
    states = Session.STATES
    n = len(states)
    seq = np.arange(1, n + 1, dtype=np.int64)
    cols: dict[str, Column] = {
        "TimestampNanoseconds": d.time(np.array(d.session.times, dtype=np.int64), "ns"),
        "MarketState": pl.Series(states),
        "MIC": d.listing.mic,
        "ExchangeMarketState": pl.Series([_EXCHANGE_STATES[s] for s in states]),
        "ListingId": d.listing.listing_id,
        "InstrumentId": d.listing.instrument_id,
        "ExchangeSequenceNo": seq,
        "BMLLSequenceNo": seq,
        "BMLLSequenceSource": 1,
    }
    return _frame(cols, MarketStateTable.schema(), n)
