"""Generic and flag trade metrics, computed in two stages.

Trades are aggregated per listing, bucket, aggressor side and selection flags (attribute
filters, the classification filter) into partials — fixed-point sums (see
:mod:`basalt.analytics.sums`), counts, first and last prices with their row numbers — which
are then combined into every requested side, so the trades are read once however many sides
and families are asked for. Fixed-point sums are exact, so results do not depend on the
order polars adds in.

Most measures count the trades of the module's ``classifications`` (lit continuous by
default). RetailCount, BlockCount, AuctionNotional, OTCVolume and the flag metrics count every
trade of their kind whatever its classification: restricted to lit continuous trades they
would always be zero.

Trades without a price (``LocalPrice`` null or not finite: no ``TradeNotional``) count in
volumes and counts, and in no price measure: VWAP (numerator and denominator), OHLC,
AvgPrice and MedianPrice leave them out, ``UnpricedVolume`` measures them, and a flag's
AvgNotional divides by the flagged trades that have a ``TradeNotionalEUR``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from basalt.analytics.codes import flag_set, text
from basalt.analytics.common import OHLC_PARTS, as_list, column_name
from basalt.analytics.sums import fixed_point
from basalt.analytics.trade.selection import (
    SIDE,
    SIDE_CODES,
    SIDES_NOTE,
    Side,
    is_auction,
    is_block,
    is_otc,
    is_retail,
    side_suffix,
)
from basalt.metrics import Column, MetricDoc

__all__ = [
    "ALL_TRADES",
    "FLAG_DOCS",
    "GENERIC_DOCS",
    "ROW",
    "PartialMetric",
    "TradeFlagConfig",
    "TradeGenericConfig",
    "combined",
]

Measure = Literal[
    "Volume",
    "Count",
    "Notional",
    "NotionalEUR",
    "NotionalUSD",
    "RetailCount",
    "BlockCount",
    "AuctionNotional",
    "OTCVolume",
    "UnpricedVolume",
    "VWAP",
    "Volatility",
    "OHLC",
    "AvgPrice",
    "MedianPrice",
]
Flag = Literal["NegotiatedTrade", "OddLotTrade", "BlockTrade", "CrossTrade", "AlgorithmicTrade"]
FlagMeasure = Literal["Volume", "Count", "AvgNotional"]
Scalar = str | int | float | bool

ALL_TRADES = frozenset({"RetailCount", "BlockCount", "AuctionNotional", "OTCVolume"})
"""Generic measures over every trade of their kind, whatever its classification."""
ROW = "_row"
SUMMED = {
    "Volume": "Size",
    "Notional": "TradeNotional",
    "NotionalEUR": "TradeNotionalEUR",
    "NotionalUSD": "TradeNotionalUSD",
}
FLAGS: dict[str, Callable[[], pl.Expr]] = {
    "NegotiatedTrade": lambda: flag_set("NegotiatedTrade"),
    "OddLotTrade": lambda: text("LotType").str.contains("ODD").fill_null(False),
    "BlockTrade": is_block,
    "CrossTrade": lambda: flag_set("CrossingTrade"),
    "AlgorithmicTrade": lambda: flag_set("AlgorithmicTrade"),
}
FLAG_COLUMNS = {
    "NegotiatedTrade": "NegotiatedTrade set",
    "OddLotTrade": "LotType odd lot",
    "BlockTrade": "IsBlock set",
    "CrossTrade": "CrossingTrade set",
    "AlgorithmicTrade": "AlgorithmicTrade set",
}


def _doc(measure: str, unit: str, definition: str, description: str = "") -> MetricDoc:
    scope = (
        "Every trade of its kind counts, whatever its classification."
        if measure in ALL_TRADES
        else "Only the trades of `classifications` (lit continuous by default) count."
    )
    return MetricDoc(
        f"Trade{{side}}{measure}",
        unit,
        definition,
        " ".join(filter(None, [description, SIDES_NOTE, scope])),
        {"side": tuple(SIDE_CODES)},
    )


PRICE_NOTE = (
    "LocalPrice = TradeNotional / Size, in the listing's currency; trades without one "
    "(UnpricedVolume) do not count."
)
SECONDS_IN_TRADING_YEAR = 252 * 24 * 3600
GENERIC_DOCS = {
    "Volume": _doc("Volume", "Shares", "Σ Size of the bucket's {side} trades", "0 without trades."),
    "Count": _doc("Count", "Trades", "number of the bucket's {side} trades"),
    "Notional": _doc("Notional", "XLOC", "Σ TradeNotional of the bucket's {side} trades"),
    "NotionalEUR": _doc("NotionalEUR", "EUR", "Σ TradeNotionalEUR of the bucket's {side} trades"),
    "NotionalUSD": _doc("NotionalUSD", "USD", "Σ TradeNotionalUSD of the bucket's {side} trades"),
    "RetailCount": _doc(
        "RetailCount", "Trades", "number of {side} trades with BMLLParticipantType RETAIL"
    ),
    "BlockCount": _doc("BlockCount", "Trades", "number of {side} trades with IsBlock set"),
    "AuctionNotional": _doc(
        "AuctionNotional",
        "EUR",
        "Σ TradeNotionalEUR of {side} auction trades (Classification …AUCTION…)",
    ),
    "OTCVolume": _doc("OTCVolume", "Shares", "Σ Size of {side} trades with BMLLTradeType OTC"),
    "UnpricedVolume": _doc(
        "UnpricedVolume",
        "Shares",
        "Σ Size of the bucket's {side} trades without a LocalPrice",
        "Trades whose TradeNotional / Size is null or not finite (no price, no notional): "
        "they count in Volume and Count, in no price measure. Volume − UnpricedVolume is "
        "the volume behind VWAP.",
    ),
    "VWAP": _doc(
        "VWAP",
        "XLOC",
        "Σ (LocalPrice · Size) / Σ Size over the bucket's {side} trades",
        f"Volume-weighted, never an arithmetic mean. {PRICE_NOTE}",
    ),
    "Volatility": _doc(
        "Volatility",
        "Ratio",
        "std(r) · √(n · 252 · 86400 / bucket seconds), r = ln(LocalPrice_t / LocalPrice_t−1) "
        "over consecutive {side} trades of the bucket, n returns",
        "Annualised realised volatility; null with fewer than two returns.",
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
"""The documentation of every generic measure (OHLC by part)."""
FLAG_VALUES = {"flag": tuple(FLAGS), "side": ("", "Bid", "Ask", "Unknown")}
FLAG_NOTE = (
    "Every trade with the flag counts, whatever its classification. Flags are set unless "
    "null, blank, -, FALSE, F, NO, N or 0; OddLotTrade: LotType contains ODD. The side "
    "(Bid, Ask, Unknown) is omitted for Total."
)
FLAG_DOCS = {
    "Volume": MetricDoc(
        "{flag}Volume{side}",
        "Shares",
        "Σ Size of {side} trades with {flag}",
        FLAG_NOTE,
        FLAG_VALUES,
    ),
    "Count": MetricDoc(
        "{flag}Count{side}", "Trades", "number of {side} trades with {flag}", FLAG_NOTE, FLAG_VALUES
    ),
    "AvgNotional": MetricDoc(
        "{flag}AvgNotional{side}",
        "EUR",
        "Σ TradeNotionalEUR / number of {side} trades with {flag} and a TradeNotionalEUR",
        FLAG_NOTE,
        FLAG_VALUES,
    ),
}


class TradeGenericConfig(BaseModel):
    """One family of generic metrics: every side × every measure."""

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
                    yield column_name(prefix, pattern, side=side, measure=part), side, part

    def condition(self) -> pl.Expr | None:
        """True for the trades the attribute filters keep (None: no filter)."""
        conditions = [
            pl.col(column).is_in(value) if isinstance(value, list) else pl.col(column) == value
            for column, value in self.attribute_filters.items()
        ]
        return pl.all_horizontal(conditions).fill_null(False) if conditions else None


class TradeFlagConfig(BaseModel):
    """One family of flag metrics: every flag × measure × side."""

    model_config = ConfigDict(extra="forbid")

    flags: Annotated[list[Flag], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="NegotiatedTrade, OddLotTrade, BlockTrade, CrossTrade, AlgorithmicTrade.",
    )
    measures: Annotated[list[FlagMeasure], BeforeValidator(as_list)] = Field(
        min_length=1, description="Volume, Count, AvgNotional (EUR) of the flagged trades."
    )
    sides: Annotated[list[Side], BeforeValidator(as_list)] = Field(
        default=["Total"], min_length=1, description="Aggressor sides: Bid, Ask, Unknown, Total."
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {flag}, {measure} and {side} (empty for Total); "
        "default {flag}{measure}{side}.",
    )

    def names(self, prefix: str) -> Iterator[tuple[str, str, str, str]]:
        """(column name, flag, measure, side) for every metric."""
        pattern = self.output_name_pattern or "{flag}{measure}{side}"
        for flag in self.flags:
            for measure in self.measures:
                for side in self.sides:
                    suffix = side_suffix(side)
                    name = column_name(prefix, pattern, flag=flag, measure=measure, side=suffix)
                    yield name, flag, measure, side


@dataclass(frozen=True)
class PartialMetric:
    """A column computed from partials: its measure, side, the selection flag columns that
    select its partial rows, and for flag metrics the trade ``flag`` measured."""

    column: Column
    measure: str
    side: str
    flags: tuple[str, ...]
    flag: str | None = None


def partials(measures: set[str], flags: set[str]) -> dict[str, pl.Expr]:
    """Stage 1: per listing, bucket, aggressor side and selection flags, what ``measures``
    and the metrics of ``flags`` are made of. Only plain aggregations of whole columns
    (nulls where a value does not count): polars runs them vectorized."""
    priced = pl.col("LocalPrice").is_finite().fill_null(False)
    price = pl.when(priced).then(pl.col("LocalPrice"))
    size, eur = pl.col("Size"), pl.col("TradeNotionalEUR")
    parts: dict[str, pl.Expr] = {"_n": pl.len()}
    for measure in measures & SUMMED.keys():
        column = pl.col(SUMMED[measure])
        parts[f"_{measure}"] = fixed_point(column).sum()
        parts[f"_{measure}_known"] = column.count()
    if "VWAP" in measures:
        parts["_priced_size"] = fixed_point(pl.when(priced).then(size)).sum()
        parts["_value"] = fixed_point(price * size).sum()
    if "AvgPrice" in measures:
        parts |= {"_price_sum": fixed_point(price).sum(), "_price_n": price.count()}
    if "MedianPrice" in measures:
        parts["_prices"] = price.drop_nulls()
    if measures & set(OHLC_PARTS):
        row = pl.when(priced).then(pl.col(ROW))
        parts |= {"_open": price.first(ignore_nulls=True), "_first": row.min()}
        parts |= {"_close": price.last(ignore_nulls=True), "_last": row.max()}
        parts |= {"_high": price.max(), "_low": price.min()}
    if "RetailCount" in measures:
        parts["_retail"] = is_retail().sum()
    if "BlockCount" in measures:
        parts["_block"] = is_block().sum()
    if "AuctionNotional" in measures:
        parts["_auction"] = fixed_point(pl.when(is_auction()).then(eur)).sum()
    if "OTCVolume" in measures:
        parts["_otc"] = fixed_point(pl.when(is_otc()).then(size)).sum()
    if "UnpricedVolume" in measures:
        parts["_unpriced"] = fixed_point(pl.when(~priced).then(size)).sum()
    for flag in flags:
        flagged = FLAGS[flag]()
        parts[f"_{flag}_n"] = flagged.sum()
        parts[f"_{flag}_volume"] = fixed_point(pl.when(flagged).then(size)).sum()
        parts[f"_{flag}_notional"] = fixed_point(pl.when(flagged).then(eur)).sum()
        parts[f"_{flag}_notional_n"] = pl.when(flagged).then(eur).count()
    return parts


def combine(measure: str, part: Callable[[str], pl.Expr], flag: str | None = None) -> pl.Expr:
    """Stage 2: ``measure`` (of the trades with ``flag``, for a flag metric) from the partials
    of one selection (``part(name)``: the partial column, null on rows outside it)."""

    def total(name: str) -> pl.Expr:
        return part(name).sum().cast(pl.Float64)

    def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        """Null unless the denominator (a volume or a count) is positive."""
        return pl.when(denominator > 0).then(numerator / denominator)

    if flag is not None:
        count = part(f"_{flag}_n").sum()
        match measure:
            case "Count":
                return count.cast(pl.Int64)
            case "Volume":
                return total(f"_{flag}_volume")
            case "AvgNotional":
                return ratio(total(f"_{flag}_notional"), part(f"_{flag}_notional_n").sum())
    match measure:
        case "Count":
            return part("_n").sum().cast(pl.Int64)
        case "Volume" | "Notional" | "NotionalEUR" | "NotionalUSD":
            # 0 without trades; null when trades exist but none has the value.
            unknown = (part("_n").sum() > 0) & (part(f"_{measure}_known").sum() == 0)
            return pl.when(~unknown).then(total(f"_{measure}"))
        case "RetailCount":
            return part("_retail").sum().cast(pl.Int64)
        case "BlockCount":
            return part("_block").sum().cast(pl.Int64)
        case "AuctionNotional":
            return total("_auction")
        case "OTCVolume":
            return total("_otc")
        case "UnpricedVolume":
            return total("_unpriced")
        case "VWAP":
            return ratio(total("_value"), total("_priced_size"))
        case "AvgPrice":
            return ratio(total("_price_sum"), part("_price_n").sum())
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


def selection(flags: tuple[str, ...], side: str) -> pl.Expr | None:
    """Which partial rows make up a metric (None: all of them)."""
    conditions = [pl.col(flag) for flag in flags]
    code = SIDE_CODES[side]
    if code is not None:
        conditions.append(pl.col(SIDE) == code)
    return pl.all_horizontal(conditions) if conditions else None


def combined(
    frame: pl.LazyFrame, metrics: list[PartialMetric], keys: tuple[str, ...]
) -> pl.LazyFrame:
    """Stage 1 over ``frame`` (trades with the selection flag columns) then stage 2."""
    flags = sorted({flag for m in metrics for flag in m.flags})
    measures = {m.measure for m in metrics if m.flag is None}
    flagged = {m.flag for m in metrics if m.flag is not None}
    parts = partials(measures, flagged)
    stage_one = frame.group_by(*keys, SIDE, *flags).agg(**parts)
    selected: dict[str, pl.Expr] = {}
    columns = []
    for metric in metrics:
        condition = selection(metric.flags, metric.side)
        suffix = "" if condition is None else "@" + "@".join((*metric.flags, metric.side))
        if condition is not None:
            selected |= {p + suffix: pl.when(condition).then(pl.col(p)) for p in parts}
        expr = combine(metric.measure, _suffixed(suffix), metric.flag)
        columns.append(expr.alias(metric.column.name))
    return stage_one.with_columns(**selected).group_by(*keys).agg(columns)


def _suffixed(suffix: str) -> Callable[[str], pl.Expr]:
    return lambda name: pl.col(name + suffix)
