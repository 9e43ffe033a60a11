"""Run a command and measure its wall time and the peak RSS of its whole process tree."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "run_measured", "tree_rss"]

POLL_SECONDS = 0.01
PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """The outcome of one measured command."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    """User + system CPU time of the process and every descendant it waited for."""
    other_cpu_seconds: float
    """CPU time the machine spent on other work meanwhile (noise in the measurement)."""
    peak_rss_bytes: int
    output: str


def _children(pid: int) -> list[int]:
    try:
        threads = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return []
    found: list[int] = []
    for thread in threads:
        try:
            found += [int(child) for child in (thread / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss(pid: int) -> int:
    """VmRSS of ``pid`` in bytes (0 when it is gone or has no memory, e.g. a zombie)."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss(root: int) -> int:
    """Sum of VmRSS over ``root`` and all its descendants."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _rss(pid)
        pending += _children(pid)
    return total


def _machine_busy() -> float:
    """CPU seconds all CPUs spent busy since boot (``/proc/stat``, idle and iowait excluded)."""
    fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """Run ``command`` in ``cwd`` with ``env`` (default: this process's environment); sample
    its process tree's RSS every ~10 ms until it exits."""
    peak = 0
    done = threading.Event()
    cpu, own, busy = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF), _machine_busy()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(POLL_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    own = _cpu(resource.RUSAGE_SELF) - own  # this sampler
    other = max(0.0, _machine_busy() - busy - cpu - own)
    return Run(process.returncode, wall, cpu, other, peak, output)
