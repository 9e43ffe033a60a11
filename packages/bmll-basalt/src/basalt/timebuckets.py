"""Time buckets: how an event timestamp maps to the ``TimeBucket`` label of a pass.

A bucket of width *w* covers either ``(start, end]`` (``closed="right"``, the default) or
``[start, end)`` (``closed="left"``) and is labelled by its ``end`` (``anchor="end"``, the
default: a label never precedes the events it summarises) or by its ``start``.
Buckets are aligned on the Unix epoch, so widths dividing a day align on midnight UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

__all__ = ["Anchor", "BucketSpec", "Closed"]

Anchor = Literal["end", "start"]
Closed = Literal["right", "left"]
NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class BucketSpec:
    """Width, label anchor and closed side of the time buckets of a pass."""

    seconds: float = 60.0
    anchor: Anchor = "end"
    closed: Closed = "right"

    @property
    def width_ns(self) -> int:
        """Bucket width in nanoseconds."""
        return round(self.seconds * NS_PER_SECOND)

    def label(self, timestamp: pl.Expr) -> pl.Expr:
        """The bucket label (``Datetime[ns]``) of each timestamp in ``timestamp``."""
        width = self.width_ns
        ns = timestamp.cast(pl.Datetime("ns")).dt.epoch("ns")
        floor = ns - ns.mod(width)
        on_edge = floor == ns
        if self.closed == "right":
            # (start, end]: an event exactly on an edge closes the bucket that ends there.
            start = pl.when(on_edge).then(floor - width).otherwise(floor)
        else:
            start = floor
        label = start + width if self.anchor == "end" else start
        return pl.from_epoch(label, time_unit="ns").alias("TimeBucket")

    def inside(self, label: pl.Expr) -> pl.Expr:
        """The middle of the bucket labelled ``label``: strictly inside it, so the coarser
        bucket or the day holding the bucket is the one holding this instant."""
        ns = label.cast(pl.Datetime("ns")).dt.epoch("ns")
        half = self.width_ns // 2
        return pl.from_epoch(ns - half if self.anchor == "end" else ns + half, time_unit="ns")

    def day_labels(self, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """[low, high): the labels of the buckets of the days ``first`` to ``last`` (a
        bucket's day is the day of its middle)."""
        half = dt.timedelta(microseconds=self.width_ns // 2 // 1000)
        shift = half if self.anchor == "end" else -half
        start = dt.datetime.combine(first, dt.time())
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
        return start + shift, end + shift
