"""The ``local`` executor: a pool of worker processes on this machine.

Workers are started with ``spawn`` (no inherited state, no fork-safety issues). A pool takes
``max_tasks_per_worker`` tasks per worker; then it is retired — it finishes the tasks it has
and its workers exit, handing their memory back to the system — and a fresh pool takes the
next tasks. The fresh workers start only once the retired ones are gone, so that no more
than ``workers`` processes hold memory at any time, as the memory budget of the symbol
batches assumes. (The standard library's own ``max_tasks_per_child`` can deadlock on Python
3.11.) Workers get
:meth:`Executor.worker_environment`: each one's polars uses an even share of the CPUs, so the
workers don't oversubscribe, and hands freed memory back promptly. Workers end without the
interpreter's teardown (:mod:`basalt.teardown`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from types import TracebackType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from basalt.executors.base import Executor, TaskOutcome
from basalt.teardown import skip_teardown

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
    _saved_environment: dict[str, str | None] | None = None

    @property
    def tasks_per_pool(self) -> int:
        """Tasks one pool takes before it is retired."""
        assert isinstance(self.options, LocalOptions)
        return self.workers * self.options.max_tasks_per_worker

    def __enter__(self) -> LocalExecutor:
        environment = self.worker_environment()
        self._saved_environment = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)  # inherited by every spawned worker
        self._pool = self._start_pool()  # workers start while the run is being planned
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        for name, value in (self._saved_environment or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _start_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=skip_teardown,
        )
        for _ in range(self.workers):  # start every worker now, importing in parallel
            pool.submit(_warm_up)
        self._pool_tasks = 0
        return pool

    def _full(self) -> bool:
        return self._pool is not None and self._pool_tasks >= self.tasks_per_pool

    def _pool_for_next_task(self) -> ProcessPoolExecutor:
        """The pool the next task goes to. A full pool, idle by now, is replaced: its
        workers exit before the fresh pool's start."""
        if self._full():
            assert self._pool is not None
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is None:
            self._pool = self._start_pool()
        self._pool_tasks += 1
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Drop a pool whose worker died (killed, out of memory): the next task starts a
        fresh one."""
        if pool is self._pool:
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def run(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        source = iter(tasks)
        pending: dict[Future[R], tuple[T, ProcessPoolExecutor]] = {}
        try:
            while True:
                room = 0 if self._full() and pending else self.window - len(pending)
                for task in itertools.islice(source, room):
                    pool = self._pool_for_next_task()
                    pending[pool.submit(fn, task)] = (task, pool)
                    if self._full():
                        break  # a full pool finishes its tasks before the next pool starts
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task, pool = pending.pop(future)
                    error = future.exception()
                    if type(error).__name__ == "BrokenProcessPool":
                        self._discard(pool)
                    if error is None:
                        yield TaskOutcome(task, result=future.result())
                    else:
                        yield TaskOutcome(task, error=error)
        finally:
            for future in pending:
                future.cancel()
