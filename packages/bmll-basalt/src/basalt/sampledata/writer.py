"""Streaming, atomic and byte-reproducible Parquet files: one row group per appended frame."""

from __future__ import annotations

import os
from types import TracebackType

import polars as pl
import pyarrow.parquet as pq

__all__ = ["ParquetSink"]

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
# Identifier strings that are (nearly) unique per row: dictionary encoding would only cost time.
UNIQUE_STRINGS = frozenset({"OrderId", "OriginalOrderId", "OldOrderId", "TradeId"})
# Columns with min/max statistics, so that readers can skip row groups by listing and time.
STATISTICS = (
    "ListingId",
    "InstrumentId",
    "MIC",
    "Ticker",
    "TradeDate",
    "Date",
    "TradeTimestamp",
    "TradeTimestampNanoseconds",
    "EventTimestamp",
    "TimestampNanoseconds",
)


class ParquetSink:
    """Writes frames of one schema to ``path`` as consecutive row groups.

    Integers and timestamps are delta-encoded, low-cardinality strings dictionary-encoded.

    Data goes to ``path + ".tmp"`` and is renamed into place on a clean exit, so a crash never
    leaves a partial file. The settings are fixed, so equal frames give equal bytes.
    """

    def __init__(self, path: str, schema: pl.Schema) -> None:
        self.path = path
        self.rows = 0
        self._tmp = f"{path}.tmp"
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
        strings = [name for name, dtype in schema.items() if dtype == pl.String()]
        integers = [
            name for name, dtype in schema.items() if dtype.is_integer() or dtype.is_temporal()
        ]
        self._writer = pq.ParquetWriter(
            self._tmp,
            arrow_schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=[name for name in strings if name not in UNIQUE_STRINGS],
            column_encoding=dict.fromkeys(integers, "DELTA_BINARY_PACKED"),
            write_statistics=[name for name in STATISTICS if name in schema],
        )

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (which has the sink's schema) as one row group."""
        self._writer.write_table(frame.to_arrow(), row_group_size=max(1, frame.height))
        self.rows += frame.height

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writer.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            os.remove(self._tmp)
