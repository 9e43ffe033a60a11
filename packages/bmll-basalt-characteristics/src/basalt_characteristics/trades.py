"""``trade_characteristics``: data-quality flags of BMLL trades per listing and time bucket.

Every trade row of the bucket counts (no Classification filter); a flag is true when at
least one row of the bucket satisfies its condition. Timestamps are compared at the finest
precision present: the ``*Nanoseconds`` columns when set, else the microsecond ones. The
columns and their definitions are in :data:`DOCS`.
"""

from __future__ import annotations

import polars as pl

from basalt.analytics.codes import FALSE_MARKERS, flag_set, text
from basalt.metrics import MetricDoc
from basalt_characteristics.base import Characteristics, flag_doc, has_text, is_unknown

__all__ = ["TradeCharacteristics"]

NS = pl.Datetime("ns")
FLAGS = {
    "TradeHasCrossingTrade": "CrossingTrade",
    "TradeHasNegotiatedTrade": "NegotiatedTrade",
    "TradeHasAlgorithmicTrade": "AlgorithmicTrade",
    "TradeHasBlockTrade": "IsBlock",
}
DOCS = (
    MetricDoc("TradeEventCount", "Trades", "number of trade rows", "Every row counts."),
    MetricDoc("TradeVolume", "Shares", "Σ Size", "Net of cancellations, which have Size < 0."),
    flag_doc("TradeHasZeroSize", "Size == 0"),
    flag_doc("TradeHasCancellations", "Size < 0"),
    flag_doc("TradeHasUnknownAggressorSide", "AggressorSide 0 or null"),
    flag_doc("TradeHasKnownAggressorSide", "AggressorSide 1 or 2"),
    flag_doc("TradeHasUnknownType", "BMLLTradeType null, blank or UNKNOWN"),
    flag_doc("TradeHasUnknownMarketState", "MarketState null, blank or UNKNOWN"),
    flag_doc("TradeHasLitTrades", "BMLLTradeType LIT"),
    MetricDoc(
        "TradePubEqualsTradeTimestampRatio",
        "Fraction",
        "share of the rows with both timestamps whose publication timestamp equals the "
        "trade timestamp",
        "Null when no row has both.",
    ),
    MetricDoc(
        "TradePubTradeTimestampAvgDiffS",
        "Seconds",
        "mean of publication minus trade timestamp over the rows with both",
        "Null when no row has both.",
    ),
    MetricDoc(
        "TradeHasMultipleExecutionVenues",
        "Flag",
        "more than one distinct non-null ExecutionVenue in the bucket",
        "",
    ),
    *(
        flag_doc(name, f"the {column} flag set", f"Not set: null, {', '.join(FALSE_MARKERS)}.")
        for name, column in FLAGS.items()
    ),
    flag_doc("TradeHasTradeId", "a non-blank TradeId"),
)


class TradeCharacteristics(Characteristics):
    """Data-quality flags of trades per listing and bucket (``TradeHas…``, counts, ratios)."""

    name = "trade_characteristics"
    config_aliases = ("trade_characteristics_analytics",)
    requires = ("trades",)
    docs = DOCS

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
