"""The ``parquet`` output target: one Parquet file per pass and date range."""

from __future__ import annotations

import polars as pl

from basalt.files import atomic_path
from basalt.outputs.base import OutputTarget

__all__ = ["ParquetOutput"]


class ParquetOutput(OutputTarget):
    """Write a Parquet file (zstd); the file appears only once complete (atomic rename)."""

    name = "parquet"

    def write(self, frame: pl.LazyFrame, location: str) -> str:
        with atomic_path(location) as partial:
            frame.sink_parquet(partial, compression="zstd", statistics=True)
        return location
