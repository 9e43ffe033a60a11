"""Tasks: one pass computed for one day and one symbol batch, in whichever process runs it.

A :class:`Task` is plain, picklable data — the validated configuration as JSON, the batch's
listings and the files of every input table — so executors can ship it to other processes
or machines, where :func:`execute_task` rebuilds the configuration against the installed
plugins, computes the modules, joins their outputs and writes the batch's part file.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from basalt.analytic import AnalyticContext
from basalt.config.models import AnalyticsConfig
from basalt.errors import ConfigError
from basalt.lake import Lake
from basalt.plugins import Registry, get_registry
from basalt.retry import with_retries
from basalt.timeline import dense_grid, forward_fill

__all__ = ["PASSTHROUGH", "TableInput", "Task", "TaskResult", "execute_task", "join_module_outputs"]

PASSTHROUGH = ("MIC", "Ticker", "InstrumentId")


@dataclass(frozen=True)
class TableInput:
    """The files of one input table for a task; ``restricted`` files hold only the
    batch's listings already (prepared by shredding), others are filtered on read."""

    lake: Lake
    files: tuple[str, ...]
    restricted: bool = False


@dataclass(frozen=True, eq=False)
class Task:
    """Compute pass ``pass_index`` on ``day`` for the listings of symbol batch ``batch``."""

    config_json: str
    pass_index: int
    partition: str
    day: dt.date
    batch: int
    listings: pl.DataFrame
    inputs: dict[str, TableInput]
    part: str
    retries: int

    @property
    def label(self) -> str:
        """``pass p1, 2024-03-04, batch 0``."""
        return f"pass {self.pass_name}, {self.day}, batch {self.batch}"

    @property
    def pass_name(self) -> str:
        return str(json.loads(self.config_json)["PASSES"][self.pass_index]["name"])


@dataclass(frozen=True)
class TaskResult:
    """A written part file and its row count."""

    part: str
    rows: int


@functools.lru_cache(maxsize=8)
def _config(config_json: str, registry: Registry) -> AnalyticsConfig:
    from basalt.config.loading import validate_config

    return validate_config(json.loads(config_json), "task", registry)


def join_module_outputs(
    frames: Sequence[tuple[str, pl.LazyFrame]], keys: Sequence[str]
) -> pl.LazyFrame:
    """Full-join module outputs on ``keys``; a column produced twice is an error."""
    if len(frames) == 1:  # nothing to join or to collide with: no schema to resolve
        return frames[0][1]
    owner: dict[str, str] = {}
    result: pl.LazyFrame | None = None
    for module, frame in frames:
        for column in frame.collect_schema().names():
            if column in keys:
                continue
            if column in owner:
                raise ConfigError(
                    f"column {column!r} is produced by both {owner[column]!r} and {module!r}; "
                    "set a metric_prefix on one of them"
                )
            owner[column] = module
        joined = (
            frame
            if result is None
            else result.join(frame, on=list(keys), how="full", coalesce=True)
        )
        result = joined
    assert result is not None
    return result


def compute_task(task: Task, registry: Registry) -> pl.LazyFrame:
    """The joined, sorted module outputs of ``task`` (lazy)."""
    config = _config(task.config_json, registry)
    pass_config = config.PASSES[task.pass_index]
    bucket = pass_config.bucket(config.TIME_BUCKET_SECONDS)
    analytics = [registry.analytics[m] for m in pass_config.modules]
    ids = task.listings["ListingId"].to_list()
    tables = {
        name: registry.tables[name].scan_files(
            source.lake, source.files, listing_ids=None if source.restricted else ids, bucket=bucket
        )
        for name, source in task.inputs.items()
    }
    ctx = AnalyticContext(pass_config.name, task.day, bucket, task.listings, tables)
    outputs = [(a.name, a().compute(ctx, pass_config.module_config(a.name))) for a in analytics]
    keys = analytics[0].join_keys
    joined = join_module_outputs(outputs, keys)
    if pass_config.timeline_mode == "dense":
        grid = dense_grid(pass_config.dense, bucket, task.day, ids, tables.get("marketstate"))
        joined = grid.join(joined, on=list(keys), how="full", coalesce=True)
    passthrough = [c for c in PASSTHROUGH if c in task.listings.columns]
    universe = task.listings.lazy().select("ListingId", *passthrough)
    result = (
        joined.join(universe, on="ListingId", how="left")
        .select(*keys, *passthrough, pl.exclude(*keys, *passthrough))
        .sort(*keys)
    )
    return (
        forward_fill(result, pass_config.forward_fill, keys) if pass_config.forward_fill else result
    )


def execute_task(task: Task, registry: Registry | None = None) -> TaskResult:
    """Compute ``task`` and write its part file (temporary: fast compression, no
    statistics); transient I/O errors are retried."""
    resolved = registry or get_registry()

    def attempt() -> TaskResult:
        frame = compute_task(task, resolved).collect()
        frame.write_parquet(task.part, compression="lz4", statistics=False)
        return TaskResult(task.part, frame.height)

    return with_retries(attempt, retries=task.retries, what=task.label)
