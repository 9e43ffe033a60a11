"""``trade``: metrics of trades per listing and time bucket.

Families (each a list of option blocks, every list inside a block expanding to every
combination): generic metrics and flag metrics (:mod:`.generic`, two-stage aggregation),
discrepancy to reference prices, change measures and TCA impact (:mod:`.per_trade`).
Trades without a ``Size`` are ignored; ``market_states`` keeps only trades in those states.
Sides follow the aggressor (:mod:`.selection`). Prices are ``LocalPrice = TradeNotional /
Size`` (local currency); trades without one count in volumes and counts, in no price metric.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import MarketStates, ensure_unique
from basalt.analytics.trade.generic import (
    ALL_TRADES,
    FLAG_DOCS,
    GENERIC_DOCS,
    ROW,
    PartialMetric,
    TradeFlagConfig,
    TradeGenericConfig,
    combined,
)
from basalt.analytics.trade.per_trade import (
    PER_TRADE_DOCS,
    TradeChangeConfig,
    TradeDiscrepancyConfig,
    TradeImpactConfig,
    volatility,
)
from basalt.analytics.trade.selection import side_condition
from basalt.metrics import Column

__all__ = [
    "TradeAnalytic",
    "TradeChangeConfig",
    "TradeConfig",
    "TradeDiscrepancyConfig",
    "TradeFlagConfig",
    "TradeGenericConfig",
    "TradeImpactConfig",
]

CLASSIFIED = "_classified"
PerTrade = tuple[Column, pl.Expr]


def _default_generic() -> list[TradeGenericConfig]:
    return [TradeGenericConfig(measures=["Volume", "Count", "NotionalEUR", "VWAP", "OHLC"])]


class TradeConfig(BaseModel):
    """Options of the ``trade`` analytic."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    classifications: list[str] | None = Field(
        default=["LIT_CONTINUOUS"],
        description="Keep trades of these BMLL Classification values; null keeps all trades. "
        "RetailCount, BlockCount, AuctionNotional, OTCVolume and flag metrics count every "
        "trade of their kind regardless.",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Keep only trades whose MarketState is listed; null keeps all.",
    )
    generic_metrics: list[TradeGenericConfig] = Field(
        default_factory=_default_generic,
        description="Generic metric families (Volume, Count, Notional*, VWAP, OHLC, ...).",
    )
    flag_metrics: list[TradeFlagConfig] = Field(
        default_factory=list,
        description="Volume, count and average notional of flagged trades (negotiated, "
        "block, ...).",
    )
    discrepancy_metrics: list[TradeDiscrepancyConfig] = Field(
        default_factory=list,
        description="Discrepancy of trade prices to reference prices, in basis points.",
    )
    change_metrics: list[TradeChangeConfig] = Field(
        default_factory=list, description="Means of BMLL's PricePoint and elapsed-time measures."
    )
    impact_metrics: list[TradeImpactConfig] = Field(
        default_factory=list,
        description="Effective spread, realized spread and price impact at post-trade horizons.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> TradeConfig:
        ensure_unique(self.output_columns())
        return self

    def output_columns(self) -> list[str]:
        """The metric columns this configuration produces, in order."""
        return [column.name for column in self.columns()]

    def columns(self) -> list[Column]:
        """Every metric column with its doc, in order."""
        return [metric.column for metric in self.partial_metrics()] + [
            column for column, _ in self.per_trade_metrics(bucket_seconds=60.0)
        ]

    def partial_metrics(self) -> list[PartialMetric]:
        """The generic (except Volatility) and flag metrics."""
        metrics = []
        for index, family in enumerate(self.generic_metrics):
            path = f"generic_metrics[{index}]"
            own = (f"_filter{index}",) if family.attribute_filters else ()
            for name, side, measure in family.names(self.metric_prefix):
                if measure == "Volatility":
                    continue
                scope = own if measure in ALL_TRADES else (*own, CLASSIFIED)
                column = Column(name, GENERIC_DOCS[measure], {"side": side}, path)
                metrics.append(PartialMetric(column, measure, side, scope))
        for index, flags in enumerate(self.flag_metrics):
            path = f"flag_metrics[{index}]"
            for name, flag, measure, side in flags.names(self.metric_prefix):
                values = {"flag": flag, "side": side}
                column = Column(name, FLAG_DOCS[measure], values, path)
                metrics.append(PartialMetric(column, measure, side, (), flag))
        return metrics

    def per_trade_metrics(self, bucket_seconds: float) -> list[PerTrade]:
        """Volatility and the discrepancy, change and impact metrics: (column, aggregation)."""
        return list(self._per_trade(bucket_seconds))

    def _per_trade(self, bucket_seconds: float) -> Iterator[PerTrade]:
        for index, family in enumerate(self.generic_metrics):
            own = family.condition()
            for name, side, measure in family.names(self.metric_prefix):
                if measure == "Volatility":
                    conditions = [c for c in (own, side_condition(side)) if c is not None]
                    keep = pl.all_horizontal(conditions) if conditions else None
                    column = Column(
                        name, GENERIC_DOCS[measure], {"side": side}, f"generic_metrics[{index}]"
                    )
                    yield column, volatility(keep, bucket_seconds)
        families: dict[
            str, Sequence[TradeDiscrepancyConfig | TradeChangeConfig | TradeImpactConfig]
        ] = {
            "discrepancy_metrics": self.discrepancy_metrics,
            "change_metrics": self.change_metrics,
            "impact_metrics": self.impact_metrics,
        }
        for key, configs in families.items():
            for index, config in enumerate(configs):
                yield from config.metrics(self.metric_prefix, f"{key}[{index}]")


class TradeAnalytic(Analytic):
    """Trade metrics per listing and time bucket: generic (``Trade{Side}{Measure}``), flag,
    discrepancy, change and impact families."""

    name = "trade"
    config_model = TradeConfig
    config_aliases = ("trade_analytics",)
    requires = ("trades",)
    docs = (*GENERIC_DOCS.values(), *FLAG_DOCS.values(), *PER_TRADE_DOCS.values())

    def columns(self, config: TradeConfig) -> list[Column]:
        return config.columns()

    def compute(self, ctx: AnalyticContext, config: TradeConfig) -> pl.LazyFrame:
        trades = ctx.table("trades").filter(pl.col("Size").is_not_null())
        if config.market_states is not None:
            trades = trades.filter(pl.col("MarketState").is_in(config.market_states))
        classified = (
            pl.col("Classification").is_in(config.classifications).fill_null(False)
            if config.classifications is not None
            else pl.lit(True)
        )
        partial = config.partial_metrics()
        flags = {
            f"_filter{index}": condition
            for index, family in enumerate(config.generic_metrics)
            if (condition := family.condition()) is not None
        }
        if all(CLASSIFIED in m.flags for m in partial):  # only classified trades count
            trades = trades.filter(classified)
            partial = [
                replace(m, flags=tuple(f for f in m.flags if f != CLASSIFIED)) for m in partial
            ]
        else:
            flags[CLASSIFIED] = classified
        # Time order for Open, Close and returns: a stable sort; row numbers break ties.
        trades = (
            trades.sort("ListingId", "TradeTimestamp", maintain_order=True)
            .with_row_index(ROW)
            .with_columns(**flags)
        )
        frames = [combined(trades, partial, KEYS)] if partial else []
        per_trade = config.per_trade_metrics(ctx.bucket.seconds)
        if per_trade:
            rows = trades.filter(CLASSIFIED) if CLASSIFIED in flags else trades
            frames.append(rows.group_by(*KEYS).agg(e.alias(c.name) for c, e in per_trade))
        result = frames[0]
        for frame in frames[1:]:
            result = result.join(frame, on=list(KEYS), how="full", coalesce=True)
        return result.select(*KEYS, *(c.name for c in config.columns()))
