"""The ``parquet`` output target: one Parquet file per pass and date batch, or with
``partition_columns`` one directory of hive-partitioned files.

The partition's manifest (:class:`~basalt.outputs.base.Partition`) is in the key-value
metadata of every file written, so it appears and disappears with them.
"""

from __future__ import annotations

import glob
import os
import shutil

import polars as pl

from basalt.config.models import OutputConfig
from basalt.files import locked, remove_stale, temporary_name
from basalt.outputs.base import OutputTarget, Partition, check_local_directory
from basalt.storage import is_url, open_storage

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

    def check_writable(self, location: str) -> None:
        if not is_url(location):
            check_local_directory(location)

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        prepared = self.prepared(frame)
        columns = self.config.partition_columns
        manifest = partition.manifest()
        if not columns:
            open_storage(location, self.storage_options).write_parquet(prepared, location, manifest)
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
