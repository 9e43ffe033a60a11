"""Repeated, measured runs of ``basalt pipeline run`` and comparisons of their outputs."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from measure import run_measured

__all__ = [
    "PIPELINES",
    "BasaltRuns",
    "basalt_command",
    "dask_missing",
    "run_basalt",
    "same_files",
]

PIPELINES = Path(__file__).parent / "pipelines"
OUTPUT = "basalt-output"
SUMMARY = re.compile(r"^ok in ([0-9.]+) s$", re.MULTILINE)
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"
"""Removed from the measured commands' environment: Python then caches compiled modules as an
installed package does, instead of compiling ~400 modules in every process it starts."""


def basalt_command() -> str:
    """The ``basalt`` script of the running interpreter's environment (else the PATH's)."""
    beside = Path(sys.executable).with_name("basalt")
    found = str(beside) if beside.is_file() else shutil.which("basalt")
    if found is None:
        raise RuntimeError("no basalt command: install the bmll-basalt kernel first")
    return found


def dask_missing() -> str | None:
    """Why the dask executor can't run here (None when it can): ``basalt plugins list`` must
    show it and ``distributed`` must be installed."""
    listing = subprocess.run(
        [basalt_command(), "plugins", "list"], capture_output=True, text=True, check=True
    ).stdout
    listed = any(
        "dask" in re.split(r"[\s,]+", line.split(":", 1)[1])
        for line in listing.splitlines()
        if line.strip().startswith("executors:")
    )
    if not listed:
        return "no dask executor in basalt plugins list"
    if importlib.util.find_spec("distributed") is None:
        return "distributed is not installed"
    return None


@dataclass(frozen=True)
class BasaltRuns:
    """Repeated runs of one pipeline: per-run measurements and the last run's directory."""

    walls: tuple[float, ...]
    cpus: tuple[float, ...]
    others: tuple[float, ...]
    """CPU time of other work on the machine during each run."""
    peaks: tuple[int, ...]
    inner: tuple[float, ...]
    """The run's own time from its summary line ``ok in X s``."""
    workdir: Path

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cores(self) -> float:
        """CPU cores kept busy on average: CPU time over wall time."""
        return statistics.median(c / w for c, w in zip(self.cpus, self.walls, strict=True))

    @property
    def disturbance(self) -> float:
        """The largest share of the machine's CPUs that other work took during a run."""
        cores = os.cpu_count() or 1
        return max(o / (w * cores) for o, w in zip(self.others, self.walls, strict=True))

    @property
    def peak(self) -> int:
        return round(statistics.median(self.peaks))

    @property
    def inner_wall(self) -> float:
        return statistics.median(self.inner)

    @property
    def output(self) -> Path:
        return self.workdir / OUTPUT

    def as_json(self) -> dict[str, object]:
        return {
            "wall_seconds": list(self.walls),
            "cpu_seconds": list(self.cpus),
            "other_cpu_seconds": list(self.others),
            "peak_rss_bytes": list(self.peaks),
            "in_process_seconds": list(self.inner),
        }


def run_basalt(
    pipeline: str,
    root: Path,
    days: Sequence[dt.date],
    workdir: Path,
    *,
    workers: int,
    threads: int | None = None,
    executor: str | None = None,
    repeat: int = 3,
) -> BasaltRuns:
    """Run ``pipelines/<pipeline>.yaml`` over ``days`` of the lake at ``root`` ``repeat``
    times, each in a fresh ``workdir`` (outputs land under ``workdir/basalt-output``)."""
    command = [
        basalt_command(),
        "pipeline",
        "run",
        "--pipeline",
        str(PIPELINES / f"{pipeline}.yaml"),
        "--data-root",
        str(root),
        "--start-date",
        days[0].isoformat(),
        "--end-date",
        days[-1].isoformat(),
        "--workers",
        str(workers),
        "--no-progress",
        *(["--threads-per-worker", str(threads)] if threads else []),
        *(["--executor", executor] if executor else []),
    ]
    environment = {k: v for k, v in os.environ.items() if k != NO_BYTECODE}
    walls, cpus, others, peaks, inner = [], [], [], [], []
    for _ in range(repeat):
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        run = run_measured(command, workdir, environment)
        found = SUMMARY.search(run.output)
        if run.returncode != 0 or found is None:
            raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}):\n{run.output}")
        walls.append(run.wall_seconds)
        cpus.append(run.cpu_seconds)
        others.append(run.other_cpu_seconds)
        peaks.append(run.peak_rss_bytes)
        inner.append(float(found.group(1)))
    return BasaltRuns(tuple(walls), tuple(cpus), tuple(others), tuple(peaks), tuple(inner), workdir)


def same_files(left: Path, right: Path) -> tuple[bool, int]:
    """Whether the trees ``left`` and ``right`` hold the same files with the same bytes, and
    how many files ``left`` holds."""
    names = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    others = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    same = names == others and all(
        (left / name).read_bytes() == (right / name).read_bytes() for name in names
    )
    return same, len(names)
