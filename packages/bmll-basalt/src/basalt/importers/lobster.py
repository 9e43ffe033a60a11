"""Import LOBSTER message/orderbook files into a BMLL-shaped lake.

Each table gets one file per MIC and day holding every listing of that day. A file already in
the lake keeps the rows of other listings; the imported listings' rows are replaced, so
importing again is idempotent (pass all files of a listing and day together).
See :mod:`basalt.importers.lobster_tables` for how LOBSTER maps onto the BMLL tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from basalt.errors import ConfigError
from basalt.files import atomic_path
from basalt.importers.lobster_files import pair_files, parse_file_name, read_source
from basalt.importers.lobster_tables import convert_day
from basalt.lake import Lake
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable

__all__ = ["ImportSummary", "import_lobster"]

SORT_KEYS: dict[type[DataTable], tuple[str, ...]] = {
    TradesTable: ("ListingId", "TradeTimestampNanoseconds", "BMLLSequenceNo"),
    L2Table: ("ListingId", "TimestampNanoseconds", "L2EventNo"),
    L3Table: ("ListingId", "TimestampNanoseconds", "EventNo"),
    MarketStateTable: ("ListingId", "TimestampNanoseconds"),
    ReferenceTable: ("ListingId",),
}


@dataclass(frozen=True)
class ImportSummary:
    """The files written and the rows imported per table (``trades``, ``l2``, ...)."""

    files: tuple[str, ...]
    rows: Mapping[str, int]


def _write(
    lake: Lake, table: type[DataTable], path: str, frame: pl.DataFrame, listings: pl.Series
) -> None:
    """Write ``frame`` to ``path`` atomically, keeping the rows of other listings found there."""
    if lake.exists(path):
        kept = table.scan_file(lake, path).select(table.schema().names())
        kept = kept.filter(~pl.col("ListingId").is_in(listings.implode()).fill_null(False))
        frame = pl.concat([kept.collect(), frame])
    frame = frame.sort(SORT_KEYS[table], maintain_order=True)
    with atomic_path(path) as partial:
        frame.write_parquet(partial, compression="zstd", statistics=True)


def import_lobster(
    paths: Sequence[Path | str], root: Path | str, *, mic: str = "XNAS"
) -> ImportSummary:
    """Convert LOBSTER files into the trades, l2, l3, market-state and reference tables of
    the lake at ``root`` for ``mic``. Everything is read and checked before anything is
    written; bad names or combinations raise ``ConfigError``, bad contents ``DataError``."""
    if not re.fullmatch(r"[A-Z0-9]{4}", mic):
        raise ConfigError(f"invalid MIC {mic!r} (four upper-case letters or digits)")
    if not paths:
        raise ConfigError("no LOBSTER files given")
    files = [parse_file_name(path) for path in paths]
    missing = [str(file.path) for file in files if not file.path.is_file()]
    if missing:
        raise ConfigError(f"no such file(s): {', '.join(missing)}")
    sources = pair_files(files)
    days = sorted({source.message.day for source in sources})
    converted = {
        day: convert_day(
            [(source, read_source(source)) for source in sources if source.message.day == day],
            mic,
        )
        for day in days
    }
    lake = Lake(str(root))
    written: list[str] = []
    rows = {table.name: 0 for table in SORT_KEYS}
    for day, tables in converted.items():
        listings = tables[ReferenceTable]["ListingId"]
        for table, frame in tables.items():
            rows[table.name] += frame.height
            path = table.path(lake, mic, day)
            if frame.is_empty() and not lake.exists(path):
                continue
            _write(lake, table, path, frame, listings)
            written.append(path)
    return ImportSummary(tuple(written), rows)
