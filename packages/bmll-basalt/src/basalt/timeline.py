"""Time modes of a pass: which buckets its output has.

- ``sparse`` (default): the buckets where some module has data.
- ``dense``: every bucket of each listing's session as well — from the listing's market state
  (``adaptive``: its continuous trading, padded on both sides) or a fixed ``uniform`` window —
  so quiet buckets appear with null metrics. Rows with data outside the session are kept.
- ``daily``: one bucket per listing and day, labelled by the day (00:00 UTC).

``forward_fill`` then carries selected columns' last values forward over each listing's
buckets of the day.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from basalt.timebuckets import BucketSpec

__all__ = [
    "DAILY_BUCKET",
    "DenseConfig",
    "TimelineMode",
    "canonical_mode",
    "dense_grid",
    "forward_fill",
]

TimelineMode = Literal["sparse", "dense", "daily"]
MODE_ALIASES = {
    "sparse_original": "sparse",
    "sparse_digitised": "sparse",
    "daily_analytics": "daily",
}
DAILY_BUCKET = BucketSpec(86_400.0, "start", "left")
"""The one bucket of a day in ``daily`` mode: [00:00, 24:00) UTC, labelled by its start."""
CONTINUOUS = "CONTINUOUS_TRADING"
NS = 1_000_000_000


def canonical_mode(value: Any) -> Any:
    """The upstream names of the modes as Basalt's (a pydantic before-validator)."""
    return MODE_ALIASES.get(value, value) if isinstance(value, str) else value


class DenseConfig(BaseModel):
    """How ``dense`` mode finds each listing's session."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["adaptive", "uniform"] = Field(
        default="adaptive",
        description="adaptive: from the listing's market state (continuous trading); "
        "uniform: the same time_interval for every listing.",
    )
    padding_seconds: float = Field(
        default=600.0,
        ge=0,
        description="adaptive: buckets added before the first and after the last continuous "
        "trading bucket.",
    )
    time_interval: tuple[dt.time, dt.time] | None = Field(
        default=None,
        description='uniform: the session, ["HH:MM", "HH:MM"] in UTC (bucket edges).',
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        return "adaptive" if value == "adaptative" else value

    @model_validator(mode="after")
    def _interval(self) -> DenseConfig:
        if self.mode == "uniform" and self.time_interval is None:
            raise ValueError("dense mode uniform needs a time_interval")
        if self.time_interval is not None and self.time_interval[0] >= self.time_interval[1]:
            raise ValueError("time_interval must end after it starts")
        return self


def _labels(first: pl.Expr, last: pl.Expr, bucket: BucketSpec) -> pl.Expr:
    """Every bucket label from ``first`` to ``last`` (epoch ns, inclusive)."""
    return pl.int_ranges(first, last + 1, bucket.width_ns)


def dense_grid(
    config: DenseConfig,
    bucket: BucketSpec,
    day: dt.date,
    listings: Sequence[int],
    market_state: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """``ListingId``, ``TimeBucket``: every bucket of each listing's session on ``day``."""
    width = bucket.width_ns
    if config.mode == "uniform":
        assert config.time_interval is not None
        start, end = (
            round(dt.datetime.combine(day, t, dt.UTC).timestamp() * NS)
            for t in config.time_interval
        )
        # Labels of the buckets covering [start, end]: by their end or by their start.
        first, last = (start + width, end) if bucket.anchor == "end" else (start, end - width)
        sessions = pl.LazyFrame(
            {"ListingId": list(listings), "_first": first, "_last": last},
            schema={"ListingId": pl.Int64, "_first": pl.Int64, "_last": pl.Int64},
        )
    else:
        sessions = _continuous_sessions(market_state, listings, bucket, config.padding_seconds)
    return (
        sessions.select(
            "ListingId", _labels(pl.col("_first"), pl.col("_last"), bucket).alias("_ns")
        )
        .explode("_ns")
        .select("ListingId", pl.from_epoch("_ns", time_unit="ns").alias("TimeBucket"))
    )


def _continuous_sessions(
    market_state: pl.LazyFrame | None,
    listings: Sequence[int],
    bucket: BucketSpec,
    padding_seconds: float,
) -> pl.LazyFrame:
    """Per listing, the first and last bucket label of its padded continuous trading: from
    the floor of its first continuous trading state to the ceiling of the state change that
    ends its last one."""
    if market_state is None:
        raise ValueError("dense mode adaptive needs the marketstate table")
    width, pad = bucket.width_ns, round(padding_seconds * NS)
    stamp = pl.col("EventTimestamp").dt.epoch("ns")
    states = (
        market_state.filter(pl.col("ListingId").is_in(list(listings)))
        .sort("ListingId", "EventTimestamp", maintain_order=True)
        .with_columns(
            (pl.col("MarketState") == CONTINUOUS).alias("_continuous"),
            stamp.shift(-1).over("ListingId").alias("_next"),
        )
        .filter("_continuous")
    )
    ceiling = (pl.col("_next") + width - 1) // width * width
    sessions = states.group_by("ListingId").agg(
        (stamp.min() // width * width - pad).alias("_first"),
        (ceiling.max() + pad).alias("_last"),  # null: still continuous at the end of the data
    )
    return sessions.filter(pl.col("_last").is_not_null())


def forward_fill(frame: pl.LazyFrame, patterns: Sequence[str], keys: Sequence[str]) -> pl.LazyFrame:
    """``frame`` (sorted by ``keys``) with the columns matching ``patterns`` (globs) filled
    forward over each listing's rows."""
    names = [c for c in frame.collect_schema().names() if c not in keys]
    chosen = [c for c in names if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
    if not chosen:
        return frame
    return frame.with_columns(pl.col(chosen).forward_fill().over("ListingId"))
