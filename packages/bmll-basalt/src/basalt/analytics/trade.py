"""``trade``: volumes, counts, notionals, VWAP and OHLC of trades per listing and bucket.

Computed in two stages: trades are aggregated per listing, bucket and aggressor side (and
attribute-filter flags) into partials — fixed-point sums (see :mod:`basalt.analytics.sums`),
counts, first and last prices with their row numbers — which are then combined into every
requested side, so the trades are read once however many sides and families are asked for.
Fixed-point sums are exact, so results do not depend on the order polars adds in. Trades
without a ``Size`` are ignored.

Sides follow the aggressor: ``Ask`` = buyer-initiated trades (``AggressorSide == 1``, they
lift the ask), ``Bid`` = seller-initiated (``== 2``), ``Unknown`` (``== 0``), ``Total`` = all.
Prices are ``LocalPrice = TradeNotional / Size`` (local currency).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import OHLC_PARTS, as_list, ensure_unique
from basalt.analytics.sums import fixed_point
from basalt.metrics import Column, MetricDoc

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
SIDES_NOTE = (
    "Sides follow the aggressor: Ask = buyer-initiated trades (AggressorSide 1), Bid = "
    "seller-initiated (2), Unknown (0), Total = all. Only the trades of `classifications` "
    "(lit continuous by default) and of the family's `attribute_filters` count."
)


def _doc(measure: str, unit: str, definition: str, description: str = "") -> MetricDoc:
    return MetricDoc(
        f"Trade{{side}}{measure}",
        unit,
        definition,
        f"{description} {SIDES_NOTE}".strip(),
        {"side": tuple(SIDE_CODES)},
    )


PRICE_NOTE = "LocalPrice = TradeNotional / Size, in the listing's currency."
DOCS = {
    "Volume": _doc("Volume", "Shares", "Σ Size of the bucket's {side} trades", "0 without trades."),
    "Count": _doc("Count", "Trades", "number of the bucket's {side} trades"),
    "Notional": _doc("Notional", "XLOC", "Σ TradeNotional of the bucket's {side} trades"),
    "NotionalEUR": _doc("NotionalEUR", "EUR", "Σ TradeNotionalEUR of the bucket's {side} trades"),
    "NotionalUSD": _doc("NotionalUSD", "USD", "Σ TradeNotionalUSD of the bucket's {side} trades"),
    "VWAP": _doc(
        "VWAP",
        "XLOC",
        "Σ (LocalPrice · Size) / Σ Size over the bucket's {side} trades",
        f"Volume-weighted, never an arithmetic mean. {PRICE_NOTE}",
    ),
    "AvgPrice": _doc(
        "AvgPrice", "XLOC", "mean LocalPrice of the bucket's {side} trades", PRICE_NOTE
    ),
    "MedianPrice": _doc(
        "MedianPrice", "XLOC", "median LocalPrice of the bucket's {side} trades", PRICE_NOTE
    ),
    "Open": _doc("Open", "XLOC", "LocalPrice of the bucket's first {side} trade", PRICE_NOTE),
    "High": _doc("High", "XLOC", "highest LocalPrice of the bucket's {side} trades", PRICE_NOTE),
    "Low": _doc("Low", "XLOC", "lowest LocalPrice of the bucket's {side} trades", PRICE_NOTE),
    "Close": _doc("Close", "XLOC", "LocalPrice of the bucket's last {side} trade", PRICE_NOTE),
}
"""The documentation of every trade measure (OHLC by part)."""


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


SIDE = "AggressorSide"
ROW = "_row"
SUMMED = {
    "Volume": "Size",
    "Notional": "TradeNotional",
    "NotionalEUR": "TradeNotionalEUR",
    "NotionalUSD": "TradeNotionalUSD",
}


def _partials(measures: set[str]) -> dict[str, pl.Expr]:
    """Stage 1: per listing, bucket, aggressor side and filter flags, what ``measures``
    are made of. Sums are fixed point, so they add up exactly in any order. Only plain
    aggregations of whole columns (nulls where a value does not count): polars runs them
    vectorized."""
    priced = pl.col("LocalPrice").is_finite()
    price = pl.when(priced).then(pl.col("LocalPrice"))
    parts: dict[str, pl.Expr] = {"_n": pl.len()}
    for measure in measures & SUMMED.keys():
        column = pl.col(SUMMED[measure])
        parts[f"_{measure}"] = fixed_point(column).sum()
        parts[f"_{measure}_known"] = column.count()
    if "VWAP" in measures:
        parts["_priced_size"] = fixed_point(pl.when(priced).then(pl.col("Size"))).sum()
        parts["_value"] = fixed_point(price * pl.col("Size")).sum()
    if "AvgPrice" in measures:
        parts |= {"_price_sum": fixed_point(price).sum(), "_price_n": price.count()}
    if "MedianPrice" in measures:
        parts["_prices"] = price.drop_nulls()
    if measures & set(OHLC_PARTS):
        row = pl.when(priced).then(pl.col(ROW))
        parts |= {"_open": price.first(ignore_nulls=True), "_first": row.min()}
        parts |= {"_close": price.last(ignore_nulls=True), "_last": row.max()}
        parts |= {"_high": price.max(), "_low": price.min()}
    return parts


def _combine(measure: str, part: Callable[[str], pl.Expr]) -> pl.Expr:
    """Stage 2: ``measure`` from the partials of one side and family (``part(name)``: the
    partial column, null on rows of other sides or filters)."""

    def total(name: str) -> pl.Expr:
        return part(name).sum().cast(pl.Float64)

    match measure:
        case "Count":
            return part("_n").sum().cast(pl.Int64)
        case "Volume" | "Notional" | "NotionalEUR" | "NotionalUSD":
            # 0 without trades; null when trades exist but none has the value.
            unknown = (part("_n").sum() > 0) & (part(f"_{measure}_known").sum() == 0)
            return pl.when(~unknown).then(total(f"_{measure}"))
        case "VWAP":
            volume = total("_priced_size")
            return pl.when(volume > 0).then(total("_value") / volume)
        case "AvgPrice":
            count = part("_price_n").sum()
            return pl.when(count > 0).then(total("_price_sum") / count)
        case "MedianPrice":
            return part("_prices").explode().median()
        case "Open":  # of the side whose first priced trade comes first
            return part("_open").min_by(part("_first"))
        case "High":
            return part("_high").max()
        case "Low":
            return part("_low").min()
        case "Close":
            return part("_close").max_by(part("_last"))
    raise AssertionError(measure)


def _family_flag(family: TradeGenericConfig) -> pl.Expr | None:
    """True for the trades that ``family``'s attribute filters keep (None: no filter)."""
    conditions = [
        pl.col(column).is_in(value) if isinstance(value, list) else pl.col(column) == value
        for column, value in family.attribute_filters.items()
    ]
    return pl.all_horizontal(conditions).fill_null(False) if conditions else None


def _selection(flag: str | None, side: str) -> pl.Expr | None:
    """Which partial rows make up ``side`` of a family (None: all of them)."""
    code = SIDE_CODES[side]
    conditions = [pl.col(flag)] if flag else []
    if code is not None:
        conditions.append(pl.col(SIDE) == code)
    return pl.all_horizontal(conditions) if conditions else None


def _suffixed(suffix: str) -> Callable[[str], pl.Expr]:
    """The partial columns of one side and family (see :func:`_combine`)."""
    return lambda name: pl.col(name + suffix)


class TradeAnalytic(Analytic):
    """Generic trade metrics per listing and time bucket (``Trade{Side}{Measure}``)."""

    name = "trade"
    config_model = TradeConfig
    config_aliases = ("trade_analytics",)
    requires = ("trades",)
    docs = tuple(DOCS.values())

    def columns(self, config: TradeConfig) -> list[Column]:
        return [
            Column(name, DOCS[measure], {"side": side}, f"generic_metrics[{index}]")
            for index, family in enumerate(config.generic_metrics)
            for name, side, measure in family.names(config.metric_prefix)
        ]

    def compute(self, ctx: AnalyticContext, config: TradeConfig) -> pl.LazyFrame:
        trades = ctx.table("trades").filter(pl.col("Size").is_not_null())
        if config.classifications is not None:
            trades = trades.filter(pl.col("Classification").is_in(config.classifications))
        # Time order for Open and Close: a stable sort, then the row number breaks ties.
        trades = trades.sort("ListingId", "TradeTimestamp", maintain_order=True).with_row_index(ROW)
        flags: dict[str, pl.Expr] = {}
        families: list[tuple[TradeGenericConfig, str | None]] = []
        for family in config.generic_metrics:
            condition = _family_flag(family)
            name = None
            if condition is not None:
                name = f"_filter{len(flags)}"
                flags[name] = condition
            families.append((family, name))
        measures = {m for family in config.generic_metrics for _, _, m in family.names("")}
        parts = _partials(measures)
        partials = trades.with_columns(**flags).group_by(*KEYS, SIDE, *flags).agg(**parts)
        selected: dict[str, pl.Expr] = {}
        metrics = []
        for family, flag in families:
            for name, side, measure in family.names(config.metric_prefix):
                selection = _selection(flag, side)
                suffix = f"@{flag}@{side}" if selection is not None else ""
                if selection is not None:
                    selected |= {p + suffix: pl.when(selection).then(pl.col(p)) for p in parts}
                metrics.append(_combine(measure, _suffixed(suffix)).alias(name))
        return partials.with_columns(**selected).group_by(*KEYS).agg(metrics)
