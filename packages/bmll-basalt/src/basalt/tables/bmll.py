"""The BMLL tables read by the kernel: trades, l2, l3, marketstate, reference."""

from __future__ import annotations

import polars as pl

from basalt.tables.base import DataTable

__all__ = [
    "CbboTable",
    "ImbalanceTable",
    "L2Table",
    "L3Table",
    "MarketStateTable",
    "ReferenceTable",
    "TradesTable",
]


class TradesTable(DataTable):
    """BMLL trades-plus: one row per trade print. Adds ``LocalPrice = TradeNotional / Size``."""

    name = "trades"
    folder = "Trades-Plus"
    prefix = "trades-plus-"
    schema_name = "trades-plus"
    timestamp = "TradeTimestamp"
    timestamp_columns = ("TradeTimestampNanoseconds", "TradeTimestamp")
    required_columns = ("ListingId", "TradeTimestamp", "Price", "Size", "TradeNotional")

    @classmethod
    def normalise(cls, frame: pl.LazyFrame) -> pl.LazyFrame:
        price = (pl.col("TradeNotional") / pl.col("Size")).alias("LocalPrice")
        return super().normalise(frame).with_columns(price)


class L2Table(DataTable):
    """BMLL L2: one row per book snapshot, 10 levels per side."""

    name = "l2"
    folder = "Equity"
    prefix = ""
    schema_name = "l2"
    timestamp = "EventTimestamp"
    timestamp_columns = ("TimestampNanoseconds", "EventTimestamp")
    required_columns = ("ListingId", "EventTimestamp", "BidPrice1", "AskPrice1")


class L3Table(DataTable):
    """BMLL L3: one row per order event (``LobAction`` 1 exec, 2 insert, 3 remove, 4 update)."""

    name = "l3"
    folder = "Equity-L3"
    prefix = "l3-"
    schema_name = "l3"
    timestamp = "EventTimestamp"
    timestamp_columns = ("TimestampNanoseconds",)
    required_columns = ("ListingId", "TimestampNanoseconds", "Side", "LobAction", "Price", "Size")


class MarketStateTable(DataTable):
    """BMLL market state: one row per state change of a listing."""

    name = "marketstate"
    folder = "MarketState"
    prefix = "market-state-"
    schema_name = "market-state"
    timestamp = "EventTimestamp"
    timestamp_columns = ("TimestampNanoseconds",)
    required_columns = ("ListingId", "TimestampNanoseconds", "MarketState")


class CbboTable(L2Table):
    """BMLL CBBO: the consolidated book of an instrument across its venues, one row per
    change, in the L2 layout (10 levels per side) without ``MarketState``."""

    name = "cbbo"
    folder = "CBBO"
    prefix = "cbbo-"
    schema_name = "cbbo"
    every_venue_day = False


class ImbalanceTable(DataTable):
    """BMLL auction imbalance feed: indicative prices and quantities during auctions.
    ``EventTimestamp`` is ``TimestampNanoseconds``, else ``Timestamp``."""

    name = "imbalance"
    folder = "Imbalance"
    prefix = "imbalance-"
    schema_name = "imbalance"
    every_venue_day = False
    timestamp = "EventTimestamp"
    timestamp_columns = ("TimestampNanoseconds", "Timestamp")
    required_columns = ("ListingId",)


class ReferenceTable(DataTable):
    """BMLL reference: one row per listing and day (the universe comes from here)."""

    name = "reference"
    folder = "Reference"
    prefix = "reference-"
    schema_name = "reference"
    required_columns = ("ListingId", "MIC")
