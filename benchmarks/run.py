"""Basalt benchmark: throughput, efficiency against plain polars, memory flatness over days,
scaling over workers and the dask executor, on generated lakes.

Usage: ``python benchmarks/run.py [--quick] [--only N] [--data-dir DIR] [--results FILE]``.
Writes a JSON file and prints a table; missed targets are marked FAIL but the exit status is
0 (1 only when a measurement could not run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from suite import MEASUREMENTS, NOISY, Bench, Metric, Sizes

ROOT = Path(__file__).resolve().parent.parent
QUICK = Sizes(listings=5, memory_days=2, scaling_days=2)
MARKS = {True: "pass", False: "FAIL", None: ""}


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and versions of the machine running the benchmark."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30), 1
        ),
        "cpu": models[0] if models else platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "polars": importlib.metadata.version("polars"),
        "bmll-basalt": importlib.metadata.version("bmll-basalt"),
    }


def _value(metric: Metric) -> str:
    if isinstance(metric.value, str):
        return metric.value
    number = f"{metric.value:,.0f}" if abs(metric.value) >= 1000 else f"{metric.value:#.4g}"
    return f"{number} {metric.unit}".rstrip()


def table(metrics: Sequence[Metric]) -> str:
    """The results as an aligned text table."""
    rows = [("#", "metric", "value", "target", "result")]
    rows += [
        (
            str(m.measurement),
            m.name,
            _value(m),
            " ".join(map(str, m.target)) if m.target else "",
            MARKS[m.passed],
        )
        for m in metrics
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small lakes: a smoke run.")
    parser.add_argument(
        "--only", type=int, choices=sorted(MEASUREMENTS), help="Run one measurement."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / ".bench-data",
        help="Where generated lakes are cached (default: .bench-data/).",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=ROOT / "bench-results" / "results.json",
        help="JSON results file (default: bench-results/results.json).",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected measurements, write the JSON results and print the table."""
    args = parse(argv)
    sizes = QUICK if args.quick else Sizes()
    started, load = time.perf_counter(), os.getloadavg()
    metrics: list[Metric] = []
    errors: dict[int, str] = {}
    work = Path(tempfile.mkdtemp(prefix="basalt-bench-"))
    bench = Bench(args.data_dir.resolve(), work, sizes)
    try:
        for number, measure in MEASUREMENTS.items():
            if args.only not in (None, number):
                continue
            print(f"[{number}] {measure.__doc__}", flush=True)
            try:
                metrics += measure(bench)
            except Exception as exc:
                errors[number] = f"{type(exc).__name__}: {exc}"
                print(f"  ERROR {errors[number]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_1min": {"start": load[0], "end": os.getloadavg()[0]},
        "other_work_max_cpu_share": round(bench.disturbance, 3),
        "quick": args.quick,
        "sizes": asdict(sizes),
        "bench_seconds": round(time.perf_counter() - started, 1),
        "metrics": [asdict(m) | {"passed": m.passed} for m in metrics],
        "runs": bench.details,
        "errors": errors,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(metrics))
    if bench.disturbance > NOISY:
        print(f"\nDISTURBED: other work took up to {bench.disturbance:.0%} of the CPUs in a run")
    failed = sum(m.passed is False for m in metrics)
    print(
        f"\n{failed} target(s) missed{' — FAIL' if failed else ''}; "
        f"{results['bench_seconds']} s; results in {args.results}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
