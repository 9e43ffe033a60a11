"""The runner: every pass, day by day, through an executor, to the output target.

For each pass and day the universe is resolved, the tables the pass's modules require are
scanned lazily (only that day's files of the universe's MICs, filtered to its listings),
each module computes its columns, the module outputs are joined on their keys, and the
day's result is written to a temporary part. Once every day of a pass succeeded, the parts
are written to the pass's output target.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow.parquet as pq

from basalt.analytic import AnalyticContext
from basalt.config.build import universe_spec
from basalt.config.loading import Pipeline
from basalt.config.models import AnalyticsConfig, PassConfig
from basalt.errors import ConfigError
from basalt.executors.base import Executor
from basalt.lake import Lake
from basalt.plugins import Registry, get_registry
from basalt.universes.base import Universe

__all__ = ["PassResult", "RunObserver", "RunSummary", "TaskFailure", "run_pipeline"]

log = logging.getLogger(__name__)
PASSTHROUGH = ("MIC", "Ticker", "InstrumentId")


class RunObserver(Protocol):
    """Receives progress events (the CLI draws progress bars from them)."""

    def pass_started(self, pass_name: str, tasks: int) -> None: ...

    def task_finished(self, pass_name: str, day: dt.date, ok: bool) -> None: ...

    def pass_finished(self, pass_name: str) -> None: ...


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its pass, day and cause."""

    pass_name: str
    day: dt.date
    error: str


@dataclass
class PassResult:
    """What a pass read and wrote."""

    name: str
    days: int = 0
    input_files: int = 0
    input_rows: int = 0
    output_rows: int = 0
    output: str | None = None


@dataclass
class RunSummary:
    """The outcome of a run."""

    passes: list[PassResult] = field(default_factory=list)
    failures: list[TaskFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class DayResult:
    """One computed day: its part file (None when the universe was empty) and sizes."""

    part: str | None
    input_files: int
    input_rows: int
    output_rows: int


class FunctionUniverse(Universe):
    """The universe of a Python pipeline file's ``get_universe(date)``."""

    name = "get_universe"

    def __init__(self, function: Callable[[str], pl.DataFrame]) -> None:
        super().__init__()
        self.function = function

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        frame = self.function(day.isoformat())
        if not isinstance(frame, pl.DataFrame) or "ListingId" not in frame.columns:
            raise ConfigError("get_universe(date) must return a polars DataFrame with ListingId")
        return frame


def make_universe(pipeline: Pipeline, registry: Registry) -> Universe:
    """The universe resolver of ``pipeline``: UNIVERSE wins over ``get_universe``."""
    spec = pipeline.config.UNIVERSE
    if spec is None and pipeline.get_universe is not None:
        return FunctionUniverse(pipeline.get_universe)
    name, value = universe_spec(spec)
    resolver: Universe = registry.get("universes", name)(value)
    return resolver


def join_module_outputs(
    frames: Sequence[tuple[str, pl.LazyFrame]], keys: Sequence[str]
) -> pl.LazyFrame:
    """Full-join module outputs on ``keys``; a column produced twice is an error."""
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
        result = (
            frame
            if result is None
            else result.join(frame, on=list(keys), how="full", coalesce=True)
        )
    assert result is not None
    return result


@dataclass(frozen=True)
class DayTask:
    """Compute one pass on one day into ``workdir``."""

    config: AnalyticsConfig
    pass_config: PassConfig
    day: dt.date
    universe: Universe
    registry: Registry
    workdir: str

    def __call__(self) -> DayResult:
        lake = Lake(self.config.DATA_ROOT or ".")
        listings = self.universe.resolve(lake, self.day)
        if listings.is_empty():
            return DayResult(None, 0, 0, 0)
        mics = sorted(listings["MIC"].unique().to_list())
        bucket = self.pass_config.bucket(self.config.TIME_BUCKET_SECONDS)
        analytics = [self.registry.analytics[m] for m in self.pass_config.modules]
        table_names = dict.fromkeys(
            [t for a in analytics for t in a.requires] + list(self.config.TABLES_TO_LOAD)
        )
        tables = {name: self.registry.tables[name] for name in table_names}
        ids = listings["ListingId"].to_list()
        ctx = AnalyticContext(
            pass_name=self.pass_config.name,
            date=self.day,
            bucket=bucket,
            universe=listings,
            tables={
                n: t.scan(lake, mics, [self.day], listing_ids=ids, bucket=bucket)
                for n, t in tables.items()
            },
        )
        outputs = [
            (a.name, a().compute(ctx, self.pass_config.module_config(a.name))) for a in analytics
        ]
        keys = analytics[0].join_keys
        result = join_module_outputs(outputs, keys)
        passthrough = [c for c in PASSTHROUGH if c in listings.columns]
        result = (
            result.join(
                listings.lazy().select("ListingId", *passthrough), on="ListingId", how="left"
            )
            .select(*keys, *passthrough, pl.exclude(*keys, *passthrough))
            .sort(*keys)
        )
        part = str(Path(self.workdir, f"{self.pass_config.name}-{self.day:%Y%m%d}.parquet"))
        result.sink_parquet(part)
        files = [f for t in tables.values() for f in t.files(lake, mics, [self.day])]
        return DayResult(
            part,
            len(files),
            sum(pq.read_metadata(f).num_rows for f in files),
            pq.read_metadata(part).num_rows,
        )


def _render(template: str, config: AnalyticsConfig, pass_name: str) -> str:
    try:
        return template.format(
            datasetname=config.DATASETNAME,
            universe=config.UNIVERSE or "all",
            start_date=config.START_DATE.isoformat(),
            end_date=config.end_date.isoformat(),
            **{"pass": pass_name},
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"output path_template {template!r} is invalid: {exc}") from None


def _run_pass(
    pipeline: Pipeline,
    pass_config: PassConfig,
    registry: Registry,
    executor: Executor,
    workdir: str,
    observer: RunObserver | None,
    summary: RunSummary,
) -> None:
    config = pipeline.config
    universe = make_universe(pipeline, registry)
    tasks = [
        DayTask(config, pass_config, day, universe, registry, workdir) for day in config.days()
    ]
    result = PassResult(pass_config.name)
    summary.passes.append(result)
    if observer:
        observer.pass_started(pass_config.name, len(tasks))
    parts: list[str] = []
    failed = False
    for outcome in executor.run(DayTask.__call__, tasks):
        day = outcome.task.day
        if observer:
            observer.task_finished(pass_config.name, day, outcome.ok)
        if outcome.error is not None:
            failed = True
            cause = f"{type(outcome.error).__name__}: {outcome.error}"
            log.error("pass %s, %s failed: %s", pass_config.name, day, cause)
            summary.failures.append(TaskFailure(pass_config.name, day, cause))
            continue
        assert outcome.result is not None
        day_result = outcome.result
        result.days += 1
        result.input_files += day_result.input_files
        result.input_rows += day_result.input_rows
        result.output_rows += day_result.output_rows
        if day_result.part:
            parts.append(day_result.part)
    if observer:
        observer.pass_finished(pass_config.name)
    if failed or not parts:
        if not parts and not failed:
            log.warning("pass %s: no data for any day of the universe", pass_config.name)
        return
    output = config.output_for(pass_config)
    target = registry.get("outputs", output.type)(output)
    location = _render(output.path_template, config, pass_config.name)
    result.output = target.write(pl.scan_parquet(sorted(parts)), location)


def run_pipeline(
    pipeline: Pipeline,
    *,
    registry: Registry | None = None,
    executor: Executor | None = None,
    observer: RunObserver | None = None,
) -> RunSummary:
    """Run every pass of ``pipeline``; failures are collected in the summary, not raised."""
    registry = registry or get_registry()
    executor = executor or registry.get("executors", "serial")()
    started = time.perf_counter()
    summary = RunSummary()
    workdir = tempfile.mkdtemp(prefix="basalt-")
    try:
        for pass_config in pipeline.config.PASSES:
            _run_pass(pipeline, pass_config, registry, executor, workdir, observer, summary)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary
