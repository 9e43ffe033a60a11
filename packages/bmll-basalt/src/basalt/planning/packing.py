"""Symbol batching: listings packed into batches whose input fits a memory budget."""

from __future__ import annotations

import polars as pl

__all__ = ["pack_listings"]


def pack_listings(
    sizes: pl.DataFrame, *, budget_bytes: float, min_batches: int = 1, group: str | None = None
) -> list[list[int]]:
    """Pack the listings of ``sizes`` (``ListingId``, ``Bytes``) into batches.

    Listings are taken in ``ListingId`` order (by ``group`` first when given, and listings of
    one group always share a batch). A batch is closed before it would exceed the budget and
    once it holds an even share of the total for ``min_batches`` batches (so that many
    workers get work); a single group larger than the budget gets a batch of its own.
    """
    if sizes.is_empty():
        return []
    units = (
        sizes.with_columns(pl.col(group or "ListingId").alias("Unit"))
        .group_by("Unit")
        .agg(pl.col("ListingId").sort(), pl.col("Bytes").sum())
        .sort("Unit")
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
