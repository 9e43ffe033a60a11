"""The ``parquet`` output target: one Parquet file per pass and date range."""

from __future__ import annotations

import os
import uuid

import polars as pl

from basalt.outputs.base import OutputTarget

__all__ = ["ParquetOutput"]


class ParquetOutput(OutputTarget):
    """Write a Parquet file (zstd); the file appears only once complete (atomic rename)."""

    name = "parquet"

    def write(self, frame: pl.LazyFrame, location: str) -> str:
        directory = os.path.dirname(location)
        if directory:
            os.makedirs(directory, exist_ok=True)
        partial = os.path.join(directory, f".{os.path.basename(location)}.{uuid.uuid4().hex}.tmp")
        try:
            frame.sink_parquet(partial, compression="zstd", statistics=True)
            os.replace(partial, location)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return location
