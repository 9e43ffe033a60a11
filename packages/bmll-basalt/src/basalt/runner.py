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

A run that could read nothing is a usage error, never a success: a missing data root, or a
universe without a listing with data on any day, raises :class:`~basalt.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field

import polars as pl

from basalt.config.build import universe_spec
from basalt.config.loading import Pipeline, dump_config
from basalt.config.models import AnalyticsConfig, PassConfig
from basalt.errors import ConfigError, QualityCheckError, describe
from basalt.executors.base import Executor, TaskOutcome
from basalt.files import run_directory
from basalt.guards import quality_problems
from basalt.outputs.base import OutputTarget
from basalt.planning.dates import DateBatch
from basalt.planning.partitions import PartitionPlan, plan_partition
from basalt.planning.plan import PassPlanner, output_location
from basalt.plugins import Registry, get_registry
from basalt.preflight import check_data_root, check_outputs
from basalt.retry import with_retries
from basalt.schema_lock import check_schema_lock
from basalt.summary import PassResult, RunObserver, RunSummary, TaskFailure
from basalt.tasks import Task, TaskResult, execute_task
from basalt.universes.base import Universe
from basalt.universes.function import FunctionUniverse

__all__ = [
    "PassResult",
    "RunObserver",
    "RunSummary",
    "TaskFailure",
    "make_executor",
    "make_universe",
    "run_pipeline",
    "universe_label",
]

log = logging.getLogger(__name__)
MEMORY_SHARE = 0.7


def universe_label(pipeline: Pipeline) -> str:
    """The universe of ``pipeline`` in words: its spec, ``get_universe`` or ``all``."""
    if pipeline.config.UNIVERSE:
        return pipeline.config.UNIVERSE
    return "get_universe" if pipeline.get_universe is not None else "all"


def make_universe(pipeline: Pipeline, registry: Registry) -> Universe:
    """The universe resolver of ``pipeline``: UNIVERSE wins over ``get_universe``."""
    spec = pipeline.config.UNIVERSE
    if spec is None and pipeline.get_universe is not None:
        return FunctionUniverse(pipeline.get_universe, pipeline.source)
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

    @property
    def scope(self) -> str:
        """The universe the run covers, as recorded in its partitions' manifests."""
        return universe_label(self.pipeline)

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
            rewritten={p.name: p.rewritten for p in self.summary.passes},
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
        days = {batch.key: len(batch.days) for batch in planner.date_batches()}
        log.info(
            "pass %s: %d partition(s), %d day(s)",
            self.pass_config.name,
            len(days),
            sum(days.values()),
        )
        if self.observer:
            self.observer.pass_started(self.pass_config.name, days)
        plan_next = functools.partial(
            plan_partition,
            planner,
            target,
            itertools.count(),
            scope=self.scope,
            resume=self.config.RESUME,
            retries=self.config.IO_RETRIES,
        )
        with (
            closing(_ahead(plan_next, planner.date_batches())) as plans,
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
        result.input_files += len(planner.input_rows)
        result.input_rows += sum(planner.input_rows.values())
        result.no_data = sorted(planner.no_data)
        result.outputs.sort()
        self._check_listings(planner)
        return not (self._failed_outside_tasks and config.FAIL_FAST)

    def _check_listings(self, planner: PassPlanner) -> None:
        """Raise ConfigError when the pass read no row of the universe's listings on any day
        it planned (a run that can read nothing is a usage error)."""
        if not planner.days_planned or any(planner.input_rows.values()) or self.summary.failures:
            return
        days = sorted(planner.days_planned)
        holidays = sorted({mic for _, mic in planner.no_data})
        reason = f"; no input file at all for {', '.join(holidays)}" if holidays else ""
        what = "has no row in" if planner.input_rows else "has no listing with data in"
        raise ConfigError(
            f"universe {universe_label(self.pipeline)!r} {what} the lake on any day from "
            f"{days[0]} to {days[-1]} ({self.config.DATA_ROOT}){reason}"
        )

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
                log.info("%s: %s", plan.failure.label, plan.failure.error)
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
                log.info("pass %s, %s: %d task(s)", self.pass_config.name, key, len(plan.tasks))
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
            self.observer.task_finished(
                self.pass_config.name, task.partition, task.label, outcome.ok
            )
        if outcome.error is not None:
            partition.failed = True
            cause = describe(outcome.error)
            log.info("%s failed: %s", task.label, cause)
            name = self.pass_config.name
            failure = TaskFailure(name, task.partition, task.day, task.batch, cause)
            self.summary.failures.append(failure)
            return
        assert outcome.result is not None
        self._warn(task.label, outcome.result.warnings)
        partition.parts.append(outcome.result.part)
        for side, part in outcome.result.sides:
            partition.side_parts.setdefault(side, []).append(part)
        result.tasks += 1
        result.output_rows += outcome.result.rows
        result.out_of_range += outcome.result.out_of_range
        result.input_rows += outcome.result.pass_rows

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
        frames = [(plan.location, frame)] + [
            (
                output_location(self.config, self.pass_config, plan.batch, side),
                pl.scan_parquet(sorted(parts)),
            )
            for side, parts in sorted(partition.side_parts.items())
        ]
        for _, data in frames:
            plan.partition.check_rows(data)
        written = []
        for location, data in frames:

            def write(location: str = location, data: pl.LazyFrame = data) -> str:
                return target.write(data, location, plan.partition)

            retries = self.config.IO_RETRIES
            shown = with_retries(write, retries=retries, what=f"writing {location}")
            written.append((location, shown))
        return written, problems

    def _warn(self, where: str, problems: Sequence[str]) -> None:
        for problem in problems:
            log.info("%s: %s", where, problem)
            self.summary.warn(where, problem)

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
            cause = describe(exc)
            failure = TaskFailure(name, plan.batch.key, plan.batch.start, None, cause, True)
            log.info("%s: %s", failure.label, cause)
            self.summary.failures.append(failure)
            pending.result.failed.append(plan.location)
            self._failed_outside_tasks = True
            if self.observer:
                self.observer.partition_finished(name, plan.batch.key, "failed")
            return
        finally:
            pending.partition.remove_parts()
        for _, shown in written:
            log.info("pass %s, %s: written to %s", name, plan.batch.key, shown)
        pending.result.locations.extend(location for location, _ in written)
        pending.result.rewritten.extend(location for location, _ in written)
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
            for following in [*batches[1:], None] if batches else []:
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
    check_data_root(pipeline.config, registry)
    check_outputs(pipeline.config, registry)
    executor = executor or make_executor(pipeline.config, registry)
    with run_directory(pipeline.config.TEMP_DIR) as workdir, executor:
        for index in range(len(pipeline.config.PASSES)):
            run = PassRun(pipeline, index, registry, executor, workdir, observer, summary)
            if not run.run():
                break
    summary.seconds = time.perf_counter() - started
    return summary
