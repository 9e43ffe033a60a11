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
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from basalt.analytic import PASSTHROUGH, AnalyticContext
from basalt.config.models import AnalyticsConfig, OutputConfig
from basalt.errors import BasaltError, ConfigError, DataError, ExpectationError, portable
from basalt.guards import expectation_problems
from basalt.lake import Lake
from basalt.passes import module_sources
from basalt.plugins import Registry, get_registry
from basalt.retry import with_retries
from basalt.timebuckets import BucketSpec
from basalt.timeline import dense_grid, forward_fill

log = logging.getLogger(__name__)
COUNTS = pl.Schema({"OutOfRange": pl.Int64(), "PassRows": pl.Int64()})

__all__ = [
    "PassInput",
    "TableInput",
    "Task",
    "TaskOutput",
    "TaskResult",
    "execute_task",
    "join_module_outputs",
]


@dataclass(frozen=True)
class TableInput:
    """The files of one input table for a task; ``restricted`` files hold only the
    batch's listings already (prepared by shredding), others are filtered on read. Rows
    outside the task's day are dropped (and counted) unless the files are ``in_day``."""

    lake: Lake
    files: tuple[str, ...]
    restricted: bool = False
    in_day: bool = False
    """Whether the files' footers prove every row lies in the task's day (nothing to drop)."""


@dataclass(frozen=True)
class PassInput:
    """The output an earlier pass wrote at ``locations``, read back for the days ``first``
    to ``last`` (the days of its ``bucket`` labels)."""

    output: OutputConfig
    storage_options: tuple[tuple[str, str], ...]
    locations: tuple[str, ...]
    bucket: BucketSpec
    first: dt.date
    last: dt.date

    def scan(self, registry: Registry, listing_ids: list[int] | None) -> pl.LazyFrame:
        """The rows of the days (and of ``listing_ids``, when given and keyed by listing)."""
        target = registry.outputs[self.output.type](self.output, self.storage_options)
        frames = [target.scan(location) for location in self.locations]
        if not frames:
            raise DataError(f"no earlier output to read for {self.first} to {self.last}")
        frame = pl.concat(frames, how="diagonal_relaxed")
        names = frame.collect_schema().names()
        if "TimeBucket" in names:
            day = self.bucket.inside(pl.col("TimeBucket")).dt.date()
            frame = frame.filter(day.is_between(self.first, self.last))
        if listing_ids is not None and "ListingId" in names:
            frame = frame.filter(pl.col("ListingId").is_in(listing_ids))
        return frame


@dataclass(frozen=True, eq=False)
class Task:
    """Compute pass ``pass_index`` on ``day`` (to ``last_day`` for a derived pass, over all
    its listings) for the listings of symbol batch ``batch``."""

    config_json: str
    pass_index: int
    partition: str
    day: dt.date
    batch: int
    listings: pl.DataFrame
    inputs: dict[str, TableInput | PassInput]
    part: str
    retries: int
    last_day: dt.date | None = None

    @property
    def label(self) -> str:
        """``pass p1, 2024-03-04, batch 0``, or ``pass p2, 2024-03-04 to 2024-03-08``."""
        if self.last_day is not None:
            return f"pass {self.pass_name}, {self.day} to {self.last_day}"
        return f"pass {self.pass_name}, {self.day}, batch {self.batch}"

    @property
    def pass_name(self) -> str:
        return str(json.loads(self.config_json)["PASSES"][self.pass_index]["name"])


@dataclass(frozen=True)
class TaskResult:
    """A written part file, its row count, its warnings (of its modules, and the broken
    expectations that only warn), the part files of side outputs (name, path), the input
    rows dropped for lying outside the task's day (``out_of_range``) and, for a derived
    task, the rows it read of earlier passes."""

    part: str
    rows: int
    warnings: tuple[str, ...] = ()
    sides: tuple[tuple[str, str], ...] = ()
    out_of_range: int = 0
    pass_rows: int = 0


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


def _read(
    name: str,
    source: TableInput | PassInput,
    registry: Registry,
    ids: list[int] | None,
    bucket: BucketSpec,
) -> pl.LazyFrame:
    if isinstance(source, PassInput):
        return source.scan(registry, ids)
    listing_ids = None if source.restricted else ids
    table = registry.tables[name]
    return table.scan_files(source.lake, source.files, listing_ids=listing_ids, bucket=bucket)


class TaskOutput(NamedTuple):
    """What a task computes (lazy): the joined, sorted module outputs, side outputs, the
    first module's first input (what pass expectations compare with), and one-row counts
    of the input rows dropped outside the task's day and of the earlier passes' rows read."""

    frame: pl.LazyFrame
    sides: dict[str, pl.LazyFrame]
    first_input: pl.LazyFrame | None
    counts: pl.LazyFrame


def _inputs(
    task: Task, registry: Registry, bucket: BucketSpec, ids: list[int] | None
) -> tuple[dict[str, pl.LazyFrame], pl.LazyFrame]:
    """The task's input frames, of the listings ``ids`` (all when None) — lake rows
    outside its day dropped — and a one-row frame counting those dropped (``OutOfRange``)
    and the rows read of earlier passes (``PassRows``)."""
    low, high = bucket.day_labels(task.day, task.day)
    frames = {}
    counts = [pl.LazyFrame({"OutOfRange": [0], "PassRows": [0]}, schema=COUNTS)]
    for name, source in task.inputs.items():
        frame = _read(name, source, registry, ids, bucket)
        if isinstance(source, PassInput):
            counts.append(frame.select(pl.lit(0).alias("OutOfRange"), pl.len().alias("PassRows")))
        elif registry.tables[name].timestamp is not None and not source.in_day:
            inside = pl.col("TimeBucket").is_between(low, high, closed="left").fill_null(False)
            outside = frame.filter(~inside)
            counts.append(outside.select(pl.len().alias("OutOfRange"), pl.lit(0).alias("PassRows")))
            frame = frame.filter(inside)
        frames[name] = frame
    total = pl.concat([c.cast(COUNTS) for c in counts]).sum()
    return frames, total


def compute_task(task: Task, registry: Registry) -> TaskOutput:
    """The joined, sorted module outputs of ``task`` and the side outputs its modules emit."""
    config = _config(task.config_json, registry)
    pass_config = config.PASSES[task.pass_index]
    bucket = pass_config.bucket(config.TIME_BUCKET_SECONDS)
    ids = None if task.last_day is not None else task.listings["ListingId"].to_list()
    frames, counts = _inputs(task, registry, bucket, ids)
    buckets = {p.name: p.bucket(config.TIME_BUCKET_SECONDS) for p in config.PASSES}
    outputs = []
    sides: dict[str, pl.LazyFrame] = {}
    keys: tuple[str, ...] = ()
    first_input = None
    for module in pass_config.modules:
        analytic = registry.analytics[module]()
        options = pass_config.module_config(module)
        sources = module_sources(pass_config, module, registry)
        if first_input is None and sources:
            first_input = frames[next(iter(sources.values()))]
        ctx = AnalyticContext(
            pass_config.name,
            task.day,
            bucket,
            task.listings,
            {name: frames[source] for name, source in sources.items()},
            {name: buckets[source] for name, source in sources.items() if source in buckets},
        )
        outputs.append((module, analytic.compute(ctx, options)))
        keys = analytic.keys(options)  # the same for every module of a pass (validated)
        undeclared = sorted(set(ctx.side_outputs) - set(analytic.emits))
        if undeclared or set(ctx.side_outputs) & set(sides):
            raise ConfigError(
                f"module {module!r} emitted side output(s) {sorted(ctx.side_outputs)}: each "
                "must be in its emits and emitted once per pass"
            )
        sides |= ctx.side_outputs
    joined = join_module_outputs(outputs, keys)
    if pass_config.timeline_mode == "dense" and ids is not None:
        grid = dense_grid(pass_config.dense, bucket, task.day, ids, frames.get("marketstate"))
        joined = grid.join(joined, on=list(keys), how="full", coalesce=True)
    if "ListingId" in keys:
        present = joined.collect_schema().names()
        missing = [c for c in PASSTHROUGH if c in task.listings.columns and c not in present]
        universe = task.listings.lazy().select("ListingId", *missing)
        joined = joined.join(universe, on="ListingId", how="left")
    present = joined.collect_schema().names()
    passthrough = [c for c in PASSTHROUGH if c in present and c not in keys]
    result = joined.select(*keys, *passthrough, pl.exclude(*keys, *passthrough)).sort(*keys)
    if pass_config.forward_fill:
        result = forward_fill(result, pass_config.forward_fill, keys)
    return TaskOutput(result, sides, first_input, counts)


def _broken_expectations(
    task: Task, registry: Registry, output: TaskOutput, frame: pl.DataFrame
) -> list[str]:
    """The pass's expectations the task's output ``frame`` breaks against its first input
    (raised with ``action: raise``)."""
    expectations = _config(task.config_json, registry).PASSES[task.pass_index].expectations
    if not expectations.enabled or output.first_input is None:
        return []
    problems = expectation_problems(frame, output.first_input, expectations)
    if problems and expectations.action == "raise":
        raise ExpectationError(f"expectations of pass {task.pass_name}: " + "; ".join(problems))
    return problems


def execute_task(task: Task, registry: Registry | None = None) -> TaskResult:
    """Compute ``task`` and write its part file (temporary: fast compression, no
    statistics); transient I/O errors are retried."""
    resolved = registry or get_registry()

    def attempt() -> TaskResult:
        with warnings.catch_warnings(record=True) as caught:  # for the run's summary
            warnings.simplefilter("always", UserWarning)
            output = compute_task(task, resolved)
            # One query for all: what the outputs share (the inputs) is read once.
            frame, counts, *collected = pl.collect_all(
                [output.frame, output.counts, *output.sides.values()]
            )
        problems = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        problems += _broken_expectations(task, resolved, output, frame)
        frame.write_parquet(task.part, compression="lz4", statistics=False)
        sides = []
        for name, side in zip(output.sides, collected, strict=True):
            part = f"{task.part.removesuffix('.parquet')}-{name}.parquet"
            side.write_parquet(part, compression="lz4", statistics=False)
            sides.append((name, part))
        return TaskResult(
            task.part,
            frame.height,
            tuple(problems),
            tuple(sides),
            out_of_range=int(counts["OutOfRange"][0]),
            pass_rows=int(counts["PassRows"][0]),
        )

    started = time.perf_counter()
    try:
        result = with_retries(attempt, retries=task.retries, what=task.label)
    except Exception as exc:  # it travels back to the runner's process: it must unpickle
        blamed = None if isinstance(exc, BasaltError) else _unreadable_input(task, resolved)
        raise portable(blamed or exc) from None
    log.debug("%s: %d row(s) in %.2f s", task.label, result.rows, time.perf_counter() - started)
    return result


def _unreadable_input(task: Task, registry: Registry) -> DataError | None:
    """The error naming the first input file of ``task`` that cannot be read, if any."""
    for name, source in task.inputs.items():
        if isinstance(source, TableInput):
            try:
                registry.tables[name].check_readable(source.lake, source.files)
            except DataError as exc:
                return exc
    return None
