"""Terminal progress and the closing run summary."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from basalt.summary import PassResult, RunSummary

__all__ = ["ProgressBars", "format_summary"]

UNITS_PER_DAY = 100
"""Steps of the bar per day: tasks of a day advance it by fractions of a day."""


class ProgressBars:
    """A progress bar per pass on a terminal (stderr), silent otherwise. It counts the days
    of the pass, all known when it starts, so its percentage and time left hold however
    many partitions the pass has and however they overlap (the next partition starts while
    the last tasks of one run): a partition's days advance evenly with its tasks, and at
    once when it is skipped, failed or empty. Partitions that did not write are reported
    on their own line."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._days: dict[str, int] = {}
        self._step: dict[str, float] = {}
        self._done: dict[str, float] = {}
        self._shown = 0

    def pass_started(self, pass_name: str, partitions: dict[str, int]) -> None:
        self._close()
        if not self.enabled:
            return
        self._days, self._step, self._done, self._shown = dict(partitions), {}, {}, 0
        days = sum(partitions.values())
        self._bar = click.progressbar(
            length=days * UNITS_PER_DAY,
            label=f"pass {pass_name}: {days} day(s)",
            file=sys.stderr,
            show_percent=True,
            show_eta=True,
        )
        self._bar.__enter__()

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None:
        if tasks:
            self._step[partition] = self._days.get(partition, 0) / tasks

    def task_finished(self, pass_name: str, partition: str, label: str, ok: bool) -> None:
        self._advance(partition, self._step.get(partition, 0.0))

    def partition_finished(self, pass_name: str, partition: str, status: str) -> None:
        self._advance(partition, self._days.get(partition, 0) - self._done.get(partition, 0.0))
        if self.enabled and status != "written":
            click.echo(f"\n{pass_name} {partition}: {status}", err=True)

    def _advance(self, partition: str, days: float) -> None:
        if self._bar is None:
            return
        self._done[partition] = self._done.get(partition, 0.0) + days
        reached = round(sum(self._done.values()) * UNITS_PER_DAY)
        self._bar.update(reached - self._shown)
        self._shown = reached
        if self._shown >= self._bar.length:
            self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def format_summary(summary: RunSummary) -> str:
    """A readable table of what each pass read and wrote, then failures and time."""
    header = ("pass", "tasks", "files in", "rows in", "rows out", "partitions")
    rows = [
        (
            p.name,
            str(p.tasks),
            str(p.input_files),
            f"{p.input_rows:,}",
            f"{p.output_rows:,}",
            f"{len(p.outputs)} written, {len(p.skipped)} skipped, {len(p.failed)} failed",
        )
        for p in summary.passes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    for result in summary.passes:
        lines += [f"  {result.name} -> {path}" for path in result.outputs]
    for result in summary.passes:
        lines += _data_notes(result)
    for warning in summary.warnings:
        repeated = summary.repeats.get(warning, 0)
        lines.append(f"WARNING {warning}" + (f" (and {repeated} more)" if repeated else ""))
    for failure in summary.failures:
        lines.append(f"FAILED {failure.label}: {failure.error}")
    status = "ok" if summary.ok else f"{len(summary.failures)} failure(s)"
    lines.append(f"{status} in {summary.seconds:.2f} s")
    return "\n".join(lines)


def _data_notes(result: PassResult) -> list[str]:
    """The days a pass found no file for (holidays) and the rows it dropped."""
    notes = []
    by_day: dict[dt.date, list[str]] = {}
    for day, mic in result.no_data:
        by_day.setdefault(day, []).append(mic)
    if by_day:
        days = "; ".join(f"{day} ({', '.join(mics)})" for day, mics in sorted(by_day.items()))
        notes.append(f"NO DATA pass {result.name}: no input file at all on {days}")
    if result.out_of_range:
        notes.append(
            f"DROPPED pass {result.name}: {result.out_of_range:,} input row(s) stamped outside "
            "the day of the file holding them (or without a timestamp)"
        )
    return notes
