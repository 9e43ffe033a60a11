"""The ``delta`` output target: a Delta Lake table (``deltalake``), local or on S3.

Each partition is written in one commit: with ``dedupe_on_partition`` it replaces the rows
of the partition (its dates, and its values of ``partition_columns``) and adds the new ones
at once, so a failed write leaves the table as it was and a re-write leaves no duplicates.
The commit carries the partition's manifest (its days and universe) in its metadata; the
table's history says which days are complete. Writers of a local table take turns (a lock
file); a commit that lost a race with another writer's is made again on the new version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl

from basalt.config.models import OutputConfig
from basalt.errors import ConfigError
from basalt.files import locked
from basalt.outputs.base import (
    MANIFEST_DAYS,
    OutputTarget,
    Partition,
    PartitionRows,
)
from basalt.storage import is_url

__all__ = ["DeltaOutput", "manifest_entries"]

COMMIT_ATTEMPTS = 5
MANIFEST_REPLACES = "basalt.replaces"
"""Manifest key of a commit: what earlier entries it replaces (table, days or universe)."""
UNCHANGING = ("OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES")
"""Operations of other writers that keep every row."""


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


def manifest_entries(history: list[dict[str, Any]]) -> set[tuple[dt.date, str]]:
    """The (day, universe) entries a table's ``history`` (newest first, as
    ``DeltaTable.history`` gives it) records as written. A commit of another writer that
    may have changed rows forgets everything before it."""
    entries: set[tuple[dt.date, str]] = set()
    for commit in reversed(history):
        if MANIFEST_DAYS not in commit:
            if commit.get("operation") not in UNCHANGING:
                entries.clear()
            continue
        new = Partition.entries({k: str(v) for k, v in commit.items()})
        replaces = commit.get(MANIFEST_REPLACES)
        if replaces == "table":
            entries.clear()
        days = {day for day, _ in new}
        scopes = {scope for _, scope in new}
        entries = {
            (day, scope)
            for day, scope in entries
            if day not in days or (replaces == "universe" and scope not in scopes)
        }
        entries |= set(new)
    return entries


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
        overwrite = self.config.delta_mode == "overwrite" and location not in self._overwritten
        manifest = partition.manifest()
        arguments: dict[str, Any] = {
            "partition_by": self.config.partition_columns,
            "storage_options": dict(self.storage_options) or None,
            "mode": "append",
        }
        if overwrite:
            arguments |= {"mode": "overwrite", "schema_mode": "overwrite"}
            manifest[MANIFEST_REPLACES] = "table"
        elif self.config.dedupe_on_partition:
            condition = predicate(self.partition_rows(data, partition))
            if condition is not None:
                arguments |= {"mode": "overwrite", "predicate": condition}
            manifest[MANIFEST_REPLACES] = "universe" if self.config.partition_columns else "days"
        arguments["commit_properties"] = deltalake.CommitProperties(custom_metadata=manifest)
        with self._turn(location):
            for attempt in range(COMMIT_ATTEMPTS):
                try:
                    deltalake.write_deltalake(location, data.to_arrow(), **arguments)
                    break
                except deltalake.exceptions.CommitFailedError:
                    if attempt == COMMIT_ATTEMPTS - 1:
                        raise
        if overwrite:
            self._overwritten.add(location)
        return location

    @staticmethod
    @contextlib.contextmanager
    def _turn(location: str) -> Iterator[None]:
        """Wait for the other writers of a local table."""
        if is_url(location):
            yield
            return
        with locked(location):
            yield

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
        options = dict(self.storage_options) or None
        history = _deltalake().DeltaTable(location, storage_options=options).history()
        return partition.recorded(manifest_entries(history))
