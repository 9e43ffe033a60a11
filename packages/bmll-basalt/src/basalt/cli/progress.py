"""Terminal progress and the closing run summary."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from basalt.runner import RunSummary

__all__ = ["ProgressBars", "format_summary"]


class ProgressBars:
    """One progress bar per pass on a terminal (stderr); silent otherwise."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None

    def pass_started(self, pass_name: str, tasks: int) -> None:
        if self.enabled:
            self._bar = click.progressbar(
                length=tasks, label=f"pass {pass_name}", file=sys.stderr, show_pos=True
            )
            self._bar.__enter__()

    def task_finished(self, pass_name: str, day: dt.date, ok: bool) -> None:
        if self._bar is not None:
            self._bar.update(1, current_item=day)

    def pass_finished(self, pass_name: str) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def format_summary(summary: RunSummary) -> str:
    """A readable table of what each pass read and wrote, then failures and time."""
    header = ("pass", "days", "files in", "rows in", "rows out", "output")
    rows = [
        (
            p.name,
            str(p.days),
            str(p.input_files),
            f"{p.input_rows:,}",
            f"{p.output_rows:,}",
            p.output or "-",
        )
        for p in summary.passes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    for failure in summary.failures:
        lines.append(f"FAILED pass {failure.pass_name} on {failure.day}: {failure.error}")
    status = "ok" if summary.ok else f"{len(summary.failures)} failed task(s)"
    lines.append(f"{status} in {summary.seconds:.2f} s")
    return "\n".join(lines)
