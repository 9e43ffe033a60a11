"""``l3_characteristics``: data-quality flags of BMLL L3 order events per listing and bucket.

An *execution row* has ``LobAction == 1`` or ``OrderExecuted`` true. A row is *in session*
once the listing has shown, on this row or an earlier one of the day (file order), a
``MarketState`` other than null, blank, ``CLOSED`` and ``PRE_OPEN`` (states are compared
trimmed and upper-cased). A flag is true when at least one row of the bucket satisfies its
condition; the columns and their definitions are in :data:`DOCS`.

Locked/crossed-book flags need the best bid and ask, which L3 rows alone do not carry, and
the BMLL L3 schema has no send timestamp: those upstream columns are not produced.
"""

from __future__ import annotations

import polars as pl

from basalt.analytics.codes import text
from basalt.metrics import MetricDoc
from basalt_characteristics.base import Characteristics, flag_doc, has_text, ordered

__all__ = ["ORDERED_COLUMNS", "L3Characteristics"]

ORDERED_COLUMNS = ("EventTimestamp", "EventNo", "ExchangeSequenceNo", "BMLLSequenceNo")
OUT_OF_SESSION = ("CLOSED", "PRE_OPEN")
EXECUTION = "_Execution"
IN_SESSION = "_InSession"
ORDERING = (
    "Over the bucket's non-null values in file order, within the bucket only; null when "
    "the bucket has none."
)
DOCS = (
    MetricDoc("L3EventCount", "Events", "number of L3 rows (order messages)", ""),
    MetricDoc("L3ExecutionCount", "Events", "number of rows with LobAction 1", ""),
    flag_doc("L3HasExecution", "LobAction 1"),
    flag_doc("L3HasOrderExecuted", "OrderExecuted true"),
    flag_doc("L3HasContinuousTrading", "MarketState CONTINUOUS_TRADING"),
    flag_doc("L3HasOpeningAuction", "MarketState OPENING_AUCTION"),
    flag_doc("L3HasClosingAuction", "MarketState CLOSING_AUCTION"),
    flag_doc(
        "L3HasIntradayAuction",
        "a MarketState containing AUCTION, neither the opening nor the closing auction",
        "Intraday, volatility and unscheduled auctions.",
    ),
    flag_doc("L3HasPreOpenExecution", "an execution in PRE_OPEN or CLOSED before the session"),
    flag_doc("L3HasPostTradeExecution", "an execution in POST_TRADE, or CLOSED after the session"),
    flag_doc("L3HasMultiRowEvent", "a non-null EventNo shared by several rows of the bucket"),
    flag_doc("L3HasTradeId", "a non-blank TradeId"),
    flag_doc("L3HasUpdates", "LobAction 4"),
    flag_doc("L3ExecutedWithOrdersAhead", "an execution with OrdersAhead > 0"),
    flag_doc("L3HasReceiveTimestamp", "a non-null, non-zero ReceiveTimestamp"),
    flag_doc(
        "L3HasNoOpUpdate",
        "an update changing nothing",
        "LobAction 4 with Price == OldPrice, Size == OldSize and OldOrderId null or OrderId.",
    ),
    MetricDoc(
        "L3SizeAheadOrdersAheadConsistent",
        "Flag",
        "true when every row has SizeAhead and OrdersAhead both null, or both set with "
        "0 <= OrdersAhead <= SizeAhead and OrdersAhead == 0 exactly when SizeAhead == 0",
        "",
    ),
    flag_doc("L3ExecutedNotAtTopOfBook", "an execution with PriceLevel > 1"),
    MetricDoc(
        "L3{column}NonDecreasing",
        "Flag",
        "true when {column} never decreases",
        ORDERING,
        {"column": ORDERED_COLUMNS},
    ),
    MetricDoc(
        "L3{column}StrictlyIncreasing",
        "Flag",
        "true when {column} always increases",
        ORDERING,
        {"column": ORDERED_COLUMNS},
    ),
)


class L3Characteristics(Characteristics):
    """Data-quality flags of L3 order events per listing and bucket (``L3Has…``, orderings)."""

    name = "l3_characteristics"
    config_aliases = ("l3_characteristics_analytics",)
    requires = ("l3",)
    docs = DOCS

    def prepare(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        trading = text("MarketState").is_in([*OUT_OF_SESSION, ""]).fill_null(True).not_()
        return frame.with_columns(
            (
                (pl.col("LobAction") == 1).fill_null(False)
                | pl.col("OrderExecuted").fill_null(False)
            ).alias(EXECUTION),
            (trading.cast(pl.Int64).cum_max().over("ListingId") == 1).alias(IN_SESSION),
        )

    @classmethod
    def metrics(cls) -> dict[str, pl.Expr]:
        action = pl.col("LobAction")
        state = text("MarketState")
        execution = pl.col(EXECUTION)
        in_session = pl.col(IN_SESSION)
        orders_ahead, size_ahead = pl.col("OrdersAhead"), pl.col("SizeAhead")
        consistent = (orders_ahead.is_null() & size_ahead.is_null()) | (
            (orders_ahead >= 0)
            & (size_ahead >= orders_ahead)
            & ((orders_ahead == 0) == (size_ahead == 0))
        )
        no_op = (
            (action == 4)
            & (pl.col("Price") == pl.col("OldPrice"))
            & (pl.col("Size") == pl.col("OldSize"))
            & (pl.col("OldOrderId").is_null() | (pl.col("OldOrderId") == pl.col("OrderId")))
        )
        intraday_auction = state.str.contains("AUCTION") & ~state.is_in(
            ["OPENING_AUCTION", "CLOSING_AUCTION"]
        )
        pre_open = execution & state.is_in(OUT_OF_SESSION) & ~in_session
        post_trade = execution & ((state == "POST_TRADE") | ((state == "CLOSED") & in_session))
        return {
            "L3EventCount": pl.len().cast(pl.Int64),
            "L3ExecutionCount": (action == 1).sum().cast(pl.Int64),
            "L3HasExecution": (action == 1).any(),
            "L3HasOrderExecuted": pl.col("OrderExecuted").any(),
            "L3HasContinuousTrading": (state == "CONTINUOUS_TRADING").any(),
            "L3HasOpeningAuction": (state == "OPENING_AUCTION").any(),
            "L3HasClosingAuction": (state == "CLOSING_AUCTION").any(),
            "L3HasIntradayAuction": intraday_auction.any(),
            "L3HasPreOpenExecution": pre_open.any(),
            "L3HasPostTradeExecution": post_trade.any(),
            "L3HasMultiRowEvent": pl.col("EventNo").drop_nulls().is_duplicated().any(),
            "L3HasTradeId": has_text("TradeId").any(),
            "L3HasUpdates": (action == 4).any(),
            "L3ExecutedWithOrdersAhead": (execution & (orders_ahead > 0)).any(),
            "L3HasReceiveTimestamp": (pl.col("ReceiveTimestamp") != 0).any(),
            "L3HasNoOpUpdate": no_op.any(),
            "L3SizeAheadOrdersAheadConsistent": consistent.fill_null(False).all(),
            "L3ExecutedNotAtTopOfBook": (execution & (pl.col("PriceLevel") > 1)).any(),
            **{
                f"L3{column}{label}": ordered(column, strict=strict)
                for column in ORDERED_COLUMNS
                for label, strict in (("NonDecreasing", False), ("StrictlyIncreasing", True))
            },
        }
