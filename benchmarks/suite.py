"""The five measurements: each returns its table rows and its raw numbers."""

from __future__ import annotations

import operator
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from basalt.config.loading import load_pipeline
from basalt.runner import run_pipeline
from baseline import trade_files, trade_metrics
from lake import LakeSpec, ensure_lake, file_rows, input_rows, weekdays
from runs import PIPELINES, BasaltRuns, dask_missing, run_basalt, same_files

__all__ = ["MEASUREMENTS", "NOISY", "Bench", "Metric", "Sizes"]

GIB = 1 << 30
WORKERS = 2
REPEAT = 3
EFFICIENCY_REPEAT = 7
NOISY = 0.1
"""Share of the CPUs taken by other work above which results are flagged as disturbed."""
CHECKS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    "=": operator.eq,
}


@dataclass(frozen=True)
class Sizes:
    """Lake and run sizes: listings per MIC, days of the memory and scaling runs."""

    listings: int = 25
    memory_days: int = 20
    scaling_days: int = 10


@dataclass(frozen=True)
class Metric:
    """One row of the results table; ``target`` is ``(operator, bound)`` or absent."""

    measurement: int
    name: str
    value: float | str
    unit: str = ""
    target: tuple[str, float | str] | None = None

    @property
    def passed(self) -> bool | None:
        """Whether the value meets the target (None: no target)."""
        if self.target is None:
            return None
        op, bound = self.target
        return bool(CHECKS[op](self.value, bound))


@dataclass
class Bench:
    """Runs measurements on cached lakes, sharing runs between measurements."""

    data_dir: Path
    work_dir: Path
    sizes: Sizes
    details: dict[str, Any] = field(default_factory=dict)
    _runs: dict[str, BasaltRuns] = field(default_factory=dict)

    @property
    def spec(self) -> LakeSpec:
        return LakeSpec(listings=self.sizes.listings)

    def lake(self, days: int) -> Path:
        return ensure_lake(self.data_dir, self.spec, days)

    def basalt(
        self,
        pipeline: str,
        days: int,
        workers: int = WORKERS,
        threads: int | None = None,
        executor: str | None = None,
    ) -> BasaltRuns:
        """Measured runs of ``pipeline`` over the first ``days`` weekdays with ``threads``
        polars threads per worker (default: an even share), memoised. The first call also
        makes one unmeasured run: it fills the page and bytecode caches."""
        threading = f"-{threads}t" if threads else ""
        label = f"{pipeline}-{days}d-{workers}w{threading}-{executor or 'local'}"
        if label not in self._runs:
            root = self.lake(days)
            if not self._runs:
                print("  warming up", flush=True)
                warm_up = self.work_dir / "warm-up"
                run_basalt("trade_l2", root, weekdays(1), warm_up, workers=WORKERS, repeat=1)
            print(f"  running {label} ×{REPEAT}", flush=True)
            runs = run_basalt(
                pipeline,
                root,
                weekdays(days),
                self.work_dir / label,
                workers=workers,
                threads=threads,
                executor=executor,
                repeat=REPEAT,
            )
            self._runs[label] = runs
            self.details[label] = runs.as_json()
            if runs.disturbance > NOISY:
                print(f"  note: other work took {runs.disturbance:.0%} of the CPUs", flush=True)
        return self._runs[label]

    @property
    def disturbance(self) -> float:
        """The largest share of the CPUs other work took during any measured run."""
        return max((runs.disturbance for runs in self._runs.values()), default=0.0)

    def throughput(self) -> list[Metric]:
        """1: the trade + L2 pass over one day with two workers."""
        runs = self.basalt("trade_l2", 1)
        rows = input_rows(self.lake(1), 1)
        return [
            Metric(1, "trade+L2 1 day: wall", runs.wall, "s", ("<", 3.0)),
            Metric(1, "trade+L2 1 day: in-process (ok in)", runs.inner_wall, "s"),
            Metric(1, "trade+L2 1 day: input rows/s", rows / runs.wall, "rows/s"),
            Metric(1, "trade+L2 1 day: peak RSS", runs.peak / GIB, "GiB", ("<", 1.0)),
        ]

    def efficiency(self) -> list[Metric]:
        """2: the trade-only pass against the hand-written polars query on the same files,
        both in this process with its polars threads, warm (median of several runs), over
        the scaling run's days (the target: sustained rows/s) and over one day (where
        planning the day and writing the output cannot overlap any computing); and the
        ``basalt`` command with two workers (process and pool start included)."""
        days = self.sizes.scaling_days
        metrics: list[Metric] = []
        for span in (days, 1):
            query, library = self._in_process(span)
            ratio = Metric(
                2,
                f"efficiency in-process, {_days(span)} (Basalt ÷ polars rows/s)",
                query / library,
                "",
                (">=", 0.7) if span == days else None,
            )
            metrics += [
                ratio,
                Metric(2, f"trade-only {_days(span)}: polars query", query, "s"),
                Metric(2, f"trade-only {_days(span)}: Basalt in-process", library, "s"),
            ]
        rows = input_rows(self.lake(days), days, ("trades",))
        query = trade_metrics(trade_files(self.lake(days), self.spec.mics, weekdays(days)))
        runs = self.basalt("trade", days)
        baseline = statistics.median(self.details[f"baseline_seconds_{days}d"])
        return [
            *metrics,
            Metric(
                2,
                f"efficiency basalt command, {days} days (Basalt ÷ polars rows/s)",
                baseline / runs.wall,
            ),
            Metric(2, f"trade-only {days} days: basalt command wall", runs.wall, "s"),
            Metric(2, f"trade-only {days} days: polars rows/s", rows / baseline, "rows/s"),
            Metric(
                2,
                "polars query = Basalt output",
                _agrees(query.collect(), runs.output),
                "",
                ("=", "yes"),
            ),
        ]

    def _in_process(self, days: int) -> tuple[float, float]:
        """Median seconds of the polars query and of Basalt's trade pass (``serial``
        executor) over the first ``days`` weekdays, in this process, warm."""
        root = self.lake(days)
        query = trade_metrics(trade_files(root, self.spec.mics, weekdays(days)))
        output = self.work_dir / f"in-process-{days}d"
        pipeline = load_pipeline(
            PIPELINES / "trade.yaml",
            {
                "DATA_ROOT": str(root),
                "START_DATE": weekdays(days)[0].isoformat(),
                "END_DATE": weekdays(days)[-1].isoformat(),
                "EXECUTOR": "serial",
                "OUTPUT_TARGET": {"path_template": f"{output}/{{pass}}-{{start_date}}.parquet"},
            },
        )
        query.collect()  # warm-up
        run_pipeline(pipeline)
        baseline, library = self._median_seconds(
            {
                f"baseline_seconds_{days}d": query.collect,
                f"in_process_seconds_{days}d": lambda: run_pipeline(pipeline),
            }
        )
        return baseline, library

    def _median_seconds(self, runs: dict[str, Callable[[], object]]) -> list[float]:
        """Median wall times of ``EFFICIENCY_REPEAT`` calls of each of ``runs``, taken in
        turn so that a drift of the machine's speed hits them alike (all kept in details)."""
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(EFFICIENCY_REPEAT):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - started)
        self.details |= seconds
        return [statistics.median(taken) for taken in seconds.values()]

    def memory(self) -> list[Metric]:
        """3: peak RSS of the trade + L2 pass over many days against one day."""
        days = self.sizes.memory_days
        one, many = self.basalt("trade_l2", 1), self.basalt("trade_l2", days)
        rows = input_rows(self.lake(days), days)
        return [
            Metric(3, f"peak RSS {days} days ÷ 1 day", many.peak / one.peak, "", ("<=", 1.2)),
            Metric(3, f"trade+L2 {days} days: peak RSS", many.peak / GIB, "GiB"),
            Metric(3, f"trade+L2 {days} days: wall", many.wall, "s"),
            Metric(3, f"trade+L2 {days} days: input rows/s", rows / many.wall, "rows/s"),
        ]

    def scaling(self) -> list[Metric]:
        """4: the trade + L2 pass over several days with one and with two workers: of one
        polars thread each (process scaling, the target), and of an even share of the CPUs
        (the default: one worker already has every core)."""
        days = self.sizes.scaling_days
        metrics = []
        for threads, target in ((1, (">=", 1.6)), (None, None)):
            kind = "1 thread each" if threads else "default threads"
            one = self.basalt("trade_l2", days, 1, threads)
            two = self.basalt("trade_l2", days, 2, threads)
            metrics += [
                Metric(4, f"speed-up 2 vs 1 worker, {kind}", one.wall / two.wall, "×", target),
                Metric(4, f"trade+L2 {days} days, {kind}: 1 worker wall", one.wall, "s"),
                Metric(4, f"trade+L2 {days} days, {kind}: 2 workers wall", two.wall, "s"),
                Metric(4, f"trade+L2 {days} days, {kind}: 1 worker cores busy", one.cores),
                Metric(4, f"trade+L2 {days} days, {kind}: 2 workers cores busy", two.cores),
            ]
        return metrics

    def passes(self) -> list[Metric]:
        """6: the L3 and l2tw passes, and trade + L2 with the default metric sets, over one
        day with two workers."""
        metrics = []
        for pipeline, (label, folders, targets) in PASSES.items():
            runs = self.basalt(pipeline, 1)
            rows = sum(file_rows(self.lake(1), folder, 1) for folder in folders)
            wall, peak = targets or (None, None)
            metrics += [
                Metric(6, f"{label} 1 day: wall", runs.wall, "s", ("<", wall) if wall else None),
                Metric(6, f"{label} 1 day: input rows/s", rows / runs.wall, "rows/s"),
                Metric(
                    6,
                    f"{label} 1 day: peak RSS",
                    runs.peak / GIB,
                    "GiB",
                    ("<", peak) if peak else None,
                ),
            ]
        return metrics

    def dask(self) -> list[Metric]:
        """5: the scaling run on the dask executor; outputs must equal the local executor's."""
        days = self.sizes.scaling_days
        missing = dask_missing()
        if missing:
            return [Metric(5, "dask executor", f"not available: {missing}")]
        dask, local = self.basalt("trade_l2", days, executor="dask"), self.basalt("trade_l2", days)
        same, files = same_files(local.output, dask.output)
        return [
            Metric(5, f"trade+L2 {days} days, dask 2 workers: wall", dask.wall, "s"),
            Metric(5, f"trade+L2 {days} days, dask: peak RSS", dask.peak / GIB, "GiB"),
            Metric(
                5,
                f"dask output = local output ({files} files)",
                "identical" if same else "different",
                "",
                ("=", "identical"),
            ),
        ]


PASSES = {
    "l3": ("L3", ("Equity-L3",), None),
    "l2tw": ("l2tw", ("Equity",), None),
    "trade_l2_defaults": ("trade+L2 default metrics", ("Trades-Plus", "Equity"), (3.0, 1.0)),
}
"""Measurement 6: pipeline → (label, lake folders read, (wall s, peak GiB) targets)."""


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _agrees(expected: pl.DataFrame, output: Path) -> str:
    """``yes`` when Basalt's output under ``output`` holds the polars query's values."""
    keys = ["ListingId", "TimeBucket"]
    actual = pl.read_parquet(sorted(output.rglob("*.parquet"))).select(expected.columns).sort(keys)
    try:
        assert_frame_equal(actual, expected.sort(keys), check_exact=False, rel_tol=1e-9)
    except AssertionError as exc:
        return f"no: {str(exc).splitlines()[0]}"
    return "yes"


MEASUREMENTS: dict[int, Callable[[Bench], list[Metric]]] = {
    1: Bench.throughput,
    2: Bench.efficiency,
    3: Bench.memory,
    4: Bench.scaling,
    5: Bench.dask,
    6: Bench.passes,
}
