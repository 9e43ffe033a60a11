"""The runner: every pass, partition by partition, through an executor, to its output.

For each pass the date range is cut into output partitions (date batches). Partitions whose
output exists are skipped on ``RESUME``. For the others the planner builds one task per day
and symbol batch, and the tasks of all partitions flow through one executor run, so workers
never wait at a partition's end. When every task of a partition succeeded, their parts are
written to the pass's output in one atomic write. Two background threads keep the workers
fed: one plans the next partition, the other writes finished ones. A failed task fails its
partition (nothing is written for it) and, unless ``FAIL_FAST``, the run goes on.
Temporary files live in a per-run directory that is always removed — and directories left
by runs that were killed are removed by the next run.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from basalt.config.build import universe_spec
from basalt.config.loading import Pipeline, dump_config
from basalt.config.models import AnalyticsConfig, PassConfig
from basalt.errors import ConfigError, DataError, QualityCheckError
from basalt.executors.base import Executor, TaskOutcome
from basalt.guards import quality_problems
from basalt.lake import Lake
from basalt.outputs.base import OutputTarget, Partition
from basalt.planning.dates import DateBatch
from basalt.planning.plan import PassPlanner, output_location
from basalt.plugins import Registry, get_registry
from basalt.schema_lock import check_schema_lock
from basalt.tasks import Task, TaskResult, execute_task
from basalt.universes.base import Universe

__all__ = [
    "PassResult",
    "RunObserver",
    "RunSummary",
    "TaskFailure",
    "make_executor",
    "run_pipeline",
]

log = logging.getLogger(__name__)
RUN_DIR_PREFIX = "basalt-run-"
MEMORY_SHARE = 0.7


class RunObserver(Protocol):
    """Receives progress events (the CLI draws progress bars from them)."""

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None: ...

    def task_finished(self, pass_name: str, label: str, ok: bool) -> None: ...

    def partition_finished(self, pass_name: str, partition: str, status: str) -> None: ...


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its pass, partition, day, symbol batch (None: the day could not
    be planned, e.g. an unreadable input file, or with ``writing`` the partition could not be
    written) and cause."""

    pass_name: str
    partition: str
    day: dt.date
    batch: int | None
    error: str
    writing: bool = False

    @property
    def label(self) -> str:
        where = "planning" if self.batch is None else f"batch {self.batch}"
        if self.writing:
            return f"pass {self.pass_name}, writing partition {self.partition}"
        return f"pass {self.pass_name}, {self.day}, {where} (partition {self.partition})"


@dataclass
class PassResult:
    """What a pass read and wrote."""

    name: str
    tasks: int = 0
    input_files: int = 0
    input_rows: int = 0
    output_rows: int = 0
    outputs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    """Locations of the partitions (and side outputs) this run wrote or kept (resumed)."""


@dataclass
class RunSummary:
    """The outcome of a run."""

    passes: list[PassResult] = field(default_factory=list)
    failures: list[TaskFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Schema lock differences, quality checks and expectations that only warn."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


class FunctionUniverse(Universe):
    """The universe of a Python pipeline file's ``get_universe(date)``."""

    name = "get_universe"

    def __init__(self, function: Callable[[str], pl.DataFrame]) -> None:
        super().__init__()
        self.function = function

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        frame = self.function(day.isoformat())
        if not isinstance(frame, pl.DataFrame) or not {"ListingId", "MIC"} <= set(frame.columns):
            raise ConfigError(
                "get_universe(date) must return a polars DataFrame with ListingId and MIC"
            )
        return frame


def make_universe(pipeline: Pipeline, registry: Registry) -> Universe:
    """The universe resolver of ``pipeline``: UNIVERSE wins over ``get_universe``."""
    spec = pipeline.config.UNIVERSE
    if spec is None and pipeline.get_universe is not None:
        return FunctionUniverse(pipeline.get_universe)
    name, value = universe_spec(spec)
    resolver: Universe = registry.get("universes", name)(value)
    return resolver


def make_executor(config: AnalyticsConfig, registry: Registry) -> Executor:
    """The executor named by ``EXECUTOR`` with ``NUM_WORKERS``, ``EXECUTOR_OPTIONS`` and
    ``THREADS_PER_WORKER``."""
    kind: type[Executor] = registry.get("executors", config.EXECUTOR)
    workers = 1 if kind.in_process else config.NUM_WORKERS or os.cpu_count() or 1
    return kind(workers, config.EXECUTOR_OPTIONS, config.THREADS_PER_WORKER)


def _memory_per_worker(config: AnalyticsConfig, workers: int) -> float:
    if config.MEMORY_PER_WORKER is not None:
        return config.MEMORY_PER_WORKER * 1e9
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total * MEMORY_SHARE / workers


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_directory(parent: str | None) -> Iterator[str]:
    """A fresh temporary directory for a run, removed afterwards; directories of earlier
    runs whose process is gone (killed runs) are removed first."""
    base = Path(parent or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.glob(f"{RUN_DIR_PREFIX}*"):
        owner = stale / "pid"
        if owner.is_file() and not _process_alive(int(owner.read_text() or 0)):
            shutil.rmtree(stale, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=base))
    (directory / "pid").write_text(str(os.getpid()))
    try:
        yield str(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class PartitionPlan:
    """What planning decided for one output partition: run its ``tasks``, skip it (its
    output exists, on resume), or fail it (``failure``: a day could not be planned)."""

    batch: DateBatch
    location: str
    partition: Partition
    tasks: list[Task] = field(default_factory=list)
    kept: tuple[str, ...] = ()
    """The locations of a skipped partition and its side outputs."""
    skipped: bool = False
    failure: TaskFailure | None = None


@dataclass
class RunningPartition:
    """A partition whose tasks are out: how many are left, and the parts that came back
    (of side outputs too, by name)."""

    plan: PartitionPlan
    remaining: int
    parts: list[str] = field(default_factory=list)
    side_parts: dict[str, list[str]] = field(default_factory=dict)
    failed: bool = False

    def remove_parts(self) -> None:
        for part in [*self.parts, *(p for parts in self.side_parts.values() for p in parts)]:
            os.remove(part)


@dataclass(frozen=True)
class PendingWrite:
    """A partition's output being written: where it goes, and quality warnings."""

    future: Future[tuple[list[tuple[str, str]], list[str]]]
    partition: RunningPartition
    result: PassResult


@dataclass
class PassRun:
    """Runs one pass: its partitions' tasks flow through the executor without a pause
    between partitions, and each partition is written once its last task is back."""

    pipeline: Pipeline
    pass_index: int
    registry: Registry
    executor: Executor
    workdir: str
    observer: RunObserver | None
    summary: RunSummary
    _writer: ThreadPoolExecutor = field(init=False, repr=False)
    _pending: PendingWrite | None = field(default=None, init=False, repr=False)
    _running: dict[str, RunningPartition] = field(default_factory=dict, init=False, repr=False)
    _failed_outside_tasks: bool = field(default=False, init=False, repr=False)

    @property
    def config(self) -> AnalyticsConfig:
        return self.pipeline.config

    @property
    def pass_config(self) -> PassConfig:
        return self.config.PASSES[self.pass_index]

    def run(self) -> bool:
        """Run the pass; False when the run must stop (fail-fast)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="basalt-write") as writer:
            self._writer = writer
            try:
                going = self._run_partitions()
            finally:
                self._finish_write()
        return going and not (self._failed_outside_tasks and self.config.FAIL_FAST)

    def _run_partitions(self) -> bool:
        config = self.config
        planner = PassPlanner(
            config=config,
            config_json=json.dumps(dump_config(config, self.registry)),
            pass_index=self.pass_index,
            registry=self.registry,
            universe=make_universe(self.pipeline, self.registry),
            workdir=self.workdir,
            workers=self.executor.workers,
            memory_bytes=_memory_per_worker(config, self.executor.workers),
            run_outputs={p.name: p.locations for p in self.summary.passes},
            failed_outputs={p.name: p.failed for p in self.summary.passes},
        )
        output = config.output_for(self.pass_config)
        target: OutputTarget = self.registry.get("outputs", output.type)(
            output, config.storage_options
        )
        result = PassResult(self.pass_config.name)
        self.summary.passes.append(result)
        function: Callable[[Task], TaskResult] = (
            functools.partial(execute_task, registry=self.registry)
            if self.executor.in_process
            else execute_task
        )
        plan_partition = functools.partial(self._plan, planner, target, itertools.count())
        with (
            closing(_ahead(plan_partition, planner.date_batches())) as plans,
            closing(self.executor.run(function, self._tasks(plans, result))) as outcomes,
        ):
            for outcome in outcomes:
                if self._pending is not None and self._pending.future.done():
                    self._finish_write()  # report a finished write without waiting for the next
                key = outcome.task.partition
                partition = self._running[key]
                self._record(outcome, partition, result)
                partition.remaining -= 1
                stop = (partition.failed or self._failed_outside_tasks) and config.FAIL_FAST
                if stop and partition.remaining:
                    partition.failed = True  # stopped before all its tasks came back
                if partition.remaining == 0 or stop:
                    del self._running[key]
                    planner.discard_prepared_inputs(partition.plan.batch)
                    self._close(partition, target, result)
                if stop:
                    return False
        result.input_files = len(planner.input_rows)
        result.input_rows = sum(planner.input_rows.values())
        result.outputs.sort()
        return not (self._failed_outside_tasks and config.FAIL_FAST)

    def _tasks(self, plans: Iterator[PartitionPlan], result: PassResult) -> Iterator[Task]:
        """The tasks of every partition, in order, as the executor asks for them; partitions
        that are skipped, fail in planning or have no task are settled here."""
        for plan in plans:
            key = plan.batch.key
            if plan.skipped:
                log.info("pass %s, %s: output exists, skipped", self.pass_config.name, key)
                result.skipped.append(plan.location)
                result.locations.extend(plan.kept)
                self._notify_partition(key, 0, "skipped")
            elif plan.failure is not None:
                log.error("%s: %s", plan.failure.label, plan.failure.error)
                self.summary.failures.append(plan.failure)
                result.failed.append(plan.location)
                self._notify_partition(key, 0, "failed")
                self._failed_outside_tasks = True
                if self.config.FAIL_FAST:
                    return
            elif not plan.tasks:
                self._notify_partition(key, 0, "empty")
            else:
                self._running[key] = RunningPartition(plan, len(plan.tasks))
                if self.observer:
                    self.observer.partition_started(self.pass_config.name, key, len(plan.tasks))
                yield from plan.tasks

    def _record(
        self,
        outcome: TaskOutcome[Task, TaskResult],
        partition: RunningPartition,
        result: PassResult,
    ) -> None:
        """Account for one finished task of ``partition``."""
        task = outcome.task
        if self.observer:
            self.observer.task_finished(self.pass_config.name, task.label, outcome.ok)
        if outcome.error is not None:
            partition.failed = True
            cause = f"{type(outcome.error).__name__}: {outcome.error}"
            log.error("%s failed: %s", task.label, cause)
            name = self.pass_config.name
            failure = TaskFailure(name, task.partition, task.day, task.batch, cause)
            self.summary.failures.append(failure)
            return
        assert outcome.result is not None
        self._warn(f"{task.label}: expectations", outcome.result.warnings)
        partition.parts.append(outcome.result.part)
        for side, part in outcome.result.sides:
            partition.side_parts.setdefault(side, []).append(part)
        result.tasks += 1
        result.output_rows += outcome.result.rows

    def _close(self, partition: RunningPartition, target: OutputTarget, result: PassResult) -> None:
        """Write a partition whose tasks are all back (in the background), or fail it."""
        self._finish_write()
        plan = partition.plan
        if partition.failed:
            result.failed.append(plan.location)
            partition.remove_parts()
            if self.observer:
                self.observer.partition_finished(self.pass_config.name, plan.batch.key, "failed")
            return
        write = self._writer.submit(self._write, target, partition)
        self._pending = PendingWrite(write, partition, result)

    def _write(
        self, target: OutputTarget, partition: RunningPartition
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """Check (quality checks) and write a partition, then its side outputs: (location,
        where it went) of each, and the problems found that only warn."""
        plan = partition.plan
        frame = pl.scan_parquet(sorted(partition.parts))
        checks = self.config.quality_checks_for(self.pass_config)
        problems = quality_problems(frame, checks) if checks else []
        if checks and problems and checks.action == "raise":
            raise QualityCheckError("quality checks failed: " + "; ".join(problems))
        written = [(plan.location, target.write(frame, plan.location, plan.partition))]
        for side, parts in sorted(partition.side_parts.items()):
            location = output_location(self.config, self.pass_config, plan.batch, side)
            side_frame = pl.scan_parquet(sorted(parts))
            written.append((location, target.write(side_frame, location, plan.partition)))
        return written, problems

    def _plan(
        self,
        planner: PassPlanner,
        target: OutputTarget,
        counter: Iterator[int],
        batch: DateBatch,
    ) -> PartitionPlan:
        """The plan of one partition (``counter`` numbers the part files of the pass)."""
        location = planner.location(batch)
        partition = Partition(batch.start, batch.end, planner.bucket)
        sides = [s for m in self.pass_config.modules for s in self.registry.analytics[m].emits]
        written = [location, *(planner.location(batch, side) for side in sides)]
        if self.config.RESUME and all(target.is_complete(w, partition) for w in written):
            return PartitionPlan(batch, location, partition, skipped=True, kept=tuple(written))
        if planner.derived:
            try:
                tasks = planner.partition_task(batch, counter.__next__)
            except DataError as exc:
                failure = TaskFailure(self.pass_config.name, batch.key, batch.start, None, str(exc))
                return PartitionPlan(batch, location, partition, failure=failure)
            return PartitionPlan(batch, location, partition, tasks)
        tasks = []
        for day in batch.days:
            try:
                tasks += planner.day_tasks(batch, day, counter.__next__)
            except DataError as exc:
                failure = TaskFailure(self.pass_config.name, batch.key, day, None, str(exc))
                return PartitionPlan(batch, location, partition, failure=failure)
        return PartitionPlan(batch, location, partition, tasks)

    def _warn(self, where: str, problems: Sequence[str]) -> None:
        for problem in problems:
            log.warning("%s: %s", where, problem)
            self.summary.warnings.append(f"{where}: {problem}")

    def _notify_partition(self, key: str, tasks: int, status: str) -> None:
        if self.observer:
            self.observer.partition_started(self.pass_config.name, key, tasks)
            self.observer.partition_finished(self.pass_config.name, key, status)

    def _finish_write(self) -> None:
        """Wait for the partition being written, if any, and report it."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        plan = pending.partition.plan
        name = self.pass_config.name
        try:
            written, problems = pending.future.result()
        except Exception as exc:  # the partition keeps its earlier content (atomic writes)
            cause = f"{type(exc).__name__}: {exc}"
            failure = TaskFailure(name, plan.batch.key, plan.batch.start, None, cause, True)
            log.error("%s: %s", failure.label, cause)
            self.summary.failures.append(failure)
            pending.result.failed.append(plan.location)
            self._failed_outside_tasks = True
            if self.observer:
                self.observer.partition_finished(name, plan.batch.key, "failed")
            return
        finally:
            pending.partition.remove_parts()
        pending.result.locations.extend(location for location, _ in written)
        pending.result.outputs.extend(shown for _, shown in written)
        self._warn(f"pass {name}, partition {plan.batch.key}: quality", problems)
        if self.observer:
            self.observer.partition_finished(name, plan.batch.key, "written")


def _ahead(
    plan: Callable[[DateBatch], PartitionPlan], batches: list[DateBatch]
) -> Generator[PartitionPlan, None, None]:
    """The plans of ``batches`` in order; each next one is made in a thread while the
    caller works on the current one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="basalt-plan") as planning:
        pending = [planning.submit(plan, batch) for batch in batches[:1]]
        try:
            for following in [*batches[1:], None]:
                current = pending.pop().result()
                if following is not None:
                    pending.append(planning.submit(plan, following))
                yield current
        finally:
            for future in pending:
                future.cancel()


def run_pipeline(
    pipeline: Pipeline,
    *,
    registry: Registry | None = None,
    executor: Executor | None = None,
    observer: RunObserver | None = None,
) -> RunSummary:
    """Run every pass of ``pipeline``; task failures are collected in the summary."""
    registry = registry or get_registry()
    started = time.perf_counter()
    summary = RunSummary(warnings=check_schema_lock(pipeline.config, registry))
    executor = executor or make_executor(pipeline.config, registry)
    with run_directory(pipeline.config.TEMP_DIR) as workdir, executor:
        for index in range(len(pipeline.config.PASSES)):
            run = PassRun(pipeline, index, registry, executor, workdir, observer, summary)
            if not run.run():
                break
    summary.seconds = time.perf_counter() - started
    return summary
