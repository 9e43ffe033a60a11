"""Universes selected from the lake's reference table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from basalt.errors import ConfigError
from basalt.lake import Lake
from basalt.tables.bmll import ReferenceTable
from basalt.universes.base import UNIVERSE_COLUMNS, Universe

__all__ = ["AllListings", "FileUniverse", "MicUniverse", "TickerUniverse"]


def _values(spec: str) -> list[str]:
    return [v.strip() for v in spec.split(",") if v.strip()]


def reference_listings(lake: Lake, mics: list[str], day: dt.date) -> pl.DataFrame:
    """The reference rows of ``mics`` on ``day``, restricted to the universe columns."""
    files = ReferenceTable.files(lake, mics, [day])
    frame = ReferenceTable.scan_files(lake, files).select(UNIVERSE_COLUMNS)
    try:
        return frame.unique("ListingId", keep="first").sort("ListingId").collect()
    except Exception:
        ReferenceTable.check_readable(lake, files)  # names the file that broke it
        raise


class AllListings(Universe):
    """Every listing of the lake's reference table for the day (the default)."""

    name = "all"
    tables = (ReferenceTable.name,)

    def mics(self, lake: Lake, day: dt.date) -> list[str]:
        return lake.mics(ReferenceTable.folder)

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        return reference_listings(lake, self.mics(lake, day), day)


class MicUniverse(Universe):
    """Every listing of the given MICs: ``mic=XLON`` or ``mic=XLON,XPAR``."""

    name = "mic"
    tables = (ReferenceTable.name,)

    def __init__(self, value: str = "") -> None:
        super().__init__(value)
        if not _values(value):
            raise ValueError("mic= needs at least one MIC, e.g. mic=XLON")

    def mics(self, lake: Lake, day: dt.date) -> list[str]:
        return [mic.upper() for mic in _values(self.value)]

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        return reference_listings(lake, self.mics(lake, day), day)


class TickerUniverse(Universe):
    """Listings with the given tickers on any MIC: ``ticker=AMZN,GOOG``."""

    name = "ticker"
    tables = (ReferenceTable.name,)

    def __init__(self, value: str = "") -> None:
        super().__init__(value)
        if not _values(value):
            raise ValueError("ticker= needs at least one ticker, e.g. ticker=AMZN")

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        listings = reference_listings(lake, lake.mics(ReferenceTable.folder), day)
        return listings.filter(pl.col("Ticker").is_in(_values(self.value)))


class FileUniverse(Universe):
    """Listings from a CSV or Parquet file with at least ``ListingId`` and ``MIC``: ``file=u.csv``.

    A ``Date`` column, when present, selects the rows of the day.
    """

    name = "file"

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        path = Path(self.value)
        if not path.is_file():
            raise ConfigError(f"universe file {self.value!r} does not exist")
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        missing = [c for c in ("ListingId", "MIC") if c not in frame.columns]
        if missing:
            raise ConfigError(f"universe file {self.value!r} lacks column(s) {', '.join(missing)}")
        if "Date" in frame.columns:
            frame = frame.filter(pl.col("Date").cast(pl.Date) == day)
        return frame.with_columns(pl.col("ListingId").cast(pl.Int64))
