"""The ``delta`` output target: a Delta Lake table (``deltalake``), local or on S3.

Each partition is written in one commit: with ``dedupe_on_partition`` it replaces the rows
of the partition (its dates, and its values of ``partition_columns``) and adds the new ones
at once, so a failed write leaves the table as it was and a re-write leaves no duplicates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from basalt.config.models import OutputConfig
from basalt.errors import ConfigError
from basalt.outputs.base import OutputTarget, Partition, PartitionRows

__all__ = ["DeltaOutput"]


def _deltalake() -> Any:
    try:
        import deltalake
    except ImportError:
        raise ConfigError(
            'the delta output needs deltalake: pip install "bmll-basalt[delta]"'
        ) from None
    return deltalake


def _literal(value: Any) -> str:
    """``value`` as a literal of a Delta predicate."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    return repr(value)


def _equals(column: str, value: Any) -> str:
    return f'"{column}" IS NULL' if value is None else f'"{column}" = {_literal(value)}'


def predicate(rows: PartitionRows) -> str | None:
    """The Delta predicate selecting ``rows``; None when they are none."""
    if rows.columns and not rows.values:
        return None
    terms = [f'"TimeBucket" >= {_literal(rows.low)}', f'"TimeBucket" < {_literal(rows.high)}']
    if rows.columns:
        alternatives = (
            " AND ".join(_equals(c, v) for c, v in zip(rows.columns, row, strict=True))
            for row in rows.values
        )
        terms.append("(" + " OR ".join(f"({a})" for a in alternatives) + ")")
    return " AND ".join(terms)


class DeltaOutput(OutputTarget):
    """A Delta table, one commit per partition."""

    name = "delta"
    dedupes = True

    def __init__(self, config: OutputConfig, storage_options: tuple[tuple[str, str], ...] = ()):
        super().__init__(config, storage_options)
        self._overwritten: set[str] = set()

    @classmethod
    def check(cls, config: OutputConfig) -> None:
        if "{start_date}" in config.path_template or "{end_date}" in config.path_template:
            raise ValueError(
                "a delta path_template names one table: it may not contain {start_date} or "
                "{end_date}"
            )

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        deltalake = _deltalake()
        data = self.prepared(frame).collect()
        options = dict(self.storage_options) or None
        arguments: dict[str, Any] = {
            "partition_by": self.config.partition_columns,
            "storage_options": options,
            "mode": "append",
        }
        overwrite = self.config.delta_mode == "overwrite" and location not in self._overwritten
        if overwrite:
            arguments |= {"mode": "overwrite", "schema_mode": "overwrite"}
        elif self.config.dedupe_on_partition and self.exists(location):
            condition = predicate(self.partition_rows(data, partition))
            if condition is not None:
                arguments |= {"mode": "overwrite", "predicate": condition}
        deltalake.write_deltalake(location, data.to_arrow(), **arguments)
        if overwrite:
            self._overwritten.add(location)
        return location

    def scan(self, location: str) -> pl.LazyFrame:
        options = dict(self.storage_options) or None
        return self.in_nanoseconds(pl.scan_delta(location, storage_options=options))

    def exists(self, location: str) -> bool:
        deltalake = _deltalake()
        options = dict(self.storage_options) or None
        found: bool = deltalake.DeltaTable.is_deltatable(location, storage_options=options)
        return found

    def is_complete(self, location: str, partition: Partition) -> bool:
        if not self.exists(location):
            return False
        low, high = partition.bounds()
        rows = self.scan(location).filter(pl.col("TimeBucket").is_between(low, high, "left"))
        return bool(rows.select(pl.len()).collect().item() > 0)
