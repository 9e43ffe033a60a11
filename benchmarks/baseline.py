"""The reference query: Basalt's trade metrics written by hand as one polars query.

Lit continuous trades, sides by ``AggressorSide`` (Ask = 1, Bid = 2, Total = all), Volume,
Count, NotionalEUR, VWAP and OHLC of ``TradeNotional / Size`` per listing and 60 s bucket
labelled by its end, (start, end]. Plain float sums: it is the engine's limit, not a copy of
Basalt's exact arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

__all__ = ["SIDES", "trade_files", "trade_metrics"]

SIDES = {"Bid": pl.col("AggressorSide") == 2, "Ask": pl.col("AggressorSide") == 1}
TIMESTAMP = "TradeTimestampNanoseconds"


def trade_files(root: Path, mics: Sequence[str], days: Sequence[dt.date]) -> list[str]:
    """The trades-plus files of ``mics`` on ``days`` in the lake at ``root``."""
    return [
        str(root / "Trades-Plus" / mic / f"{d:%Y/%m/%d}" / f"trades-plus-{mic}-{d:%Y%m%d}.parquet")
        for d in days
        for mic in mics
    ]


def _side_metrics(side: str, keep: pl.Expr | None) -> list[pl.Expr]:
    def kept(expr: pl.Expr) -> pl.Expr:
        return expr if keep is None else expr.filter(keep)

    price, size = pl.col("LocalPrice"), pl.col("Size")
    volume = kept(size).sum()
    name = f"Trade{side}"
    return [
        volume.alias(f"{name}Volume"),
        kept(size).len().cast(pl.Int64).alias(f"{name}Count"),
        kept(pl.col("TradeNotionalEUR")).sum().alias(f"{name}NotionalEUR"),
        pl.when(volume > 0).then(kept(price * size).sum() / volume).alias(f"{name}VWAP"),
        kept(price).first().alias(f"{name}Open"),
        kept(price).max().alias(f"{name}High"),
        kept(price).min().alias(f"{name}Low"),
        kept(price).last().alias(f"{name}Close"),
    ]


def trade_metrics(files: Sequence[str], bucket_seconds: int = 60) -> pl.LazyFrame:
    """Trade metrics per ``ListingId`` and end-labelled ``TimeBucket`` of ``files``."""
    width = pl.duration(seconds=bucket_seconds, time_unit="ns")
    stamp = pl.col(TIMESTAMP)
    floor = stamp.dt.truncate(f"{bucket_seconds}s")
    bucket = pl.when(floor == stamp).then(floor).otherwise(floor + width)
    aggregations = [
        expr for side in ("Bid", "Ask", "Total") for expr in _side_metrics(side, SIDES.get(side))
    ]
    return (
        pl.scan_parquet(list(files))
        .filter(pl.col("Classification") == "LIT_CONTINUOUS")
        .with_columns(
            bucket.alias("TimeBucket"),
            (pl.col("TradeNotional") / pl.col("Size")).alias("LocalPrice"),
        )
        .sort("ListingId", TIMESTAMP, maintain_order=True)
        .group_by("ListingId", "TimeBucket")
        .agg(aggregations)
    )
