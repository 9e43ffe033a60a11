"""The ``local`` executor: a pool of worker processes on this machine.

Workers are started with ``spawn`` (no inherited state, no fork-safety issues). The pool is
replaced once its workers ran ``max_tasks_per_worker`` tasks each, so that memory they hold is
handed back to the system: tasks are submitted in waves of ``workers × max_tasks_per_worker``
and a fresh pool serves the next wave. (The standard library's own ``max_tasks_per_child``
can deadlock on Python 3.11.) Each worker's polars uses an even share of the CPUs, so the
workers don't oversubscribe.
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
THREADS_ENV = "POLARS_MAX_THREADS"


def _warm_up() -> None:
    """Import what tasks need and load the plugins, once per worker."""
    from basalt.plugins import get_registry

    get_registry()


class LocalOptions(BaseModel):
    """Options of the ``local`` executor."""

    model_config = ConfigDict(extra="forbid")

    max_tasks_per_worker: int = Field(
        default=8, ge=1, description="Tasks a worker runs before it is replaced (memory)."
    )


class LocalExecutor(Executor):
    """Run tasks in ``workers`` spawned processes on this machine."""

    name = "local"
    options_model = LocalOptions

    _pool: ProcessPoolExecutor | None = None
    _pool_tasks = 0
    _saved_threads: str | None = None

    @property
    def wave(self) -> int:
        """Tasks one pool runs before it is replaced."""
        assert isinstance(self.options, LocalOptions)
        return self.workers * self.options.max_tasks_per_worker

    def __enter__(self) -> LocalExecutor:
        self._saved_threads = os.environ.get(THREADS_ENV)
        threads = self.threads_per_worker
        os.environ[THREADS_ENV] = str(threads)  # inherited by every spawned worker
        self._get_pool(0)  # workers start while the run is being planned
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shutdown()
        if self._saved_threads is None:
            os.environ.pop(THREADS_ENV, None)
        else:
            os.environ[THREADS_ENV] = self._saved_threads

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _get_pool(self, tasks: int) -> ProcessPoolExecutor:
        if self._pool is not None and self._pool_tasks + tasks > self.wave:
            self._shutdown()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
            self._pool_tasks = 0
            for _ in range(self.workers):  # start every worker now, importing in parallel
                self._pool.submit(_warm_up)
        self._pool_tasks += tasks
        return self._pool

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[TaskOutcome[T, R]]:
        for start in range(0, len(tasks), self.wave):
            yield from self._run_wave(fn, tasks[start : start + self.wave])

    def _run_wave(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[TaskOutcome[T, R]]:
        pool = self._get_pool(len(tasks))
        futures: dict[Future[R], T] = {pool.submit(fn, task): task for task in tasks}
        broken = False
        try:
            for future in as_completed(futures):
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
