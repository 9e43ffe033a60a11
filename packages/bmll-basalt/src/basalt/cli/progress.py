"""Terminal progress and the closing run summary."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from basalt.runner import RunSummary

__all__ = ["ProgressBars", "format_summary"]


class ProgressBars:
    """A progress bar per pass and output partition (date batch) on a terminal (stderr),
    counting its tasks (days × symbol batches); silent otherwise. A partition's bar closes
    when the next one starts or when the partition is written, whichever comes first (a
    partition is written while the next one computes)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._partition: tuple[str, str] | None = None

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar, self._partition = None, None

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None:
        self._close()
        if self.enabled:
            self._partition = (pass_name, partition)
            self._bar = click.progressbar(
                length=max(tasks, 1),
                label=f"{pass_name} {partition}",
                file=sys.stderr,
                show_pos=True,
            )
            self._bar.__enter__()

    def task_finished(self, pass_name: str, label: str, ok: bool) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def partition_finished(self, pass_name: str, partition: str, status: str) -> None:
        if self._partition == (pass_name, partition):
            self._close()
        if self.enabled and status != "written":
            click.echo(f"{pass_name} {partition}: {status}", err=True)


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
    for failure in summary.failures:
        lines.append(f"FAILED {failure.label}: {failure.error}")
    status = "ok" if summary.ok else f"{len(summary.failures)} failed task(s)"
    lines.append(f"{status} in {summary.seconds:.2f} s")
    return "\n".join(lines)
