"""``DataTable``: how one BMLL table is found in the lake, checked and normalised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

import polars as pl

from basalt.errors import DataError, TableSchemaError
from basalt.lake import Lake
from basalt.tables.schema import bmll_schema
from basalt.timebuckets import BucketSpec

__all__ = ["DataTable"]


class DataTable:
    """An input table of the BMLL lake.

    Subclasses set the lake ``folder`` and file ``prefix``, the BMLL ``schema_name``, the
    ``required_columns`` a file must have, and the ``timestamp`` column produced by
    :meth:`normalise` (``Datetime[ns]``, naive UTC). Columns of the BMLL schema that a file
    lacks (and that are not required) are added as nulls, so analytics can rely on them.
    """

    name: ClassVar[str]
    folder: ClassVar[str]
    prefix: ClassVar[str]
    schema_name: ClassVar[str]
    required_columns: ClassVar[tuple[str, ...]] = ("ListingId",)
    timestamp: ClassVar[str | None] = None
    timestamp_columns: ClassVar[tuple[str, ...]] = ()
    """The file columns :meth:`normalise` takes ``timestamp`` from: the first non-null of
    them, in nanoseconds (default: ``timestamp`` itself)."""
    every_venue_day: ClassVar[bool] = True
    """Whether every MIC has a file of the table on each of its trading days, so that a
    missing file means lost data (false for feeds only some MICs or days have)."""

    @classmethod
    def schema(cls) -> pl.Schema:
        """The BMLL schema of the table's files."""
        return bmll_schema(cls.schema_name)

    @classmethod
    def path(cls, lake: Lake, mic: str, day: dt.date) -> str:
        """Path of the table's file for ``mic`` on ``day``."""
        return lake.file(cls.folder, cls.prefix, mic, day)

    @classmethod
    def files(cls, lake: Lake, mics: Sequence[str], days: Sequence[dt.date]) -> list[str]:
        """The existing files of ``mics`` on ``days`` (nothing else is touched)."""
        candidates = (cls.path(lake, mic, day) for day in days for mic in mics)
        return [path for path in candidates if lake.exists(path)]

    @classmethod
    def scan_file(cls, lake: Lake, path: str) -> pl.LazyFrame:
        """Lazy scan of one file, checked for required columns, on the BMLL schema."""
        try:
            present = lake.storage.schema(path)
        except Exception as exc:
            raise DataError(f"{path}: cannot read parquet metadata ({exc})") from exc
        missing = [c for c in cls.required_columns if c not in present]
        if missing:
            raise TableSchemaError(path, cls.name, missing)
        schema = cls.schema()
        frame = lake.storage.scan_parquet(path)
        fixes = [
            pl.col(c).cast(dtype)
            for c, dtype in schema.items()
            if c in present and present[c] != dtype
        ]
        fixes += [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in present]
        return frame.with_columns(fixes) if fixes else frame

    @classmethod
    def check_readable(cls, lake: Lake, paths: Sequence[str]) -> None:
        """Read every value of the files ``paths`` as the table (casts included), in a
        streaming pass each; raise DataError naming the first file that fails — to find
        which file broke a query over several."""
        for path in paths:
            try:
                frame = cls.scan_file(lake, path).select(pl.all().null_count())
                frame.collect(engine="streaming")
            except DataError:
                raise
            except Exception as exc:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
                raise DataError(
                    f"{path}: cannot be read as the {cls.name} table "
                    f"({type(exc).__name__}: {detail})"
                ) from exc

    @classmethod
    def empty(cls) -> pl.LazyFrame:
        """An empty frame with the table's BMLL schema."""
        return pl.LazyFrame(schema=cls.schema())

    @classmethod
    def scan(
        cls,
        lake: Lake,
        mics: Sequence[str],
        days: Sequence[dt.date],
        *,
        listing_ids: Sequence[int] | None = None,
        bucket: BucketSpec | None = None,
    ) -> pl.LazyFrame:
        """The table for ``mics`` × ``days`` (optionally only ``listing_ids``), normalised
        and, given ``bucket``, with a ``TimeBucket`` column."""
        return cls.scan_files(
            lake, cls.files(lake, mics, days), listing_ids=listing_ids, bucket=bucket
        )

    @classmethod
    def scan_files(
        cls,
        lake: Lake,
        files: Sequence[str],
        *,
        listing_ids: Sequence[int] | None = None,
        bucket: BucketSpec | None = None,
    ) -> pl.LazyFrame:
        """Like :meth:`scan`, over the given lake ``files``."""
        frames = [cls.scan_file(lake, path).select(cls.schema().names()) for path in files]
        frame = pl.concat(frames, how="vertical") if frames else cls.empty()
        if listing_ids is not None:
            frame = frame.filter(pl.col("ListingId").is_in(list(listing_ids)))
        frame = cls.normalise(frame)
        if bucket is not None and cls.timestamp is not None:
            frame = frame.with_columns(bucket.label(pl.col(cls.timestamp)))
        return frame

    @classmethod
    def normalise(cls, frame: pl.LazyFrame) -> pl.LazyFrame:
        """``timestamp`` from ``timestamp_columns``, as ``Datetime[ns]`` (each column cast to
        nanoseconds first: no precision is lost); subclasses add derived columns."""
        if cls.timestamp is None:
            return frame
        sources = cls.timestamp_sources()
        stamp = pl.coalesce(*(pl.col(c).cast(pl.Datetime("ns")) for c in sources))
        return frame.with_columns(stamp.alias(cls.timestamp))

    @classmethod
    def timestamp_sources(cls) -> tuple[str, ...]:
        """The file columns ``timestamp`` comes from; none without a timestamp."""
        if cls.timestamp is None:
            return ()
        return cls.timestamp_columns or (cls.timestamp,)
