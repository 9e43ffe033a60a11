"""What a run reports: per pass what it read and wrote, failures, warnings and time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["PassResult", "RunObserver", "RunSummary", "TaskFailure"]


class RunObserver(Protocol):
    """Receives progress events (the CLI draws progress bars from them): a pass starts with
    the days of each of its partitions; a partition starts with its number of tasks; tasks
    finish; a partition finishes ``written``, ``skipped``, ``failed`` or ``empty``."""

    def pass_started(self, pass_name: str, partitions: dict[str, int]) -> None: ...

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None: ...

    def task_finished(self, pass_name: str, partition: str, label: str, ok: bool) -> None: ...

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
    out_of_range: int = 0
    """Input rows dropped because they lie outside the day of the file holding them."""
    outputs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    """Locations of the partitions (and side outputs) this run wrote or kept (resumed)."""
    rewritten: list[str] = field(default_factory=list)
    """Locations of the partitions (and side outputs) this run wrote."""
    no_data: list[tuple[dt.date, str]] = field(default_factory=list)
    """(day, MIC) without any input file: market holidays."""


@dataclass
class RunSummary:
    """The outcome of a run."""

    passes: list[PassResult] = field(default_factory=list)
    failures: list[TaskFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Schema lock differences, quality checks, expectations and module warnings that only
    warn: ``where: problem``, each problem once (its first place)."""
    repeats: dict[str, int] = field(default_factory=dict)
    """How many more places each warning of :attr:`warnings` came from."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def warn(self, where: str, problem: str) -> None:
        """Record ``problem`` found at ``where``; a problem found before is counted."""
        for warning in self.warnings:
            if warning.endswith(f": {problem}"):
                self.repeats[warning] = self.repeats.get(warning, 0) + 1
                return
        self.warnings.append(f"{where}: {problem}")
