"""Terminal progress and the closing run summary."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from basalt.runner import RunSummary

__all__ = ["ProgressBars", "format_summary"]


class ProgressBars:
    """A progress bar on a terminal (stderr) counting the tasks (days × symbol batches) of
    the partitions started so far, labelled with the pass and the latest partition; silent
    otherwise. Partitions overlap (the next starts while the last tasks of one run), so one
    bar grows with each partition and closes once every started task is done."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None:
        if not self.enabled or tasks == 0:
            return
        label = f"{pass_name} {partition}"
        if self._bar is None:
            self._bar = click.progressbar(length=tasks, label=label, file=sys.stderr, show_pos=True)
            self._bar.__enter__()
        else:
            self._bar.length += tasks
            self._bar.label = label

    def task_finished(self, pass_name: str, label: str, ok: bool) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if self._bar.pos >= self._bar.length:
                self._bar.__exit__(None, None, None)
                self._bar = None

    def partition_finished(self, pass_name: str, partition: str, status: str) -> None:
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
    lines += [f"WARNING {warning}" for warning in summary.warnings]
    for failure in summary.failures:
        lines.append(f"FAILED {failure.label}: {failure.error}")
    status = "ok" if summary.ok else f"{len(summary.failures)} failed task(s)"
    lines.append(f"{status} in {summary.seconds:.2f} s")
    return "\n".join(lines)
