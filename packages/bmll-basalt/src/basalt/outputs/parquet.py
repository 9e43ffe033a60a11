"""The ``parquet`` output target: one Parquet file per pass and date batch, or with
``partition_columns`` one directory of hive-partitioned files."""

from __future__ import annotations

import os
import shutil
import uuid

import polars as pl

from basalt.config.models import OutputConfig
from basalt.outputs.base import OutputTarget, Partition
from basalt.storage import is_url, open_storage

__all__ = ["ParquetOutput"]


class ParquetOutput(OutputTarget):
    """A Parquet file (zstd) per partition, local or on S3, that appears only once complete;
    with ``partition_columns``, a local directory of ``column=value/`` files, swapped in
    whole."""

    name = "parquet"

    @classmethod
    def check(cls, config: OutputConfig) -> None:
        if config.partition_columns and is_url(config.path_template):
            raise ValueError("parquet partition_columns need a local path_template")

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        prepared = self.prepared(frame)
        columns = self.config.partition_columns
        if not columns:
            open_storage(location, self.storage_options).write_parquet(prepared, location)
            return location
        parent = os.path.dirname(os.path.abspath(location))
        os.makedirs(parent, exist_ok=True)
        partial = os.path.join(parent, f".{os.path.basename(location)}.{uuid.uuid4().hex}.tmp")
        retired = f"{partial}.old"
        try:
            prepared.sink_parquet(
                pl.PartitionBy(partial, key=columns), compression="zstd", mkdir=True
            )
            os.makedirs(partial, exist_ok=True)  # no rows: an empty directory
            if os.path.isdir(location):
                os.replace(location, retired)
            try:
                os.replace(partial, location)
            except BaseException:
                if os.path.isdir(retired):
                    os.replace(retired, location)  # the earlier content stays
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
        return self.exists(location)
