"""``execution``: executed volume and prices from L3 fills, and trades by type and aggressor.

L3 fills are the ``LobAction`` 1 rows and the removes and updates flagged ``OrderExecuted``
(see :mod:`basalt.analytics.l3`); their side is that of the resting order, so ``Bid`` fills
are seller-initiated and ``Ask`` fills buyer-initiated. The trade breakdown splits trades by
``BMLLTradeType`` (lit, dark) and ``AggressorSide`` (1 buy, 2 sell, 0 or null unknown), over
every classification. Both inputs are aggregated per listing and bucket and joined, so a
bucket appears when either has rows; volumes are 0 and prices null where one has none.
Sums of floats are exact (see :mod:`basalt.analytics.sums`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import product
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import (
    MarketStates,
    as_list,
    column_name,
    ensure_unique,
    in_states,
    ratio,
)
from basalt.analytics.l3 import (
    SIDE_CODES,
    Family,
    Metric,
    executed,
    family_metrics,
    imbalance,
    where,
)
from basalt.analytics.sums import fixed_point
from basalt.metrics import Column, MetricDoc

__all__ = [
    "ExecutionAnalytic",
    "ExecutionConfig",
    "ExecutionDerivedConfig",
    "L3ExecutionConfig",
    "TradeBreakdownConfig",
]

Side = Literal["Bid", "Ask"]
L3Measure = Literal["ExecutedVolume", "VWAP"]
TradeType = Literal["LIT", "DARK"]
Aggressor = Literal["Buy", "Sell", "Unknown"]
TradeMeasure = Literal["Volume", "VWAP", "VolumeWeightedPricePlacement"]
DerivedVariant = Literal["TradeImbalance"]

L3_NAMES = {"ExecutedVolume": "ExecutedVolume", "VWAP": "Vwap"}
TRADE_TYPES = {"LIT": "Lit", "DARK": "Dark"}
AGGRESSOR_CODES = {"Buy": 1, "Sell": 2, "Unknown": 0}

FILLS_NOTE = (
    "Fills are L3 rows with LobAction 1 or flagged OrderExecuted; {side} is the side of the "
    "resting order (Bid fills are seller-initiated). Only fills of the family's market states "
    "count."
)
TRADES_NOTE = (
    "Trades of BMLLTradeType {trade_type} (any classification) whose AggressorSide is "
    "{aggressor} (Buy 1, Sell 2, Unknown 0 or null), of the family's market states."
)
L3_DOCS = {
    "ExecutedVolume": MetricDoc(
        "ExecutedVolume{side}",
        "Shares",
        "Σ ExecutionSize of the bucket's fills of {side} orders",
        f"0 without fills. {FILLS_NOTE}",
        {"side": tuple(SIDE_CODES)},
    ),
    "VWAP": MetricDoc(
        "Vwap{side}",
        "XLOC",
        "Σ (ExecutionPrice · ExecutionSize) / Σ ExecutionSize over the bucket's fills of "
        "{side} orders",
        f"Null without fills. {FILLS_NOTE}",
        {"side": tuple(SIDE_CODES)},
    ),
}
TRADE_VALUES = {"trade_type": tuple(TRADE_TYPES.values()), "aggressor": tuple(AGGRESSOR_CODES)}
TRADE_DOCS = {
    "Volume": MetricDoc(
        "{trade_type}Volume{aggressor}Aggressor",
        "Shares",
        "Σ Size of the bucket's {trade_type} trades with a {aggressor} aggressor",
        f"0 without such trades. {TRADES_NOTE}",
        TRADE_VALUES,
    ),
    "VWAP": MetricDoc(
        "{trade_type}VWAP{aggressor}Aggressor",
        "XLOC",
        "Σ (LocalPrice · Size) / Σ Size over the bucket's {trade_type} trades with a "
        "{aggressor} aggressor",
        "LocalPrice = TradeNotional / Size; trades without one count in Volume only. Null "
        f"without such trades. {TRADES_NOTE}",
        TRADE_VALUES,
    ),
    "VolumeWeightedPricePlacement": MetricDoc(
        "{trade_type}VolumeWeightedPricePlacement{aggressor}Aggressor",
        "Ratio",
        "Σ ((2 · clip(PricePoint, 0, 1) − 1) · Size) / Σ Size over the bucket's {trade_type} "
        "trades with a {aggressor} aggressor and a PricePoint",
        "Where trades print in the spread, in [−1, 1]: −1 at the bid, 0 at the mid, +1 at the "
        f"ask. Null without such trades. {TRADES_NOTE}",
        TRADE_VALUES,
    ),
}
IMBALANCE_DOC = MetricDoc(
    "TradeImbalance",
    "Imbalance",
    "(ExecutedVolumeAsk − ExecutedVolumeBid) / (ExecutedVolumeAsk + ExecutedVolumeBid)",
    "Positive when buyers take more liquidity than sellers. Null without fills. "
    + FILLS_NOTE.replace("{side}", "The side"),
)
VOLUME_DOCS = (L3_DOCS["ExecutedVolume"], TRADE_DOCS["Volume"])


def _fills(side: str, state: pl.Expr | None) -> pl.Expr:
    return where(executed(), pl.col("Side") == SIDE_CODES[side], state)


def _executed_volume(side: str, state: pl.Expr | None) -> pl.Expr:
    return pl.when(_fills(side, state)).then(pl.col("ExecutionSize")).sum()


def _weighted(selected: pl.Expr, value: pl.Expr, weight: str) -> pl.Expr:
    """Σ value · weight / Σ weight over the ``selected`` rows where ``value`` is finite."""
    kept = where(selected, value.is_finite())
    numerator = fixed_point(pl.when(kept).then(value * pl.col(weight))).sum()
    return ratio(numerator, fixed_point(pl.when(kept).then(pl.col(weight))).sum())


class L3ExecutionConfig(BaseModel):
    """Executed volume and VWAP of L3 fills: every side × measure."""

    model_config = ConfigDict(extra="forbid")

    sides: Annotated[list[Side], BeforeValidator(as_list)] = Field(
        default=["Bid", "Ask"], min_length=1, description="Side of the resting orders: Bid, Ask."
    )
    measures: Annotated[list[L3Measure], BeforeValidator(as_list)] = Field(
        default=["ExecutedVolume", "VWAP"],
        min_length=1,
        description="ExecutedVolume (Σ ExecutionSize), VWAP (of ExecutionPrice).",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only fills whose MarketState is listed; null: the module's "
        "market_states.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {measure} (ExecutedVolume or Vwap) and {side}; "
        "default {measure}{side}.",
    )

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """Every side × measure."""
        pattern = self.output_name_pattern or "{measure}{side}"
        state = in_states(states)
        for measure, side in product(self.measures, self.sides):
            name = column_name(prefix, pattern, measure=L3_NAMES[measure], side=side)
            if measure == "ExecutedVolume":
                expr = _executed_volume(side, state)
            else:
                expr = _weighted(_fills(side, state), pl.col("ExecutionPrice"), "ExecutionSize")
            yield Metric(name, expr, L3_DOCS[measure], {"side": side})


class TradeBreakdownConfig(BaseModel):
    """Trade volume, VWAP and price placement: every trade type × measure × aggressor."""

    model_config = ConfigDict(extra="forbid")

    trade_types: Annotated[list[TradeType], BeforeValidator(as_list)] = Field(
        default=["LIT", "DARK"], min_length=1, description="BMLLTradeType values: LIT, DARK."
    )
    aggressor_sides: Annotated[list[Aggressor], BeforeValidator(as_list)] = Field(
        default=["Buy", "Sell", "Unknown"],
        min_length=1,
        description="Buy (AggressorSide 1), Sell (2), Unknown (0 or null).",
    )
    measures: Annotated[list[TradeMeasure], BeforeValidator(as_list)] = Field(
        default=["Volume", "VWAP", "VolumeWeightedPricePlacement"],
        min_length=1,
        description="Volume (Σ Size), VWAP (of LocalPrice), VolumeWeightedPricePlacement "
        "(size-weighted 2 · PricePoint − 1).",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only trades whose MarketState is listed; null: the module's "
        "market_states.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {trade_type} (Lit or Dark), {measure} and "
        "{aggressor}; default {trade_type}{measure}{aggressor}Aggressor.",
    )

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """Every trade type × measure × aggressor."""
        pattern = self.output_name_pattern or "{trade_type}{measure}{aggressor}Aggressor"
        state = in_states(states)
        combinations = product(self.trade_types, self.measures, self.aggressor_sides)
        for trade_type, measure, aggressor in combinations:
            kind = TRADE_TYPES[trade_type]
            fields = {"trade_type": kind, "measure": measure, "aggressor": aggressor}
            name = column_name(prefix, pattern, **fields)
            selected = where(
                pl.col("BMLLTradeType") == trade_type,
                pl.col("AggressorSide").fill_null(0) == AGGRESSOR_CODES[aggressor],
                state,
            )
            values = {"trade_type": kind, "aggressor": aggressor}
            yield Metric(name, _trade_measure(measure, selected), TRADE_DOCS[measure], values)


def _trade_measure(measure: str, selected: pl.Expr) -> pl.Expr:
    match measure:
        case "Volume":
            return fixed_point(pl.when(selected).then(pl.col("Size"))).sum().cast(pl.Float64)
        case "VWAP":
            return _weighted(selected, pl.col("LocalPrice"), "Size")
        case "VolumeWeightedPricePlacement":
            return _weighted(selected, 2 * pl.col("PricePoint").clip(0, 1) - 1, "Size")
    raise AssertionError(measure)


class ExecutionDerivedConfig(BaseModel):
    """Metrics derived from the executed volumes of both sides."""

    model_config = ConfigDict(extra="forbid")

    variant: Annotated[list[DerivedVariant], BeforeValidator(as_list)] = Field(
        default=["TradeImbalance"],
        min_length=1,
        description="TradeImbalance: (ExecutedVolumeAsk − ExecutedVolumeBid) / their sum.",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only fills whose MarketState is listed; null: the module's "
        "market_states.",
    )
    output_name_pattern: str | None = Field(
        default=None, description="Column name pattern with {variant}; default {variant}."
    )

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """Every variant."""
        state = in_states(states)
        for variant in self.variant:
            name = column_name(prefix, self.output_name_pattern or "{variant}", variant=variant)
            expr = imbalance(_executed_volume("Ask", state), _executed_volume("Bid", state))
            yield Metric(name, expr, IMBALANCE_DOC, {})


class ExecutionConfig(BaseModel):
    """Options of the ``execution`` analytic. With no family configured, the defaults are
    every default family: ExecutedVolume and Vwap of Bid and Ask, Lit and Dark × Volume, VWAP,
    VolumeWeightedPricePlacement × Buy, Sell, Unknown aggressor, and TradeImbalance."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    market_states: MarketStates = Field(
        default=None,
        description="Count only rows whose MarketState is listed, in every family that sets "
        "none of its own; null counts all.",
    )
    l3_execution: list[L3ExecutionConfig] = Field(
        default_factory=list, description="Executed volume and VWAP families (L3 fills)."
    )
    trade_breakdown: list[TradeBreakdownConfig] = Field(
        default_factory=list, description="Lit/dark × aggressor families (trades)."
    )
    derived_metrics: list[ExecutionDerivedConfig] = Field(
        default_factory=list, description="Derived families (TradeImbalance, from L3 fills)."
    )

    @model_validator(mode="after")
    def _defaults(self) -> ExecutionConfig:
        if not (self.l3_execution or self.trade_breakdown or self.derived_metrics):
            self.l3_execution = [L3ExecutionConfig()]
            self.trade_breakdown = [TradeBreakdownConfig()]
            self.derived_metrics = [ExecutionDerivedConfig()]
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> ExecutionConfig:
        ensure_unique(self.output_columns())
        return self

    def output_columns(self) -> list[str]:
        """The metric columns this configuration produces, in order."""
        return [m.name for _, _, m in self.metrics()]

    def metrics(self) -> Iterator[tuple[str, str, Metric]]:
        """(options path, input table, metric) of every output column, in order."""
        families: dict[str, Sequence[Family]] = {
            "l3_execution": self.l3_execution,
            "trade_breakdown": self.trade_breakdown,
            "derived_metrics": self.derived_metrics,
        }
        for path, metric in family_metrics(families, self.metric_prefix, self.market_states):
            yield path, "trades" if path.startswith("trade_breakdown") else "l3", metric


class ExecutionAnalytic(Analytic):
    """Executed volume and VWAP of L3 fills per side, trade volume, VWAP and price placement
    per trade type (lit, dark) and aggressor, and the trade imbalance of the fills."""

    name = "execution"
    config_model = ExecutionConfig
    config_aliases = ("execution_analytics",)
    requires = ("trades", "l3")
    docs = (*L3_DOCS.values(), *TRADE_DOCS.values(), IMBALANCE_DOC)

    def columns(self, config: ExecutionConfig) -> list[Column]:
        return [Column(m.name, m.doc, m.values, path) for path, _, m in config.metrics()]

    def compute(self, ctx: AnalyticContext, config: ExecutionConfig) -> pl.LazyFrame:
        inputs = {
            "l3": ctx.table("l3"),
            "trades": ctx.table("trades").filter(pl.col("Size").is_not_null()),
        }
        frames = []
        for table, frame in inputs.items():
            metrics = [m for _, t, m in config.metrics() if t == table]
            if metrics:
                frames.append(frame.group_by(*KEYS).agg(m.expr.alias(m.name) for m in metrics))
        if len(frames) == 1:
            return frames[0]
        metrics = [m for _, _, m in config.metrics()]
        volumes = [m.name for m in metrics if m.doc in VOLUME_DOCS]
        joined = frames[0].join(frames[1], on=KEYS, how="full", coalesce=True)
        return joined.select(*KEYS, *(m.name for m in metrics)).with_columns(
            pl.col(volumes).fill_null(0)
        )
