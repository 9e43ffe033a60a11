"""The ``parquet`` output target: one Parquet file per pass and date batch."""

from __future__ import annotations

import polars as pl

from basalt.outputs.base import OutputTarget
from basalt.storage import open_storage

__all__ = ["ParquetOutput"]


class ParquetOutput(OutputTarget):
    """A Parquet file (zstd) per partition, local or on S3; it appears only once complete."""

    name = "parquet"

    def write(self, frame: pl.LazyFrame, location: str) -> str:
        open_storage(location, self.storage_options).write_parquet(frame, location)
        return location

    def scan(self, location: str) -> pl.LazyFrame:
        return open_storage(location, self.storage_options).scan_parquet(location)

    def is_complete(self, location: str) -> bool:
        return open_storage(location, self.storage_options).exists(location)
