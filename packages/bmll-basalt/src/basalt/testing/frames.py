"""BMLL-shaped frames from a few rows: exactly what an analytic sees in ``ctx.table(...)``.

Rows are dicts of BMLL column names; columns a row leaves out are null, except a few key
columns that get defaults (``ListingId`` 1, ``MIC`` ``XLON``, ``TradeDate`` the day of the
row's timestamp, trades' ``Classification`` ``LIT_CONTINUOUS`` and ``TradeNotional``
``Price * Size``). Timestamps may be ISO strings (nanosecond precision, naive UTC unless an
offset is given), ``datetime`` or ``date`` objects, or integer nanoseconds since the epoch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from basalt.tables.base import DataTable
from basalt.tables.bmll import (
    CbboTable,
    ImbalanceTable,
    L2Table,
    L3Table,
    MarketStateTable,
    ReferenceTable,
    TradesTable,
)
from basalt.timebuckets import BucketSpec

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_DATE",
    "DEFAULT_LISTING_ID",
    "DEFAULT_MIC",
    "Row",
    "bmll_frame",
    "cbbo_frame",
    "imbalance_frame",
    "l2_frame",
    "l3_frame",
    "marketstate_frame",
    "reference_frame",
    "table_frame",
    "trades_frame",
]

Row = Mapping[str, Any]
Default = Callable[[Mapping[str, Any]], Any]

DEFAULT_DATE = dt.date(2026, 1, 2)
DEFAULT_LISTING_ID = 1
DEFAULT_MIC = "XLON"
DEFAULT_BUCKET = BucketSpec()
EPOCH = dt.datetime(1970, 1, 1)
NS_PER_DAY = 86_400 * 10**9


def _constant(value: Any) -> Default:
    return lambda _row: value


def _epoch_ns(value: Any) -> Any:
    """An ISO string, datetime or date as nanoseconds since the epoch (naive UTC)."""
    if isinstance(value, str):
        return pl.Series([value]).str.to_datetime(time_unit="ns").dt.epoch("ns")[0]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return (value - EPOCH) // dt.timedelta(microseconds=1) * 1000
    if isinstance(value, dt.date):
        return (value - EPOCH.date()).days * NS_PER_DAY
    return value


def _day_of(*columns: str) -> Default:
    """Midnight of the first of ``columns`` the row sets, else of :data:`DEFAULT_DATE`."""

    def default(row: Mapping[str, Any]) -> Any:
        stamps = [row[c] for c in columns if row.get(c) is not None]
        return stamps[0] - stamps[0] % NS_PER_DAY if stamps else _epoch_ns(DEFAULT_DATE)

    return default


def _notional(row: Mapping[str, Any]) -> Any:
    price, size = row.get("Price"), row.get("Size")
    return None if price is None or size is None else price * size


_LISTING: dict[str, Default] = {"ListingId": _constant(DEFAULT_LISTING_ID)}
_LISTED: dict[str, Default] = {**_LISTING, "MIC": _constant(DEFAULT_MIC)}

_DEFAULTS: dict[type[DataTable], dict[str, Default]] = {
    TradesTable: {
        **_LISTED,
        "TradeDate": _day_of("TradeTimestampNanoseconds", "TradeTimestamp"),
        "Classification": _constant("LIT_CONTINUOUS"),
        "TradeNotional": _notional,
    },
    L2Table: {**_LISTED, "TradeDate": _day_of("TimestampNanoseconds", "EventTimestamp")},
    L3Table: {**_LISTING, "TradeDate": _day_of("TimestampNanoseconds")},
    MarketStateTable: _LISTED,
    CbboTable: {**_LISTED, "TradeDate": _day_of("TimestampNanoseconds", "EventTimestamp")},
    ImbalanceTable: {**_LISTED, "TradeDate": _day_of("TimestampNanoseconds", "Timestamp")},
    ReferenceTable: {**_LISTED, "Date": _day_of()},
}


def _column(name: str, dtype: pl.DataType, values: list[Any]) -> pl.Series:
    if isinstance(dtype, pl.Datetime):
        return pl.Series(name, values, pl.Int64).cast(pl.Datetime("ns")).cast(dtype)
    return pl.Series(name, values, dtype)


def bmll_frame(table: type[DataTable], rows: Iterable[Row]) -> pl.DataFrame:
    """``rows`` as a frame in the exact BMLL schema of ``table``, as stored in the lake."""
    schema = table.schema()
    timestamps = {name for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)}
    defaults = _DEFAULTS.get(table, {})
    completed: list[dict[str, Any]] = []
    for row in rows:
        unknown = sorted(set(row) - set(schema))
        if unknown:
            raise ValueError(f"the {table.name} table has no column(s) {', '.join(unknown)}")
        parsed = {k: _epoch_ns(v) if k in timestamps else v for k, v in row.items()}
        filled = {k: default(parsed) for k, default in defaults.items() if k not in parsed}
        completed.append({**filled, **parsed})
    return pl.DataFrame(
        [
            _column(name, dtype, [row.get(name) for row in completed])
            for name, dtype in schema.items()
        ]
    )


def table_frame(
    table: type[DataTable], rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET
) -> pl.LazyFrame:
    """``rows`` normalised as ``table`` does, with a ``TimeBucket`` column given ``bucket``
    (and a timestamp column): the frame an analytic receives."""
    frame = table.normalise(bmll_frame(table, rows).lazy())
    if bucket is not None and table.timestamp is not None:
        frame = frame.with_columns(bucket.label(pl.col(table.timestamp)))
    return frame


def trades_frame(rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET) -> pl.LazyFrame:
    """A trades-plus frame (``TradeTimestamp`` in ns, ``LocalPrice``, ``TimeBucket``)."""
    return table_frame(TradesTable, rows, bucket)


def l2_frame(rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET) -> pl.LazyFrame:
    """An L2 frame (``EventTimestamp`` in ns, ``TimeBucket``)."""
    return table_frame(L2Table, rows, bucket)


def l3_frame(rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET) -> pl.LazyFrame:
    """An L3 frame (``EventTimestamp`` from ``TimestampNanoseconds``, ``TimeBucket``)."""
    return table_frame(L3Table, rows, bucket)


def marketstate_frame(
    rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET
) -> pl.LazyFrame:
    """A market-state frame (``EventTimestamp`` from ``TimestampNanoseconds``, ``TimeBucket``)."""
    return table_frame(MarketStateTable, rows, bucket)


def cbbo_frame(rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET) -> pl.LazyFrame:
    """A CBBO frame (``EventTimestamp`` in ns, ``TimeBucket``)."""
    return table_frame(CbboTable, rows, bucket)


def imbalance_frame(
    rows: Iterable[Row], bucket: BucketSpec | None = DEFAULT_BUCKET
) -> pl.LazyFrame:
    """An auction-imbalance frame (``EventTimestamp`` from ``TimestampNanoseconds`` or
    ``Timestamp``, ``TimeBucket``)."""
    return table_frame(ImbalanceTable, rows, bucket)


def reference_frame(rows: Iterable[Row]) -> pl.LazyFrame:
    """A reference frame (no timestamp, so no ``TimeBucket``)."""
    return table_frame(ReferenceTable, rows, None)
