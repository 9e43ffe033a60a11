"""The ``parquet`` output target: one Parquet file per pass and date batch, or with
``partition_columns`` one directory of hive-partitioned files.

The partition's manifest (:class:`~basalt.outputs.base.Partition`) is in the key-value
metadata of every file written, so it appears and disappears with them. Files of the same
output written for other date ranges give up the days a new partition covers, so a row is
never in two files.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from collections.abc import Iterator

import polars as pl

from basalt.config.models import OutputConfig
from basalt.files import locked, remove_stale, temporary_name
from basalt.outputs.base import OutputTarget, Partition
from basalt.storage import Storage, is_url, open_storage

__all__ = ["ParquetOutput"]


class ParquetOutput(OutputTarget):
    """A Parquet file (zstd) per partition, local or on S3, that appears only once complete;
    with ``partition_columns``, a local directory of ``column=value/`` files, swapped in
    whole (concurrent writers of one directory take turns)."""

    name = "parquet"

    @classmethod
    def check(cls, config: OutputConfig) -> None:
        if config.partition_columns and is_url(config.path_template):
            raise ValueError("parquet partition_columns need a local path_template")

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        prepared = self.prepared(frame)
        columns = self.config.partition_columns
        manifest = partition.manifest()
        if not columns:
            storage = open_storage(location, self.storage_options)
            with self._turn(location):
                self._give_days(storage, location, partition)
                storage.write_parquet(prepared, location, manifest)
            return location
        target = os.path.abspath(location)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        partial = temporary_name(target)
        retired = f"{partial}.old"
        try:
            prepared.sink_parquet(
                pl.PartitionBy(partial, key=columns),
                compression="zstd",
                metadata=manifest,
                mkdir=True,
            )
            os.makedirs(partial, exist_ok=True)  # no rows: an empty directory
            with locked(target):
                remove_stale(target)  # a swap cut short by a kill is undone first
                if os.path.isdir(target):
                    os.replace(target, retired)
                try:
                    os.replace(partial, target)
                except BaseException:
                    if os.path.isdir(retired):
                        os.replace(retired, target)  # the earlier content stays
                    raise
        finally:
            for leftover in (partial, retired):
                shutil.rmtree(leftover, ignore_errors=True)
        return location

    @staticmethod
    @contextlib.contextmanager
    def _turn(location: str) -> Iterator[None]:
        """Wait for the other writers of the local directory of ``location`` (its lock file is
        ``.basalt.lock`` there)."""
        if is_url(location):
            yield
            return
        with locked(os.path.join(os.path.dirname(os.path.abspath(location)), "basalt")):
            yield

    @staticmethod
    def _give_days(storage: Storage, location: str, partition: Partition) -> None:
        """The files of other partitions of this output (a run over other dates) lose the
        days of ``partition``: a file holding only such days is removed, one holding others
        too is rewritten without them, so no row is in two files."""
        pattern = location
        for day in {partition.first, partition.last}:
            pattern = pattern.replace(day.isoformat(), "*")
        if pattern == location:
            return
        days = set(partition.covered)
        for other in storage.glob(pattern):
            entries = Partition.entries(storage.file_metadata(other)) if other != location else []
            held = {day for day, _ in entries}
            if not held & days:
                continue
            if held <= days:
                storage.remove(other)
                continue
            kept = sorted(held - days)
            day_of = partition.bucket.inside(pl.col("TimeBucket")).dt.date()
            rest = storage.scan_parquet(other).filter(day_of.is_in(kept)).collect()
            manifest = Partition(kept[0], kept[-1], partition.bucket, tuple(kept), entries[0][1])
            storage.write_parquet(rest.lazy(), other, manifest.manifest())

    def scan(self, location: str) -> pl.LazyFrame:
        if self.config.partition_columns:
            return pl.scan_parquet(location, hive_partitioning=True)
        return open_storage(location, self.storage_options).scan_parquet(location)

    def exists(self, location: str) -> bool:
        if self.config.partition_columns:
            return os.path.isdir(location)
        return open_storage(location, self.storage_options).exists(location)

    def is_complete(self, location: str, partition: Partition) -> bool:
        if self.config.partition_columns:
            files = sorted(glob.glob(os.path.join(glob.escape(location), "**", "*.parquet")))
            if not files:
                return False
            location = files[0]
        storage = open_storage(location, self.storage_options)
        if not storage.exists(location):
            return False
        return partition.recorded(Partition.entries(storage.file_metadata(location)))
