"""Symbol batching: listings packed into batches whose input fits a memory budget."""

from __future__ import annotations

import polars as pl

__all__ = ["pack_listings"]


def pack_listings(
    sizes: pl.DataFrame, *, budget_bytes: float, min_batches: int = 1, group: str | None = None
) -> list[list[int]]:
    """Pack the listings of ``sizes`` (``ListingId``, ``Bytes``) into batches.

    Listings are taken in ``ListingId`` order; listings of one ``group`` value always share a
    batch, taken at the place of their first listing (a listing whose group is null is
    alone). A batch is closed before it would exceed the budget and once it holds an even
    share of the total for ``min_batches`` batches (so that many workers get work); a single
    group larger than the budget gets a batch of its own.
    """
    if sizes.is_empty():
        return []
    # A listing without a group value is a unit of its own.
    unit = pl.coalesce(pl.col(group), -pl.col("ListingId")) if group else pl.col("ListingId")
    units = (
        sizes.with_columns(unit.alias("Unit"))
        .group_by("Unit")
        .agg(pl.col("ListingId").sort(), pl.col("Bytes").sum())
        .sort(pl.col("ListingId").list.first())
        .select("ListingId", "Bytes")
        .rows()
    )
    share = sum(size for _, size in units) / max(1, min_batches)
    batches: list[list[int]] = []
    current: list[int] = []
    filled = 0.0
    for listings, size in units:
        if current and filled + size > budget_bytes:
            batches.append(current)
            current, filled = [], 0.0
        current.extend(listings)
        filled += size
        if filled >= share:
            batches.append(current)
            current, filled = [], 0.0
    if current:
        batches.append(current)
    return batches
