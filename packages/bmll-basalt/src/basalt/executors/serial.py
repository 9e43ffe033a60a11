"""The ``serial`` executor: tasks run one after the other in the calling process."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

from basalt.executors.base import Executor, TaskOutcome

__all__ = ["SerialExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class SerialExecutor(Executor):
    """Run tasks in the calling process, in order (debugging, tiny runs, plugins
    registered in code rather than installed)."""

    name = "serial"
    in_process = True

    def run(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        for task in tasks:
            try:
                yield TaskOutcome(task, result=fn(task))
            except Exception as exc:
                yield TaskOutcome(task, error=exc)
