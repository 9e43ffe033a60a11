"""Expressions over L2 book snapshots, shared by the book analytics.

BMLL L2 rows hold ten levels per side as ``{Side}{Field}{Level}`` columns (``BidPrice1`` is
the best bid). Every expression here works row by row, so it applies equally to the last
snapshot of a bucket or to every snapshot of a series.

A level without a price is empty, whatever quantity and order count it is given (LOBSTER and
some venues write 0 there). The expressions expect snapshots passed through
:func:`clear_empty_levels`, which nulls those fields once, so that every value of an empty
level is null. Cumulative measures sum the levels that hold a value; ratios with a null or zero
denominator are null, never errors.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from basalt.analytics.common import ratio

__all__ = [
    "IMBALANCE_DEPTH",
    "MAX_LEVEL",
    "DepthMeasure",
    "ImbalanceMeasure",
    "PriceSource",
    "Side",
    "SpreadVariant",
    "clear_empty_levels",
    "depth",
    "imbalance",
    "price_series",
    "spread",
]

MAX_LEVEL = 10
Side = Literal["Bid", "Ask"]
DepthMeasure = Literal["Quantity", "Price", "NumOrders", "CumQuantity", "CumOrders", "CumNotional"]
ImbalanceMeasure = Literal["Quantity", "CumQuantity", "CumNotional", "Orders"]
SpreadVariant = Literal["Abs", "BPS"]
PriceSource = Literal["Mid", "Bid", "Ask", "WeightedMid"]

IMBALANCE_DEPTH: dict[str, DepthMeasure] = {
    "Quantity": "Quantity",
    "CumQuantity": "CumQuantity",
    "CumNotional": "CumNotional",
    "Orders": "CumOrders",
}
"""The per-side depth each imbalance measure compares."""


def _level(side: str, field: str, level: int) -> pl.Expr:
    return pl.col(f"{side}{field}{level}")


def clear_empty_levels(snapshots: pl.LazyFrame) -> pl.LazyFrame:
    """``snapshots`` with the quantity and order count of every empty level (one without a
    price) null: once per row here is cheaper than in every expression that reads them."""
    names = set(snapshots.collect_schema().names())
    cleared = [
        pl.when(_level(side, "Price", level).is_not_null()).then(_level(side, field, level))
        for side in ("Bid", "Ask")
        for field in ("Quantity", "NumOrders")
        for level in range(1, MAX_LEVEL + 1)
        if {f"{side}Price{level}", f"{side}{field}{level}"} <= names
    ]
    return snapshots.with_columns(cleared)


def _cumulative(terms: list[pl.Expr]) -> pl.Expr:
    """Σ of the non-null ``terms``; null when every term is null."""
    return pl.when(pl.any_horizontal(t.is_not_null() for t in terms)).then(pl.sum_horizontal(terms))


def depth(side: str, measure: str, level: int) -> pl.Expr:
    """``measure`` of ``side`` at ``level`` (raw column) or over levels 1..``level`` (Cum*)."""
    levels = range(1, level + 1)
    match measure:
        case "Quantity" | "Price" | "NumOrders":
            return _level(side, measure, level)
        case "CumQuantity":
            return _cumulative([_level(side, "Quantity", k).cast(pl.Int64) for k in levels])
        case "CumOrders":
            return _cumulative([_level(side, "NumOrders", k).cast(pl.Int64) for k in levels])
        case "CumNotional":
            return _cumulative(
                [_level(side, "Price", k) * _level(side, "Quantity", k) for k in levels]
            )
    raise ValueError(f"unknown depth measure {measure!r}")


def imbalance(measure: str, level: int) -> pl.Expr:
    """(Bid − Ask) / (Bid + Ask) of the depth :data:`IMBALANCE_DEPTH` maps ``measure`` to."""
    bid, ask = (depth(side, IMBALANCE_DEPTH[measure], level) for side in ("Bid", "Ask"))
    return ratio(bid - ask, bid + ask)


def spread(variant: str) -> pl.Expr:
    """Best ask − best bid (``Abs``), or that in basis points of the mid (``BPS``)."""
    bid, ask = _level("Bid", "Price", 1), _level("Ask", "Price", 1)
    if variant == "Abs":
        return ask - bid
    if variant == "BPS":
        return 20_000 * ratio(ask - bid, ask + bid)
    raise ValueError(f"unknown spread variant {variant!r}")


def price_series(source: str) -> pl.Expr:
    """The price of each snapshot: best ``Bid``, best ``Ask``, their ``Mid``, or the
    ``WeightedMid`` (each best price weighted by the opposite side's quantity)."""
    bid, ask = _level("Bid", "Price", 1), _level("Ask", "Price", 1)
    match source:
        case "Bid":
            return bid
        case "Ask":
            return ask
        case "Mid":
            return (ask + bid) / 2
        case "WeightedMid":
            bid_qty, ask_qty = _level("Bid", "Quantity", 1), _level("Ask", "Quantity", 1)
            return ratio(bid * ask_qty + ask * bid_qty, ask_qty + bid_qty)
    raise ValueError(f"unknown price source {source!r}")
