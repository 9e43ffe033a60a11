"""The ``local`` executor: a pool of worker processes on this machine.

Workers are started with ``spawn`` (no inherited state, no fork-safety issues). A pool takes
``max_tasks_per_worker`` tasks per worker; then it is retired — it finishes the tasks it has
and its workers exit, handing their memory back to the system — and a fresh pool takes the
next tasks. The fresh workers start only once the retired ones are gone, so that no more
than ``workers`` processes hold memory at any time, as the memory budget of the symbol
batches assumes. (The standard library's own ``max_tasks_per_child`` can deadlock on Python
3.11.) Workers get
:meth:`Executor.worker_environment`: each one's polars uses an even share of the CPUs, so the
workers don't oversubscribe, and hands freed memory back promptly. Workers die with this
process and end without the interpreter's teardown (:mod:`basalt.executors.workers`).

When a worker dies (killed, out of memory), its pool breaks and every task it held fails
with it, though only one of them killed the worker. Those tasks are run again, each alone in
a fresh one-worker pool: the task that kills its worker again fails, the others succeed.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from basalt.errors import WorkerError
from basalt.executors.base import Executor, TaskOutcome
from basalt.executors.workers import init_worker

__all__ = ["LocalExecutor", "LocalOptions"]

T = TypeVar("T")
R = TypeVar("R")
WORKER_DIED = "its worker process died (killed by a signal, or out of memory)"
OVERSUBSCRIBED = 4
"""The most workers per CPU: more are not started (a warning says so)."""
log = logging.getLogger(__name__)


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

    def __init__(
        self,
        workers: int = 1,
        options: dict[str, Any] | None = None,
        threads_per_worker: int | None = None,
    ) -> None:
        cpus = os.cpu_count() or 1
        if workers > OVERSUBSCRIBED * cpus:
            log.warning(
                "NUM_WORKERS %d is more than %d per CPU on %d CPUs: using %d workers (each "
                "holds memory and competes for the CPUs; near the number of CPUs is fastest)",
                workers,
                OVERSUBSCRIBED,
                cpus,
                OVERSUBSCRIBED * cpus,
            )
            workers = OVERSUBSCRIBED * cpus
        super().__init__(workers, options, threads_per_worker)

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
            if exc_type is not None:  # interrupted: the workers stop now, tasks or not
                _stop(self._pool)
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        for name, value in (self._saved_environment or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _start_pool(self) -> ProcessPoolExecutor:
        pool = _new_pool(self.workers)
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

    def _retire(self) -> None:
        """Let the current pool's workers exit (it has no task left)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        source = iter(tasks)
        pending: dict[Future[R], tuple[T, ProcessPoolExecutor]] = {}
        suspects: list[T] = []  # tasks of a pool whose worker died
        try:
            while True:
                if suspects and not pending:
                    self._retire()
                    yield from self._isolated(fn, suspects)
                    suspects = []
                full = self._full() and pending
                room = 0 if full or suspects else self.window - len(pending)
                for task in itertools.islice(source, room):
                    pool = self._pool_for_next_task()
                    pending[pool.submit(fn, task)] = (task, pool)
                    if self._full():
                        break  # a full pool finishes its tasks before the next pool starts
                if not pending and not suspects:
                    return
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task, pool = pending.pop(future)
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        if pool is self._pool:
                            self._pool = None
                        pool.shutdown(wait=False, cancel_futures=True)
                        suspects.append(task)
                    elif error is None:
                        yield TaskOutcome(task, result=future.result())
                    else:
                        yield TaskOutcome(task, error=error)
        finally:
            for future in pending:
                future.cancel()

    def _isolated(
        self, fn: Callable[[T], R], tasks: list[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        """Run each of ``tasks`` alone in a fresh one-worker pool, ``workers`` at a time; a
        task whose worker dies fails."""
        queue = list(tasks)
        running: dict[Future[R], tuple[T, ProcessPoolExecutor]] = {}
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    task = queue.pop(0)
                    pool = _new_pool(1)
                    running[pool.submit(fn, task)] = (task, pool)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task, pool = running.pop(future)
                    error = future.exception()
                    pool.shutdown(wait=error is None)
                    if isinstance(error, BrokenProcessPool):
                        error = WorkerError(WORKER_DIED)
                    if error is None:
                        yield TaskOutcome(task, result=future.result())
                    else:
                        yield TaskOutcome(task, error=error)
        finally:
            for _, pool in running.values():
                _stop(pool)
                pool.shutdown(wait=True, cancel_futures=True)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(os.getpid(),),
    )


def _stop(pool: ProcessPoolExecutor) -> None:
    """Terminate the workers of ``pool`` now, whatever they are running."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
