"""``OutputTarget``: where and how the result of a pass is written.

A pass writes one output partition per date batch. A partition's rows are those whose
``TimeBucket`` falls on its days (the day of a bucket is the day of its middle, so a bucket
labelled midnight by its end belongs to the day before), and, with ``partition_columns``, of
the values of those columns it holds: re-writing a partition replaces exactly those rows.

Every write also records, atomically with the rows, which days it covered and for which
universe (the partition's *manifest*): a partition is complete — and skipped on resume —
only when every one of its days was recorded for its universe.
"""

from __future__ import annotations

import datetime as dt
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from basalt.errors import ConfigError, DataError, TransientError
from basalt.storage import is_url, open_storage
from basalt.timebuckets import BucketSpec

if TYPE_CHECKING:
    from basalt.config.models import OutputConfig

__all__ = [
    "DEFAULT_INDEX",
    "MANIFEST_DAYS",
    "MANIFEST_SCOPE",
    "OutputTarget",
    "Partition",
    "PartitionRows",
]

DEFAULT_INDEX = "index"
MANIFEST_DAYS = "basalt.days"
"""Manifest key: the days a write covered, ISO dates separated by commas."""
MANIFEST_SCOPE = "basalt.universe"
"""Manifest key: the universe a write covered."""


@dataclass(frozen=True)
class Partition:
    """The days ``first`` to ``last`` of a pass whose buckets are ``bucket``; ``days`` are
    the days it covers (default: every day from ``first`` to ``last``) and ``scope`` the
    universe it was computed for."""

    first: dt.date
    last: dt.date
    bucket: BucketSpec
    days: tuple[dt.date, ...] = ()
    scope: str = ""

    @property
    def covered(self) -> tuple[dt.date, ...]:
        """The days of the partition."""
        if self.days:
            return self.days
        count = (self.last - self.first).days + 1
        return tuple(self.first + dt.timedelta(days=i) for i in range(count))

    def manifest(self) -> dict[str, str]:
        """What a write of this partition records beside its rows."""
        days = ",".join(day.isoformat() for day in self.covered)
        return {MANIFEST_DAYS: days, MANIFEST_SCOPE: self.scope}

    def recorded(self, entries: Iterable[tuple[dt.date, str]]) -> bool:
        """Whether ``entries`` (day, universe) written for a location cover this
        partition."""
        done = {day for day, scope in entries if scope == self.scope}
        return set(self.covered) <= done

    def check_rows(self, frame: pl.LazyFrame) -> None:
        """Raise DataError if ``frame`` has rows outside the partition's days: writing them
        would replace, or duplicate, rows of other partitions."""
        if "TimeBucket" not in frame.collect_schema().names():
            return
        low, high = self.bounds()
        outside = frame.filter(~pl.col("TimeBucket").is_between(low, high, closed="left"))
        count = outside.select(pl.len()).collect().item()
        if count:
            raise DataError(
                f"{count} output row(s) have a TimeBucket outside the partition's days "
                f"{self.first} to {self.last}; nothing was written"
            )

    @staticmethod
    def entries(manifest: Mapping[str, str]) -> list[tuple[dt.date, str]]:
        """The (day, universe) entries of a written ``manifest``."""
        days = [d for d in manifest.get(MANIFEST_DAYS, "").split(",") if d]
        scope = manifest.get(MANIFEST_SCOPE, "")
        return [(dt.date.fromisoformat(day), scope) for day in days]

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[low, high): the ``TimeBucket`` labels of the partition's days."""
        return self.bucket.day_labels(self.first, self.last)


@dataclass(frozen=True)
class PartitionRows:
    """The rows of a partition in a written table: ``TimeBucket`` in [``low``, ``high``)
    and, when ``columns`` are given, their values one of the tuples ``values``."""

    low: dt.datetime
    high: dt.datetime
    columns: tuple[str, ...] = ()
    values: list[tuple[Any, ...]] = field(default_factory=list)


class OutputTarget(ABC):
    """Writes the partitions of a pass's result to the locations its configuration names.

    ``storage_options`` configure object stores (``S3_STORAGE_OPTIONS``).
    """

    name: ClassVar[str]
    dedupes: ClassVar[bool] = False
    """Whether ``dedupe_on_partition`` applies: re-written partitions are found by their
    ``TimeBucket`` values in a table shared by partitions."""

    def __init__(
        self, config: OutputConfig, storage_options: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.config = config
        self.storage_options = storage_options

    @classmethod
    def check(cls, config: OutputConfig) -> None:
        """Raise ValueError for options this target cannot write with (at validation,
        before any data is read); nothing by default."""
        return None

    def check_writable(self, location: str) -> None:
        """Raise ConfigError if nothing could be written at ``location`` (checked before a
        run computes anything). By default ``location`` is a path: a local one needs a
        writable directory, a URL an existing bucket."""
        if not is_url(location):
            check_local_directory(location)
            return
        try:
            open_storage(location, self.storage_options).exists(location)
        except TransientError:
            raise
        except DataError as exc:
            raise ConfigError(f"cannot write {location}: {exc}") from None

    def prepared(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """``frame`` as written: with the row number column of ``preserve_index``."""
        if not self.config.preserve_index:
            return frame
        return frame.with_row_index(self.config.index_name or DEFAULT_INDEX)

    def partition_rows(self, frame: pl.DataFrame, partition: Partition) -> PartitionRows:
        """Which rows of a written table belong to ``partition``, whose new rows are
        ``frame``: those of its days and, with ``partition_columns``, of the values the new
        rows hold."""
        if "TimeBucket" not in frame.columns:
            raise ConfigError(
                "re-writing a partition needs a TimeBucket column; set dedupe_on_partition: "
                "false for this output"
            )
        low, high = partition.bounds()
        columns = self.config.partition_columns or []
        values = frame.select(columns).unique().rows() if columns else []
        return PartitionRows(low, high, tuple(columns), values)

    @staticmethod
    def in_nanoseconds(frame: pl.LazyFrame) -> pl.LazyFrame:
        """``frame`` with its timestamps back in nanoseconds (stores keep microseconds)."""
        return frame.with_columns(pl.col(pl.Datetime).cast(pl.Datetime("ns")))

    @abstractmethod
    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        """Write ``frame`` as ``partition`` at ``location`` (the rendered path template),
        replacing what that partition held, atomically; return where it was written."""

    @abstractmethod
    def scan(self, location: str) -> pl.LazyFrame:
        """What was written at ``location``: later passes read earlier ones so."""

    @abstractmethod
    def exists(self, location: str) -> bool:
        """Whether anything was written at ``location``."""

    @abstractmethod
    def is_complete(self, location: str, partition: Partition) -> bool:
        """Whether ``partition`` was written completely at ``location`` (for resuming)."""


def check_local_directory(location: str) -> None:
    """Raise ConfigError unless the local path ``location`` could be written: its nearest
    existing ancestor is a writable directory (nothing is created)."""
    ancestor = os.path.dirname(os.path.abspath(location))
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise ConfigError(f"cannot write {location}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {location}: {ancestor} is not writable")
