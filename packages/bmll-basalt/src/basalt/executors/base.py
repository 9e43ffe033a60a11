"""``Executor``: where the tasks of a run are executed."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from basalt.allocator import ALLOCATOR_ENV, prompt_release

__all__ = ["THREADS_ENV", "Executor", "NoOptions", "TaskOutcome"]

T = TypeVar("T")
R = TypeVar("R")
THREADS_ENV = "POLARS_MAX_THREADS"


class NoOptions(BaseModel):
    """An executor without options."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class TaskOutcome(Generic[T, R]):
    """The result of one task, or the error it raised."""

    task: T
    result: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(ABC):
    """Runs independent tasks and yields their outcomes as they complete.

    An executor is a context manager: resources (process pools, cluster connections) live
    from ``__enter__`` to ``__exit__`` and serve every :meth:`run` in between. Tasks are
    taken from their iterable only as workers can start them (at most :attr:`window`
    submitted and unfinished), so the caller may plan them as the run goes. A task's
    exception is captured in its :class:`TaskOutcome`, never raised. Closing the iterator
    returned by :meth:`run` early cancels the tasks not started yet.

    Tasks and the task function are pickled to reach other processes, so the function must
    be importable; ``in_process`` executors call it directly.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel]] = NoOptions
    in_process: ClassVar[bool] = False

    def __init__(
        self,
        workers: int = 1,
        options: dict[str, Any] | None = None,
        threads_per_worker: int | None = None,
    ) -> None:
        self.workers = workers
        self.options = self.options_model.model_validate(options or {})
        self._threads = threads_per_worker

    @property
    def threads_per_worker(self) -> int:
        """Size of each worker's polars thread pool: as configured, else an even share of
        this machine's CPUs."""
        return self._threads or max(1, (os.cpu_count() or 1) // self.workers)

    @property
    def window(self) -> int:
        """Tasks submitted ahead of the workers: one running and one queued per worker."""
        return 2 * self.workers

    def worker_environment(self) -> dict[str, str]:
        """Environment variables of the worker processes this executor starts: polars'
        thread count and prompt release of freed memory (:mod:`basalt.allocator`)."""
        return {
            THREADS_ENV: str(self.threads_per_worker),
            ALLOCATOR_ENV: prompt_release(os.environ.get(ALLOCATOR_ENV)),
        }

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @abstractmethod
    def run(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        """Apply ``fn`` to every task; yield one outcome per task as each completes."""
