"""What a file's footer proves about the days of its rows.

A table's timestamp is the first non-null of its timestamp columns. When the footer has
statistics for them, their minimum and maximum bound every row's timestamp; when both
bounds fall in buckets of the file's day, no row of the file can lie outside it, and a task
need not look for such rows. Without statistics, or with null timestamps possible, nothing
is proven and the rows are checked as they are read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from basalt.timebuckets import BucketSpec

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["stamp_range", "within_day"]

NS_PER_UNIT = {"nanoseconds": 1, "microseconds": 1_000, "milliseconds": 1_000_000}


def _column_range(metadata: pq.FileMetaData, name: str) -> tuple[int, int, int] | None:
    """(min, max) in nanoseconds and null count of timestamp column ``name`` over the row
    groups; None without statistics; (0, -1, rows) when the file lacks the column."""
    low, high, nulls = 0, -1, 0
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        found = [group.column(j) for j in range(group.num_columns)]
        column = next((c for c in found if c.path_in_schema == name), None)
        if column is None:
            return 0, -1, metadata.num_rows
        stats = column.statistics
        if stats is None or not stats.has_null_count:
            return None
        nulls += stats.null_count
        if stats.null_count == group.num_rows:
            continue
        if not stats.has_min_max or stats.logical_type is None:
            return None
        unit = json.loads(stats.logical_type.to_json()).get("timeUnit")
        if unit not in NS_PER_UNIT:
            return None
        first, last = stats.min_raw * NS_PER_UNIT[unit], stats.max_raw * NS_PER_UNIT[unit]
        low, high = (first, last) if high < low else (min(low, first), max(high, last))
    return low, high, nulls


def stamp_range(metadata: pq.FileMetaData, columns: Sequence[str]) -> tuple[int, int] | None:
    """Bounds (nanoseconds) of every row's first non-null of ``columns``, when the footer
    proves them and no row's is null; else None."""
    low, high = 0, -1
    for name in columns:
        found = _column_range(metadata, name)
        if found is None:
            return None
        first, last, nulls = found
        if first <= last:
            low, high = (first, last) if high < low else (min(low, first), max(high, last))
        if nulls == 0:
            return (low, high) if low <= high else None
    return None  # some row may have no timestamp at all


def within_day(stamps: tuple[int, int] | None, day: dt.date, bucket: BucketSpec) -> bool:
    """Whether timestamps within ``stamps`` all fall in buckets of ``day``."""
    if stamps is None:
        return False
    stamp = pl.col("Stamp").cast(pl.Datetime("ns"))
    days = pl.DataFrame({"Stamp": list(stamps)}).select(
        bucket.inside(bucket.label(stamp)).dt.date()
    )
    return set(days.to_series()) == {day}
