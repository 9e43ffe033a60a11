"""Trade metrics aggregated from a value computed per trade: discrepancy to reference prices,
BMLL's change measures, TCA impact at a horizon, and realised volatility.

They count the trades of the module's ``classifications`` (lit continuous by default), in
time order, and aggregate per listing and bucket; a trade whose value is null (no price, a
missing reference price, an unknown aggressor side for signed measures) does not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from basalt.analytics.common import as_list, column_name
from basalt.analytics.trade.selection import SIDES_NOTE, Side, side_condition, side_suffix, signed
from basalt.metrics import Column, MetricDoc
from basalt.tables.schema import bmll_schema

__all__ = [
    "HORIZONS_MS",
    "PER_TRADE_DOCS",
    "TradeChangeConfig",
    "TradeDiscrepancyConfig",
    "TradeImpactConfig",
    "aggregate",
    "volatility",
]

Reference = Literal[
    "MidAtPrimary",
    "EBBO",
    "PreTradeMid",
    "MidPrice",
    "BestBid",
    "BestAsk",
    "BestBidAtVenue",
    "BestAskAtVenue",
    "BestBidAtPrimary",
    "BestAskAtPrimary",
]
Aggregation = Literal["Mean", "Median", "Min", "Max", "Std", "First", "Last", "VWA"]
ChangeMeasure = Literal["PreTradeElapsedTimeChg", "PostTradeElapsedTimeChg", "PricePoint"]
Scope = Literal["Local", "Primary", "Venue"]
Variant = Literal["EffectiveSpread", "RealizedSpread", "PriceImpact"]

REFERENCES: dict[str, str] = {
    "MidAtPrimary": "PostTradeMidAtPrimary",
    "EBBO": "PostTradeMid",
    "PreTradeMid": "PreTradeMid1ms",
    "MidPrice": "(BestBidPrice + BestAskPrice) / 2",
    "BestBid": "BestBidPrice",
    "BestAsk": "BestAskPrice",
    "BestBidAtVenue": "BestBidPriceAtVenue",
    "BestAskAtVenue": "BestAskPriceAtVenue",
    "BestBidAtPrimary": "BestBidPriceAtPrimary",
    "BestAskAtPrimary": "BestAskPriceAtPrimary",
}
"""The BMLL trades-plus column (or expression) behind each reference price."""
SCOPES = {"Local": "", "Primary": "AtPrimary", "Venue": "AtVenue"}
HORIZONS_MS = (1, 2, 5, 10, 25, 50, 100, 200, 500, 1000, 5000, 15000, 30000, 60000, 300000)
"""The horizons of BMLL's ``PostTradeMid{N}ms`` columns."""
PRICE = pl.col("LocalPrice")
SECONDS_IN_TRADING_YEAR = 252 * 24 * 3600


def reference_price(name: str) -> pl.Expr:
    """The reference price ``name`` (a key of :data:`REFERENCES`, or any column)."""
    if name == "MidPrice":
        return (pl.col("BestBidPrice") + pl.col("BestAskPrice")) / 2
    return pl.col(REFERENCES.get(name, name))


def aggregate(values: pl.Expr, how: str) -> pl.Expr:
    """``values`` of a bucket aggregated: VWA weights by ``Size``."""
    match how:
        case "Mean":
            return values.mean()
        case "Median":
            return values.median()
        case "Min":
            return values.min()
        case "Max":
            return values.max()
        case "Std":
            return values.std()
        case "First":
            return values.drop_nulls().first()
        case "Last":
            return values.drop_nulls().last()
        case "VWA":
            weight = pl.when(values.is_not_null()).then(pl.col("Size"))
            total = weight.sum()
            return pl.when(total > 0).then((values * weight).sum() / total)
    raise AssertionError(how)


def _kept(values: pl.Expr, condition: pl.Expr | None) -> pl.Expr:
    """``values`` where ``condition`` holds, null elsewhere (aggregations skip nulls)."""
    return values if condition is None else pl.when(condition).then(values)


def volatility(condition: pl.Expr | None, bucket_seconds: float) -> pl.Expr:
    """Annualised realised volatility of the log returns between consecutive trades that
    ``condition`` keeps (time order), within the bucket."""
    priced = PRICE.is_finite() & (PRICE > 0)
    kept = pl.all_horizontal(priced, condition) if condition is not None else priced
    returns = PRICE.filter(kept).log().diff()
    count = returns.count()
    scale = (count * (SECONDS_IN_TRADING_YEAR / bucket_seconds)).sqrt()
    return pl.when(count >= 2).then(returns.std() * scale)


def _horizon_ms(horizon: str) -> int:
    found = re.fullmatch(r"(\d+)(ms|s|min)", horizon.strip())
    if found is None:
        raise ValueError(f"horizon {horizon!r}: use a number and ms, s or min (e.g. 1s)")
    milliseconds = int(found.group(1)) * {"ms": 1, "s": 1000, "min": 60_000}[found.group(2)]
    if milliseconds not in HORIZONS_MS:
        allowed = ", ".join(_label(h) for h in HORIZONS_MS)
        raise ValueError(f"horizon {horizon!r}: BMLL has post-trade mids at {allowed}")
    return milliseconds


def _label(milliseconds: int) -> str:
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


HORIZONS = {"horizon": tuple(_label(h) for h in HORIZONS_MS)}
AGGREGATION_NOTE = "Mean unless the name ends in an aggregation (Median, Min, …, VWA)."
PER_TRADE_DOCS = {
    "Discrepancy": MetricDoc(
        "DiscrepancyTo{reference}{side}{aggregation}",
        "BPS",
        "{aggregation} over the bucket's {side} trades of 10000 · (LocalPrice − R) / R, "
        "R = the trade's {reference} price",
        "References: MidAtPrimary = PostTradeMidAtPrimary, EBBO = PostTradeMid, PreTradeMid = "
        "PreTradeMid1ms, MidPrice = (BestBidPrice + BestAskPrice) / 2, BestBid = BestBidPrice, "
        "… AtVenue / AtPrimary the venue's / primary's best prices. The side is omitted for "
        f"Total. {AGGREGATION_NOTE} VWA: weighted by Size. {SIDES_NOTE}",
        {
            "reference": tuple(REFERENCES),
            "side": ("", "Bid", "Ask", "Unknown"),
            "aggregation": ("", "Median", "Min", "Max", "Std", "First", "Last", "VWA"),
        },
    ),
    "PricePoint": MetricDoc(
        "PricePoint{scope}",
        "Ratio",
        "mean PricePoint{scope} of the bucket's trades",
        "BMLL's position of the trade price in the spread (0 = bid, 1 = ask) at the venue "
        "(no suffix), AtVenue or AtPrimary.",
        {"scope": ("", "AtVenue", "AtPrimary")},
    ),
    "ElapsedTimeChg": MetricDoc(
        "{measure}{scope}",
        "Source",
        "mean {measure}{scope} of the bucket's trades",
        "BMLL's time since the best prices last changed, before / after the trade, locally "
        "(no suffix) or AtPrimary.",
        {
            "measure": ("PreTradeElapsedTimeChg", "PostTradeElapsedTimeChg"),
            "scope": ("", "AtPrimary"),
        },
    ),
    "EffectiveSpread": MetricDoc(
        "EffectiveSpread{horizon}",
        "XLOC",
        "mean over the bucket's trades of 2 · |LocalPrice − R|, R = the reference price",
        "R is `reference_price_col` (PreTradeMid = PreTradeMid1ms by default); the horizon "
        "names the family and does not change the value.",
        HORIZONS,
    ),
    "RealizedSpread": MetricDoc(
        "RealizedSpread{horizon}",
        "XLOC",
        "mean over the bucket's trades of 2 · s · (LocalPrice − M), M = PostTradeMid at the "
        "horizon, s = +1 buyer- / −1 seller-initiated",
        "M is BMLL's PostTradeMid{N}ms column for the horizon; trades of unknown side do not "
        "count.",
        HORIZONS,
    ),
    "PriceImpact": MetricDoc(
        "PriceImpact{horizon}",
        "XLOC",
        "mean over the bucket's trades of 2 · s · (M − R), M = PostTradeMid at the horizon, "
        "R = the reference price, s = +1 buyer- / −1 seller-initiated",
        "M is BMLL's PostTradeMid{N}ms column for the horizon; trades of unknown side do not "
        "count.",
        HORIZONS,
    ),
}


class TradeDiscrepancyConfig(BaseModel):
    """Discrepancy of trade prices to reference prices, in basis points: every reference ×
    side × aggregation."""

    model_config = ConfigDict(extra="forbid")

    references: Annotated[list[Reference], BeforeValidator(as_list)] = Field(
        min_length=1, description=f"Reference prices: {', '.join(REFERENCES)}."
    )
    sides: Annotated[list[Side], BeforeValidator(as_list)] = Field(
        default=["Total"], min_length=1, description="Aggressor sides: Bid, Ask, Unknown, Total."
    )
    aggregations: Annotated[list[Aggregation], BeforeValidator(as_list)] = Field(
        default=["Mean"],
        min_length=1,
        description="Mean, Median, Min, Max, Std, First, Last, VWA (Size-weighted mean).",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {reference}, {side} and {aggregation} (empty "
        "for Total and Mean); default DiscrepancyTo{reference}{side}{aggregation}.",
    )

    def metrics(self, prefix: str, path: str) -> Iterator[tuple[Column, pl.Expr]]:
        pattern = self.output_name_pattern or "DiscrepancyTo{reference}{side}{aggregation}"
        doc = PER_TRADE_DOCS["Discrepancy"]
        for reference in self.references:
            ref = reference_price(reference)
            bps = pl.when(ref > 0).then(10_000 * (PRICE - ref) / ref)
            for side in self.sides:
                for how in self.aggregations:
                    values = {
                        "reference": reference,
                        "side": side_suffix(side),
                        "aggregation": "" if how == "Mean" else how,
                    }
                    name = column_name(prefix, pattern, **values)
                    value = aggregate(_kept(bps, side_condition(side)), how)
                    yield (
                        Column(name, doc, {**values, "aggregation": how, "side": side}, path),
                        value,
                    )


class TradeChangeConfig(BaseModel):
    """Means of BMLL's per-trade change measures: every measure × scope."""

    model_config = ConfigDict(extra="forbid")

    measures: Annotated[list[ChangeMeasure], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="PreTradeElapsedTimeChg, PostTradeElapsedTimeChg, PricePoint.",
    )
    scopes: Annotated[list[Scope], BeforeValidator(as_list)] = Field(
        default=["Local"],
        min_length=1,
        description="Local (the venue's book), Primary (AtPrimary); Venue (AtVenue) exists "
        "for PricePoint only.",
    )

    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {measure} and {scope} (empty, AtPrimary or "
        "AtVenue); default {measure}{scope}.",
    )

    @model_validator(mode="after")
    def _known_columns(self) -> TradeChangeConfig:
        if "Venue" in self.scopes and set(self.measures) - {"PricePoint"}:
            raise ValueError("scope Venue exists for PricePoint only")
        return self

    def metrics(self, prefix: str, path: str) -> Iterator[tuple[Column, pl.Expr]]:
        pattern = self.output_name_pattern or "{measure}{scope}"
        for measure in self.measures:
            doc = PER_TRADE_DOCS["PricePoint" if measure == "PricePoint" else "ElapsedTimeChg"]
            for scope in self.scopes:
                values = {"measure": measure, "scope": SCOPES[scope]}
                name = column_name(prefix, pattern, **values)
                source = f"{measure}{SCOPES[scope]}"
                yield Column(name, doc, values, path), pl.col(source).mean()


class TradeImpactConfig(BaseModel):
    """Transaction-cost measures: every variant × horizon."""

    model_config = ConfigDict(extra="forbid")

    variant: Annotated[list[Variant], BeforeValidator(as_list)] = Field(
        min_length=1, description="EffectiveSpread, RealizedSpread, PriceImpact."
    )
    horizon: Annotated[list[str], BeforeValidator(as_list)] = Field(
        default=["1s"],
        min_length=1,
        description="Post-trade horizons (1ms … 300s, as BMLL's PostTradeMid{N}ms columns), "
        "e.g. 100ms, 1s, 5s.",
    )
    reference_price_col: str = Field(
        default="PreTradeMid",
        description="The pre-trade reference price: a reference name (PreTradeMid, MidPrice, "
        "…) or a trades-plus column.",
    )

    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {variant} and {horizon}; default {variant}{horizon}.",
    )

    @field_validator("horizon")
    @classmethod
    def _horizons(cls, value: list[str]) -> list[str]:
        return [_label(_horizon_ms(h)) for h in value]

    @field_validator("reference_price_col")
    @classmethod
    def _known_price(cls, value: str) -> str:
        if value not in REFERENCES and value not in bmll_schema("trades-plus"):
            raise ValueError(
                f"{value!r} is neither a reference ({', '.join(REFERENCES)}) nor a "
                "trades-plus column"
            )
        return value

    def metrics(self, prefix: str, path: str) -> Iterator[tuple[Column, pl.Expr]]:
        pattern = self.output_name_pattern or "{variant}{horizon}"
        reference = reference_price(self.reference_price_col)
        for variant in self.variant:
            for horizon in self.horizon:
                mid = pl.col(f"PostTradeMid{_horizon_ms(horizon)}ms")
                match variant:
                    case "EffectiveSpread":
                        value = 2 * (PRICE - reference).abs()
                    case "RealizedSpread":
                        value = 2 * signed() * (PRICE - mid)
                    case "PriceImpact":
                        value = 2 * signed() * (mid - reference)
                name = column_name(prefix, pattern, variant=variant, horizon=horizon)
                column = Column(name, PER_TRADE_DOCS[variant], {"horizon": horizon}, path)
                yield column, value.mean()
