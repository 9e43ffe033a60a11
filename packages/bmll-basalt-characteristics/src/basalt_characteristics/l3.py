"""``l3_characteristics``: data-quality flags of BMLL L3 order events per listing and bucket.

An *execution row* has ``LobAction == 1`` or ``OrderExecuted`` true. A row is *in session*
once the listing has shown, on this row or an earlier one of the day (file order), a
``MarketState`` other than null, blank, ``CLOSED`` and ``PRE_OPEN`` (states are compared
trimmed and upper-cased). Flags are true when at least one row of the bucket satisfies the
condition:

- ``L3EventCount`` (Int64): number of L3 rows (order messages).
- ``L3ExecutionCount`` (Int64): number of rows with ``LobAction == 1``.
- ``L3HasExecution``: a row with ``LobAction == 1``.
- ``L3HasOrderExecuted``: a row with ``OrderExecuted`` true.
- ``L3HasContinuousTrading`` / ``L3HasOpeningAuction`` / ``L3HasClosingAuction``: a row with
  ``MarketState`` ``CONTINUOUS_TRADING`` / ``OPENING_AUCTION`` / ``CLOSING_AUCTION``.
- ``L3HasIntradayAuction``: a row whose ``MarketState`` contains ``AUCTION`` and is neither
  the opening nor the closing auction (intraday, volatility, unscheduled auctions).
- ``L3HasPreOpenExecution``: an execution row in state ``PRE_OPEN`` or ``CLOSED`` before the
  session started.
- ``L3HasPostTradeExecution``: an execution row in state ``POST_TRADE``, or ``CLOSED`` after
  the session started.
- ``L3HasMultiRowEvent``: a non-null ``EventNo`` shared by several rows of the bucket.
- ``L3HasTradeId``: a row with a non-blank ``TradeId``.
- ``L3HasUpdates``: a row with ``LobAction == 4``.
- ``L3ExecutedWithOrdersAhead``: an execution row with ``OrdersAhead > 0``.
- ``L3HasReceiveTimestamp``: a row with a non-null, non-zero ``ReceiveTimestamp``.
- ``L3HasNoOpUpdate``: an update (``LobAction == 4``) changing nothing: ``Price == OldPrice``,
  ``Size == OldSize`` and ``OldOrderId`` null or equal to ``OrderId``.
- ``L3SizeAheadOrdersAheadConsistent``: every row has ``SizeAhead`` and ``OrdersAhead`` both
  null, or both set with ``0 <= OrdersAhead <= SizeAhead`` and ``OrdersAhead == 0`` exactly
  when ``SizeAhead == 0``.
- ``L3ExecutedNotAtTopOfBook``: an execution row with ``PriceLevel > 1``.
- ``L3{Column}NonDecreasing`` / ``L3{Column}StrictlyIncreasing`` for ``EventTimestamp``,
  ``EventNo``, ``ExchangeSequenceNo`` and ``BMLLSequenceNo``: the bucket's non-null values, in
  file order, never decrease / always increase; null when the bucket has none. Values are
  compared within a bucket only, never across a bucket boundary.

Locked/crossed-book flags need the best bid and ask, which L3 rows alone do not carry, and
the BMLL L3 schema has no send timestamp: those upstream columns are not produced.
"""

from __future__ import annotations

import polars as pl

from basalt_characteristics.base import Characteristics, has_text, ordered, text

__all__ = ["ORDERED_COLUMNS", "L3Characteristics"]

ORDERED_COLUMNS = ("EventTimestamp", "EventNo", "ExchangeSequenceNo", "BMLLSequenceNo")
OUT_OF_SESSION = ("CLOSED", "PRE_OPEN")
EXECUTION = "_Execution"
IN_SESSION = "_InSession"


class L3Characteristics(Characteristics):
    """Data-quality flags of L3 order events per listing and bucket (``L3Has…``, orderings)."""

    name = "l3_characteristics"
    config_aliases = ("l3_characteristics_analytics",)
    requires = ("l3",)

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
