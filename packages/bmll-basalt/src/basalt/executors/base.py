"""``Executor``: where the tasks of a run are executed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

__all__ = ["Executor", "TaskOutcome"]

T = TypeVar("T")
R = TypeVar("R")


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

    A task's exception is captured in its :class:`TaskOutcome`, never raised, so one
    failing task does not stop the others.
    """

    name: ClassVar[str]

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    @abstractmethod
    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[TaskOutcome[T, R]]:
        """Apply ``fn`` to every task; yield one outcome per task."""
