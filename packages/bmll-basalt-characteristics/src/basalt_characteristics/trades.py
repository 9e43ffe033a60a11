"""``trade_characteristics``: data-quality flags of BMLL trades per listing and time bucket.

Every trade row of the bucket counts (no Classification filter). Flags are true when at
least one row of the bucket satisfies the condition:

- ``TradeEventCount`` (Int64): number of trade rows.
- ``TradeVolume`` (Float64): sum of ``Size`` (net of cancellations, which have ``Size < 0``).
- ``TradeHasZeroSize``: a row with ``Size == 0``.
- ``TradeHasCancellations``: a row with ``Size < 0``.
- ``TradeHasUnknownAggressorSide``: a row with ``AggressorSide`` 0 or null.
- ``TradeHasKnownAggressorSide``: a row with ``AggressorSide`` 1 or 2.
- ``TradeHasUnknownType``: a row whose ``BMLLTradeType`` is null, blank or ``UNKNOWN``.
- ``TradeHasUnknownMarketState``: a row whose ``MarketState`` is null, blank or ``UNKNOWN``.
- ``TradeHasLitTrades``: a row whose ``BMLLTradeType`` is ``LIT``.
- ``TradePubEqualsTradeTimestampRatio`` (Float64): share of rows with both timestamps whose
  publication timestamp equals the trade timestamp; null when no row has both.
- ``TradePubTradeTimestampAvgDiffS`` (Float64): mean of publication minus trade timestamp,
  in seconds, over rows with both; null when none.
- ``TradeHasMultipleExecutionVenues``: more than one distinct non-null ``ExecutionVenue``.
- ``TradeHasCrossingTrade`` / ``TradeHasNegotiatedTrade`` / ``TradeHasAlgorithmicTrade`` /
  ``TradeHasBlockTrade``: a row whose ``CrossingTrade`` / ``NegotiatedTrade`` /
  ``AlgorithmicTrade`` / ``IsBlock`` flag is set
  (see :func:`basalt_characteristics.base.flag_set`).
- ``TradeHasTradeId``: a row with a non-blank ``TradeId``.

Timestamps are compared at the finest precision present: the ``*Nanoseconds`` columns when
set, else the microsecond ones.
"""

from __future__ import annotations

import polars as pl

from basalt_characteristics.base import Characteristics, flag_set, has_text, is_unknown, text

__all__ = ["TradeCharacteristics"]

NS = pl.Datetime("ns")
FLAGS = {
    "TradeHasCrossingTrade": "CrossingTrade",
    "TradeHasNegotiatedTrade": "NegotiatedTrade",
    "TradeHasAlgorithmicTrade": "AlgorithmicTrade",
    "TradeHasBlockTrade": "IsBlock",
}


class TradeCharacteristics(Characteristics):
    """Data-quality flags of trades per listing and bucket (``TradeHas…``, counts, ratios)."""

    name = "trade_characteristics"
    config_aliases = ("trade_characteristics_analytics",)
    requires = ("trades",)

    @classmethod
    def metrics(cls) -> dict[str, pl.Expr]:
        size = pl.col("Size")
        side = pl.col("AggressorSide")
        published = pl.coalesce(
            pl.col("PublicationTimestampNanoseconds").cast(NS),
            pl.col("PublicationTimestamp").cast(NS),
        )
        traded = pl.col("TradeTimestamp").cast(NS)
        delay_ns = (published - traded).dt.total_nanoseconds()
        return {
            "TradeEventCount": pl.len().cast(pl.Int64),
            "TradeVolume": size.sum().cast(pl.Float64),
            "TradeHasZeroSize": (size == 0).any(),
            "TradeHasCancellations": (size < 0).any(),
            "TradeHasUnknownAggressorSide": (side == 0).fill_null(True).any(),
            "TradeHasKnownAggressorSide": side.is_in([1, 2]).fill_null(False).any(),
            "TradeHasUnknownType": is_unknown("BMLLTradeType").any(),
            "TradeHasUnknownMarketState": is_unknown("MarketState").any(),
            "TradeHasLitTrades": (text("BMLLTradeType") == "LIT").any(),
            "TradePubEqualsTradeTimestampRatio": (published == traded).cast(pl.Float64).mean(),
            "TradePubTradeTimestampAvgDiffS": delay_ns.mean() / 1e9,
            "TradeHasMultipleExecutionVenues": pl.col("ExecutionVenue").drop_nulls().n_unique() > 1,
            **{name: flag_set(column).any() for name, column in FLAGS.items()},
            "TradeHasTradeId": has_text("TradeId").any(),
        }
