"""``trade``: volumes, counts, notionals, VWAP and OHLC of trades per listing and bucket.

Sums are exact (fixed point, see :mod:`basalt.analytics.sums`), so results do not depend on
the order polars adds in.

Sides follow the aggressor: ``Ask`` = buyer-initiated trades (``AggressorSide == 1``, they
lift the ask), ``Bid`` = seller-initiated (``== 2``), ``Unknown`` (``== 0``), ``Total`` = all.
Prices are ``LocalPrice = TradeNotional / Size`` (local currency).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import OHLC_PARTS, as_list, ensure_unique
from basalt.analytics.sums import exact_sum

__all__ = ["TradeAnalytic", "TradeConfig", "TradeGenericConfig"]

Side = Literal["Bid", "Ask", "Total", "Unknown"]
Measure = Literal[
    "Volume",
    "Count",
    "Notional",
    "NotionalEUR",
    "NotionalUSD",
    "VWAP",
    "OHLC",
    "AvgPrice",
    "MedianPrice",
]
Scalar = str | int | float | bool

SIDE_CODES: dict[str, int | None] = {"Ask": 1, "Bid": 2, "Unknown": 0, "Total": None}


class TradeGenericConfig(BaseModel):
    """One family of generic trade metrics: every side × every measure."""

    model_config = ConfigDict(extra="forbid")

    sides: Annotated[list[Side], BeforeValidator(as_list)] = Field(
        default=["Total"], min_length=1, description="Aggressor sides: Bid, Ask, Unknown, Total."
    )
    measures: Annotated[list[Measure], BeforeValidator(as_list)] = Field(
        min_length=1, description="Measures to compute for each side."
    )
    attribute_filters: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="Keep only trades whose column equals the value (or is in the list).",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {side} and {measure}; default Trade{side}{measure}.",
    )

    def names(self, prefix: str) -> Iterator[tuple[str, str, str]]:
        """(column name, side, measure) for every metric; OHLC yields its four parts."""
        pattern = self.output_name_pattern or "Trade{side}{measure}"
        for side in self.sides:
            for measure in self.measures:
                for part in OHLC_PARTS if measure == "OHLC" else (measure,):
                    yield prefix + pattern.format(side=side, measure=part), side, part


def _default_generic() -> list[TradeGenericConfig]:
    return [TradeGenericConfig(measures=["Volume", "Count", "NotionalEUR", "VWAP", "OHLC"])]


class TradeConfig(BaseModel):
    """Options of the ``trade`` analytic."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    classifications: list[str] | None = Field(
        default=["LIT_CONTINUOUS"],
        description="Keep trades of these BMLL Classification values; null keeps all trades.",
    )
    generic_metrics: list[TradeGenericConfig] = Field(
        default_factory=_default_generic,
        description="Generic metric families (Volume, Count, Notional*, VWAP, OHLC, ...).",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> TradeConfig:
        ensure_unique(self.output_columns())
        return self

    def output_columns(self) -> list[str]:
        """The metric columns this configuration produces, in order."""
        return [
            n for family in self.generic_metrics for n, _, _ in family.names(self.metric_prefix)
        ]


def _filter(family: TradeGenericConfig, side: str) -> pl.Expr:
    condition = pl.col("Size").is_not_null()
    code = SIDE_CODES[side]
    if code is not None:
        condition &= pl.col("AggressorSide") == code
    for column, value in family.attribute_filters.items():
        condition &= (
            pl.col(column).is_in(value) if isinstance(value, list) else pl.col(column) == value
        )
    return condition


def _total(column: str, keep: pl.Expr) -> pl.Expr:
    """Σ ``column`` over the kept trades: 0 without trades, null when all values are null."""
    values = pl.col(column).filter(keep)
    return (
        pl.when(values.len() == 0)
        .then(pl.lit(0.0))
        .when(values.count() > 0)
        .then(exact_sum(values))
    )


def _measure(measure: str, keep: pl.Expr) -> pl.Expr:
    priced = keep & pl.col("LocalPrice").is_finite()
    price = pl.col("LocalPrice").filter(priced)
    match measure:
        case "Volume":
            return _total("Size", keep)
        case "Count":
            return keep.sum().cast(pl.Int64)
        case "Notional":
            return _total("TradeNotional", keep)
        case "NotionalEUR":
            return _total("TradeNotionalEUR", keep)
        case "NotionalUSD":
            return _total("TradeNotionalUSD", keep)
        case "VWAP":
            volume = exact_sum(pl.col("Size").filter(priced))
            value = exact_sum((pl.col("LocalPrice") * pl.col("Size")).filter(priced))
            return pl.when(volume > 0).then(value / volume)
        case "AvgPrice":
            return exact_sum(price) / price.count()
        case "MedianPrice":
            return price.median()
        case "Open":
            return price.first()
        case "High":
            return price.max()
        case "Low":
            return price.min()
        case "Close":
            return price.last()
    raise AssertionError(measure)


class TradeAnalytic(Analytic):
    """Generic trade metrics per listing and time bucket (``Trade{Side}{Measure}``)."""

    name = "trade"
    config_model = TradeConfig
    config_aliases = ("trade_analytics",)
    requires = ("trades",)

    def compute(self, ctx: AnalyticContext, config: TradeConfig) -> pl.LazyFrame:
        trades = ctx.table("trades")
        if config.classifications is not None:
            trades = trades.filter(pl.col("Classification").is_in(config.classifications))
        # OHLC takes first/last in time: order each listing's trades by timestamp (stable).
        trades = trades.sort("ListingId", "TradeTimestamp", maintain_order=True)
        aggregations = [
            _measure(measure, _filter(family, side)).alias(name)
            for family in config.generic_metrics
            for name, side, measure in family.names(config.metric_prefix)
        ]
        return trades.group_by(*KEYS).agg(aggregations)
