"""Helpers shared by the analytics: option types, list coercion, column naming, and the
expressions every module needs (market-state selection, safe ratios)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import polars as pl
from pydantic import BeforeValidator, Field

__all__ = [
    "OHLC_PARTS",
    "MarketStates",
    "as_list",
    "column_name",
    "ensure_unique",
    "in_states",
    "ratio",
]

OHLC_PARTS = ("Open", "High", "Low", "Close")


def as_list(value: Any) -> Any:
    """A lone string or integer as a one-element list (a pydantic before-validator)."""
    return [value] if isinstance(value, str | int) else value


MarketStates = Annotated[Annotated[list[str], Field(min_length=1)] | None, BeforeValidator(as_list)]
"""An optional, non-empty list of BMLL ``MarketState`` values (a lone string is a list)."""


def in_states(states: list[str] | None) -> pl.Expr | None:
    """True on rows whose ``MarketState`` is listed (None: every row)."""
    return None if states is None else pl.col("MarketState").is_in(states)


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as Float64; null where the denominator is 0 or null."""
    denominator = denominator.cast(pl.Float64)
    return pl.when(denominator != 0).then(numerator.cast(pl.Float64) / denominator)


def column_name(prefix: str, pattern: str, **fields: object) -> str:
    """``prefix`` + ``pattern`` formatted with ``fields``; ValueError for unknown placeholders."""
    try:
        return prefix + pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join(f"{{{name}}}" for name in fields)
        raise ValueError(f"output_name_pattern {pattern!r} may only use {allowed}") from exc


def ensure_unique(names: Iterable[str]) -> None:
    """Raise ValueError naming the first column that ``names`` holds twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"column {name!r} would be produced twice")
        seen.add(name)
