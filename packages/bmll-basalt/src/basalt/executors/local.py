"""The ``local`` executor: a pool of worker processes on this machine.

Workers are started with ``spawn`` (no inherited state, no fork-safety issues). The pool is
replaced once its workers ran ``max_tasks_per_worker`` tasks each, so that memory they hold is
handed back to the system: tasks are submitted in waves of ``workers × max_tasks_per_worker``
and a fresh pool, started while the last tasks of a wave run, serves the next wave. (The
standard library's own ``max_tasks_per_child`` can deadlock on Python 3.11.) Workers get
:meth:`Executor.worker_environment`: each one's polars uses an even share of the CPUs, so the
workers don't oversubscribe, and hands freed memory back promptly.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from types import TracebackType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from basalt.executors.base import Executor, TaskOutcome

__all__ = ["LocalExecutor", "LocalOptions"]

T = TypeVar("T")
R = TypeVar("R")


def _warm_up() -> None:
    """Import what tasks need and load the plugins, once per worker."""
    from basalt.plugins import get_registry

    get_registry()


class LocalOptions(BaseModel):
    """Options of the ``local`` executor."""

    model_config = ConfigDict(extra="forbid")

    max_tasks_per_worker: int = Field(
        default=32, ge=1, description="Tasks a worker runs before it is replaced (memory)."
    )


class LocalExecutor(Executor):
    """Run tasks in ``workers`` spawned processes on this machine."""

    name = "local"
    options_model = LocalOptions

    _pool: ProcessPoolExecutor | None = None
    _pool_tasks = 0
    _next_pool: ProcessPoolExecutor | None = None
    _saved_environment: dict[str, str | None] | None = None

    @property
    def wave(self) -> int:
        """Tasks one pool runs before it is replaced."""
        assert isinstance(self.options, LocalOptions)
        return self.workers * self.options.max_tasks_per_worker

    def __enter__(self) -> LocalExecutor:
        environment = self.worker_environment()
        self._saved_environment = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)  # inherited by every spawned worker
        self._get_pool()  # workers start while the run is being planned
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shutdown()
        for name, value in (self._saved_environment or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _shutdown(self) -> None:
        for pool in (self._pool, self._next_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._next_pool = None

    def _start_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )
        for _ in range(self.workers):  # start every worker now, importing in parallel
            pool.submit(_warm_up)
        return pool

    def _get_pool(self) -> tuple[ProcessPoolExecutor, int]:
        """The pool to submit to and how many more tasks it takes; a full pool is replaced
        by the one started in advance, if any."""
        if self._pool is not None and self._pool_tasks >= self.wave:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._next_pool, self._pool_tasks = self._next_pool, None, 0
        if self._pool is None:
            self._pool, self._pool_tasks = self._start_pool(), 0
        return self._pool, self.wave - self._pool_tasks

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[TaskOutcome[T, R]]:
        done = 0
        while done < len(tasks):
            pool, room = self._get_pool()
            wave = tasks[done : done + room]
            self._pool_tasks += len(wave)
            done += len(wave)
            yield from self._run_wave(pool, fn, wave, more=done < len(tasks))

    def _run_wave(
        self, pool: ProcessPoolExecutor, fn: Callable[[T], R], tasks: Sequence[T], *, more: bool
    ) -> Iterator[TaskOutcome[T, R]]:
        """Run ``tasks`` on ``pool``; with ``more`` tasks to come, the next pool starts as
        soon as a worker is idle."""
        futures: dict[Future[R], T] = {pool.submit(fn, task): task for task in tasks}
        broken = False
        running = len(futures)
        try:
            for future in as_completed(futures):
                running -= 1
                if more and running < self.workers:  # a worker is idle
                    self._start_next_pool()
                error = future.exception()
                broken = broken or type(error).__name__ == "BrokenProcessPool"
                if error is None:
                    yield TaskOutcome(futures[future], result=future.result())
                else:
                    yield TaskOutcome(futures[future], error=error)
        finally:
            for future in futures:
                future.cancel()
            if broken:  # a worker died (killed, out of memory): start afresh next time
                self._shutdown()

    def _start_next_pool(self) -> None:
        """Start the successor of a full pool: its workers import while the last tasks of
        the full one finish."""
        if self._next_pool is None and self._pool_tasks >= self.wave:
            self._next_pool = self._start_pool()
