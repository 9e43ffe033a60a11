"""Cheap size estimates of lake files: rows per listing and bytes per row.

Estimates come from Parquet footers where possible: when every row group holds a single
listing (its ``ListingId`` statistics have min == max), the per-listing row counts are exact
without reading data; otherwise only the ``ListingId`` column is read and counted. Bytes per
row are the uncompressed size over the row count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from basalt.errors import DataError
from basalt.lake import Lake
from basalt.planning.stamps import stamp_range

if TYPE_CHECKING:  # pyarrow loads with the first footer read, while the workers start
    import pyarrow.parquet as pq

__all__ = ["FileLayout", "inspect_file", "listing_bytes"]

KEY = "ListingId"


@dataclass(frozen=True)
class FileLayout:
    """What the footer of one file says about its listings."""

    path: str
    rows: int
    bytes_per_row: float
    organised: bool
    """Whether the file is sorted by ListingId (row-group ranges only touch), so scans can
    skip the row groups of other listings."""
    counts: pl.DataFrame
    """Rows per listing: ``ListingId``, ``Rows``."""
    stamps: tuple[int, int] | None = None
    """Bounds (ns) of every row's timestamp, when the footer proves them."""


def _key_column(metadata: pq.FileMetaData) -> int | None:
    """Position of the ``ListingId`` column in the row groups. Read from a row group: the
    footer's ``schema`` would put it in a reference cycle, keeping its memory (megabytes for
    wide files) until Python's cycle collector runs."""
    if metadata.num_row_groups == 0:
        return None
    group = metadata.row_group(0)
    found = (i for i in range(group.num_columns) if group.column(i).path_in_schema == KEY)
    return next(found, None)


def _ranges(metadata: pq.FileMetaData) -> list[tuple[int, int, int]] | None:
    index = _key_column(metadata)
    ranges = []
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        stats = group.column(index).statistics if index is not None else None
        if stats is None or not stats.has_min_max:
            return None
        ranges.append((int(stats.min), int(stats.max), group.num_rows))
    return ranges


def inspect_file(lake: Lake, path: str, stamp_columns: Sequence[str] = ()) -> FileLayout:
    """The layout of the lake file ``path``, with the bounds of its timestamps taken from
    ``stamp_columns`` (:func:`~basalt.planning.stamps.stamp_range`)."""
    try:
        metadata = lake.storage.metadata(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot read parquet metadata ({exc})") from exc
    ranges = _ranges(metadata)
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    size = sum(g.total_byte_size for g in groups)
    rows = metadata.num_rows
    ordered = sorted(ranges or [])
    organised = ranges is not None and all(a[1] <= b[0] for a, b in itertools.pairwise(ordered))
    if ranges is not None and all(low == high for low, high, _ in ranges):
        counts = (
            pl.DataFrame(ranges, schema=[KEY, "High", "Rows"], orient="row")
            .group_by(KEY)
            .agg(pl.col("Rows").sum())
        )
    else:
        counts = (
            lake.storage.scan_parquet(path)
            .group_by(KEY)
            .agg(pl.len().cast(pl.Int64).alias("Rows"))
            .collect()
        )
    stamps = stamp_range(metadata, stamp_columns) if stamp_columns else None
    return FileLayout(path, rows, size / rows if rows else 0.0, organised, counts, stamps)


def listing_bytes(layouts: Sequence[FileLayout]) -> pl.DataFrame:
    """Estimated uncompressed bytes per listing over ``layouts``: ``ListingId``, ``Bytes``."""
    frames = [
        layout.counts.select(KEY, (pl.col("Rows") * layout.bytes_per_row).alias("Bytes"))
        for layout in layouts
    ]
    if not frames:
        return pl.DataFrame(schema={KEY: pl.Int64, "Bytes": pl.Float64})
    return pl.concat(frames).group_by(KEY).agg(pl.col("Bytes").sum())
