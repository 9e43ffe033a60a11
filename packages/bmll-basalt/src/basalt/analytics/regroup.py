"""Shared steps of the analytics over an earlier pass: attaching group columns from the
universe, resampling to coarser buckets, parsing durations, and warning when prices of
listings quoted in different currencies are combined."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import polars as pl

from basalt.analytic import PASSTHROUGH, AnalyticContext
from basalt.errors import ConfigError
from basalt.timebuckets import BucketSpec

__all__ = [
    "SOURCE_ORDER",
    "duration_seconds",
    "in_listing_currency",
    "resampled",
    "warn_mixed_currencies",
    "with_group_columns",
]

SOURCE_ORDER = "_source_bucket"
"""The source's own ``TimeBucket``, kept by :func:`resampled` to order rows in time."""
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"(\d+)(ns|us|ms|s|m|h|d)")
_LISTING_CURRENCY = re.compile(
    r"(Open|High|Low|Close|VWAP|Vwap|Price|Mid|Notional|SpreadAbs|EffectiveSpread"
    r"|RealizedSpread)(?![a-z])"
)
_OTHER_UNIT = re.compile(
    r"EUR|USD|Bps|BPS|PricePoint|Placement|Imbalance|Discrepancy|Volatility|AvgNotional"
    r"|AuctionNotional"
)
SHOWN_GROUPS = 3


def duration_seconds(rule: str) -> float:
    """Seconds of a polars duration string such as ``15m``, ``1h30m`` or ``500ms``."""
    parts = _DURATION.findall(rule)
    if not parts or "".join(n + u for n, u in parts) != rule:
        raise ValueError(f"resample_rule {rule!r} is not a duration such as 15m, 1h or 30s")
    return sum(int(n) * UNITS[u] for n, u in parts)


def with_group_columns(
    ctx: AnalyticContext, module: str, source: str, group_by: Sequence[str]
) -> pl.LazyFrame:
    """The input ``source`` with the ``group_by`` columns it lacks, from the universe by
    ``ListingId``; listing attributes that are not group keys are left out (the pass
    attaches them to rows keyed by listing)."""
    frame = ctx.table(source).drop([c for c in PASSTHROUGH if c not in group_by], strict=False)
    names = frame.collect_schema().names()
    missing = [c for c in group_by if c not in names]
    if not missing:
        return frame
    absent = [c for c in missing if c not in ctx.universe.columns]
    if absent or "ListingId" not in names:
        raise ConfigError(
            f"{module}: group_by {absent or missing} is neither in {source!r} nor in the "
            "universe by ListingId"
        )
    universe = ctx.universe.lazy().select("ListingId", *missing).unique("ListingId")
    return frame.join(universe, on="ListingId", how="left", maintain_order="left")


def resampled(
    ctx: AnalyticContext, module: str, source: str, rule: str, frame: pl.LazyFrame
) -> pl.LazyFrame:
    """``frame`` with each ``TimeBucket`` replaced by the coarser bucket of width ``rule``
    holding it, labelled as the pass labels buckets; the source's bucket kept as
    :data:`SOURCE_ORDER`."""
    fine = ctx.input_buckets.get(source)
    if fine is None:
        raise ConfigError(f"{module}: resample_rule needs {source!r} to be a pass")
    coarse = BucketSpec(duration_seconds(rule), ctx.bucket.anchor, ctx.bucket.closed)
    if coarse.width_ns % fine.width_ns:
        raise ConfigError(
            f"{module}: resample_rule {rule} is not a multiple of pass {source!r}'s "
            f"{fine.seconds:g} s buckets"
        )
    bucket = pl.col("TimeBucket")
    return frame.with_columns(bucket.alias(SOURCE_ORDER), coarse.label(fine.inside(bucket)))


def in_listing_currency(column: str) -> bool:
    """Whether ``column`` is, by its name, a price or an amount in the listing's currency
    (``TradeTotalClose``, ``TradeTotalVWAP``, ``BidPrice1``, ``TradeTotalNotional``, ``SpreadAbs``)
    rather than a quantity, a count, a ratio or an amount in EUR or USD."""
    return bool(_LISTING_CURRENCY.search(column)) and not _OTHER_UNIT.search(column)


def warn_mixed_currencies(
    module: str, listings: pl.DataFrame, keys: Sequence[str], columns: Sequence[str]
) -> None:
    """Warn when ``columns`` in the listing's currency are combined over groups (by ``keys``
    of ``listings``: one row per listing and group, with its ``CurrencyCode``) that hold
    listings quoted in different currencies. Silent when ``listings`` cannot tell."""
    priced = [c for c in columns if in_listing_currency(c)]
    known = {"CurrencyCode", *keys} <= set(listings.columns)
    if not priced or not known or listings["CurrencyCode"].drop_nulls().n_unique() < 2:
        return
    currencies = pl.col("CurrencyCode").drop_nulls().unique().sort()
    grouped = listings.group_by(keys) if keys else listings.group_by(pl.lit(0).alias("_all"))
    mixed = grouped.agg(currencies).filter(pl.col("CurrencyCode").list.len() > 1)
    if mixed.is_empty():
        return
    shown = [
        (", ".join(f"{k}={row[k]}" for k in keys) or "all listings")
        + f" ({'/'.join(row['CurrencyCode'])})"
        for row in mixed.sort(pl.exclude("CurrencyCode")).head(SHOWN_GROUPS).to_dicts()
    ]
    more = f" and {mixed.height - SHOWN_GROUPS} more" if mixed.height > SHOWN_GROUPS else ""
    warnings.warn(
        f"{module}: combining {', '.join(priced)} mixes currencies, in {'; '.join(shown)}"
        f"{more}; group per listing or per currency",
        UserWarning,
        stacklevel=2,
    )
