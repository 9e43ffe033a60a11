"""Execution at scale: shredding vs direct scans, executors, failures, resume, re-runs."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
import yaml

from basalt import Analytic, AnalyticContext, hookimpl
from basalt.config.loading import Pipeline, validate_config
from basalt.lake import Lake
from basalt.planning.plan import PassPlanner
from basalt.plugins import Registry, get_registry
from basalt.runner import make_universe, run_pipeline
from basalt.sampledata import generate_lake
from basalt.tables import TradesTable

FRIDAY, MONDAY = dt.date(2024, 3, 8), dt.date(2024, 3, 11)
TRADE = {
    "generic_metrics": [{"sides": ["Bid", "Ask", "Total"], "measures": ["Volume", "VWAP", "OHLC"]}]
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two MICs × four listings (one cross-listed), Friday and Monday (two weekly partitions)."""
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FRIDAY, MONDAY, ["XLON", "XPAR"], listings=4, trades_per_listing=300)
    return root


def config(lake: Path, out: Path, registry: Registry | None = None, **extra: Any) -> Pipeline:
    raw = {
        "START_DATE": str(FRIDAY),
        "END_DATE": str(MONDAY),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade"], "trade": TRADE}],
        "OUTPUT_TARGET": {"path_template": f"{out}/{{pass}}/{{start_date}}_{{end_date}}.parquet"},
        **extra,
    }
    return Pipeline(validate_config(raw, registry=registry), "test")


def outputs(out: Path) -> dict[str, pl.DataFrame]:
    return {p.name: pl.read_parquet(p) for p in sorted((out / "p1").glob("*.parquet"))}


def test_one_output_per_weekly_partition(lake: Path, tmp_path: Path) -> None:
    summary = run_pipeline(config(lake, tmp_path))
    assert summary.ok
    frames = outputs(tmp_path)
    assert list(frames) == ["2024-03-08_2024-03-10.parquet", "2024-03-11_2024-03-11.parquet"]
    assert frames["2024-03-08_2024-03-10.parquet"]["TimeBucket"].dt.date().unique().to_list() == [
        FRIDAY
    ]
    assert summary.passes[0].input_files == 4


@pytest.fixture(scope="module")
def scattered_lake(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same trades, but rows shuffled across small row groups (not organised by listing)."""
    root = tmp_path_factory.mktemp("scattered")
    for mic in ("XLON", "XPAR"):
        for day in (FRIDAY, MONDAY):
            for table in ("Trades-Plus", "Reference"):
                source = Path(
                    TradesTable.path(Lake(str(lake)), mic, day)
                    .replace("Trades-Plus", table)
                    .replace("trades-plus-", table.lower() + "-")
                )
                target = root / source.relative_to(lake)
                target.parent.mkdir(parents=True, exist_ok=True)
                frame = pl.read_parquet(source)
                frame.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(
                    target, row_group_size=64
                )
    return root


def test_shredding_and_direct_scans_give_identical_outputs(
    scattered_lake: Path, tmp_path: Path
) -> None:
    tiny_budget = 1e-6  # GB: every listing gets a symbol batch of its own
    results = {}
    for mode in ("direct", "shred", "auto"):
        summary = run_pipeline(
            config(
                scattered_lake,
                tmp_path / mode,
                MEMORY_PER_WORKER=tiny_budget,
                PREPARE_DATA_MODE=mode,
            )
        )
        assert summary.ok and summary.passes[0].tasks == 16  # 8 listings × 2 days
        results[mode] = outputs(tmp_path / mode)
    assert results["direct"].keys() == results["shred"].keys() == results["auto"].keys()
    for name, frame in results["direct"].items():
        assert frame.equals(results["shred"][name]) and frame.equals(results["auto"][name])
    assert frame.height > 100


def test_local_processes_match_the_serial_executor_byte_for_byte(
    lake: Path, tmp_path: Path
) -> None:
    run_pipeline(config(lake, tmp_path / "serial"))
    summary = run_pipeline(config(lake, tmp_path / "local", EXECUTOR="local", NUM_WORKERS=2))
    assert summary.ok and summary.passes[0].tasks == 7  # up to two batches per worker and day
    for name in outputs(tmp_path / "serial"):
        serial = (tmp_path / "serial" / "p1" / name).read_bytes()
        assert (tmp_path / "local" / "p1" / name).read_bytes() == serial


class Flaky(Analytic):
    """Fails as told by the class attributes (a test double of a misbehaving module)."""

    name = "flaky"
    requires = ("trades",)
    fail_on: ClassVar[dt.date | None] = None
    transient_failures: ClassVar[int] = 0
    calls: ClassVar[int] = 0

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        type(self).calls += 1
        if ctx.date == self.fail_on:
            raise ValueError(f"bad data on {ctx.date}")
        if type(self).transient_failures:
            type(self).transient_failures -= 1
            raise ConnectionError("connection reset by peer")
        return ctx.table("trades").group_by("ListingId", "TimeBucket").agg(pl.len().alias("Rows"))


@pytest.fixture
def flaky() -> Iterator[Registry]:
    plugin = types.ModuleType("flaky_plugin")
    plugin.basalt_register_analytics = hookimpl(lambda: [Flaky])  # type: ignore[attr-defined]
    Flaky.fail_on, Flaky.transient_failures, Flaky.calls = None, 0, 0
    yield Registry.create(autoload=False, plugins=[("flaky", plugin)])


def flaky_config(lake: Path, out: Path, registry: Registry, **extra: Any) -> Pipeline:
    pipeline = config(lake, out, registry, **extra)
    raw = pipeline.config.model_dump(mode="json")
    raw["PASSES"][0]["modules"] = ["trade", "flaky"]
    return Pipeline(validate_config(raw, registry=registry), "test")


def test_a_failing_task_is_isolated_and_reported(
    lake: Path, tmp_path: Path, flaky: Registry
) -> None:
    Flaky.fail_on = FRIDAY
    summary = run_pipeline(flaky_config(lake, tmp_path, flaky), registry=flaky)
    assert not summary.ok
    [failure] = summary.failures
    assert (failure.pass_name, failure.partition, failure.day, failure.batch) == (
        "p1",
        "2024-03-08_2024-03-10",
        FRIDAY,
        0,
    )
    assert failure.error == "ValueError: bad data on 2024-03-08"
    assert list(outputs(tmp_path)) == ["2024-03-11_2024-03-11.parquet"]  # the other partition
    assert summary.passes[0].failed == [f"{tmp_path}/p1/2024-03-08_2024-03-10.parquet"]


def test_fail_fast_stops_at_the_first_failure(lake: Path, tmp_path: Path, flaky: Registry) -> None:
    Flaky.fail_on = FRIDAY
    pipeline = flaky_config(lake, tmp_path, flaky, FAIL_FAST=True, MEMORY_PER_WORKER=1e-6)
    summary = run_pipeline(pipeline, registry=flaky)  # a batch per listing: 8 tasks a day
    assert len(summary.failures) == 1 and Flaky.calls == 1
    assert outputs(tmp_path) == {}
    assert summary.passes[0].failed == [f"{tmp_path}/p1/2024-03-08_2024-03-10.parquet"]


def test_transient_errors_are_retried(lake: Path, tmp_path: Path, flaky: Registry) -> None:
    Flaky.transient_failures = 2
    summary = run_pipeline(flaky_config(lake, tmp_path, flaky), registry=flaky)
    assert summary.ok and Flaky.calls == 4  # two partitions, the first tried three times
    monday = pl.concat(
        pl.read_parquet(TradesTable.path(Lake(str(lake)), mic, MONDAY)) for mic in ("XLON", "XPAR")
    )
    written = outputs(tmp_path)["2024-03-11_2024-03-11.parquet"]
    assert written["Rows"].sum() == monday.height  # every trade of the day, counted once


def test_retries_are_bounded(lake: Path, tmp_path: Path, flaky: Registry) -> None:
    Flaky.transient_failures = 10
    summary = run_pipeline(
        flaky_config(lake, tmp_path, flaky, IO_RETRIES=1, FAIL_FAST=True), registry=flaky
    )
    assert (
        "ConnectionError: connection reset by peer" in summary.failures[0].error
        and Flaky.calls == 2
    )


def test_resume_skips_complete_partitions(lake: Path, tmp_path: Path) -> None:
    run_pipeline(config(lake, tmp_path))
    first, second = sorted((tmp_path / "p1").glob("*.parquet"))
    second.unlink()
    stamp = first.stat().st_mtime_ns
    summary = run_pipeline(config(lake, tmp_path, RESUME=True))
    assert summary.passes[0].skipped == [str(first)] and summary.passes[0].outputs == [str(second)]
    assert first.stat().st_mtime_ns == stamp and second.is_file()


def test_a_rerun_is_byte_identical(lake: Path, tmp_path: Path) -> None:
    run_pipeline(config(lake, tmp_path))
    before = {p.name: p.read_bytes() for p in (tmp_path / "p1").iterdir()}
    run_pipeline(config(lake, tmp_path))
    assert {p.name: p.read_bytes() for p in (tmp_path / "p1").iterdir()} == before


def test_a_killed_run_leaves_one_correct_copy_after_the_rerun(tmp_path: Path) -> None:
    lake, first, last = tmp_path / "lake", dt.date(2024, 3, 4), dt.date(2024, 3, 22)
    generate_lake(lake, first, last, ["XLON"], listings=4, trades_per_listing=2000)
    reference, out, temp = tmp_path / "reference", tmp_path / "out", tmp_path / "temp"
    overrides = {"START_DATE": str(first), "END_DATE": str(last)}
    run_pipeline(config(lake, reference, **overrides))
    pipeline_file = tmp_path / "pipeline.yaml"
    raw = config(lake, out, **overrides, NUM_WORKERS=2, TEMP_DIR=str(temp)).config
    pipeline_file.write_text(yaml.safe_dump(raw.model_dump(mode="json", exclude={"EXECUTOR"})))
    basalt = str(Path(sys.executable).with_name("basalt"))
    command = [basalt, "pipeline", "run", "--pipeline", str(pipeline_file)]
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("p1/*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed mid-way"
    os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, after one partition
    process.wait()
    assert len(list(out.glob("p1/*.parquet"))) < 3
    assert any(temp.glob("basalt-run-*")), "the killed run left its temporary directory"
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    assert not list(temp.iterdir()), "temporary files of both runs were removed"
    leftovers = [p for p in out.rglob(".*") if p.name != ".basalt.lock"]  # a writers' lock
    assert not leftovers, "no partial outputs left"
    written = outputs(out)
    expected = outputs(reference)
    assert written.keys() == expected.keys() and len(expected) == 3
    assert all(written[name].equals(frame) for name, frame in expected.items())


class PerInstrument(Analytic):
    """Listings of the batch sharing each listing's InstrumentId (needs them together)."""

    name = "per_instrument"
    requires = ("trades",)
    batch_group_by = "InstrumentId"

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        counts = ctx.universe.group_by("InstrumentId").agg(pl.len().alias("Siblings"))
        siblings = ctx.universe.join(counts, on="InstrumentId").select("ListingId", "Siblings")
        rows = ctx.table("trades").group_by("ListingId", "TimeBucket").agg(pl.len().alias("Rows"))
        return rows.join(siblings.lazy(), on="ListingId")


def test_listings_of_an_instrument_share_a_batch(lake: Path, tmp_path: Path) -> None:
    plugin = types.ModuleType("per_instrument_plugin")
    plugin.basalt_register_analytics = hookimpl(lambda: [PerInstrument])  # type: ignore[attr-defined]
    registry = Registry.create(autoload=False, plugins=[("per_instrument", plugin)])
    raw = config(lake, tmp_path, registry, MEMORY_PER_WORKER=1e-6).config.model_dump(mode="json")
    raw["PASSES"][0]["modules"] = ["per_instrument"]
    summary = run_pipeline(
        Pipeline(validate_config(raw, registry=registry), "test"), registry=registry
    )
    frame = pl.concat(outputs(tmp_path).values())
    reference = pl.read_parquet(
        Path(lake, "Reference", "XLON", "2024", "03", "08", "reference-XLON-20240308.parquet")
    )
    cross_listed = reference.filter(
        pl.col("InstrumentId").is_in(
            pl.concat([pl.read_parquet(p) for p in lake.glob("Reference/*/2024/03/08/*.parquet")])
            .group_by("InstrumentId")
            .len()
            .filter(pl.col("len") > 1)["InstrumentId"]
            .implode()
        )
    )["ListingId"]
    assert cross_listed.len() > 0, "the sample lake lists some instruments on both MICs"
    assert frame.filter(pl.col("ListingId").is_in(cross_listed.implode()))["Siblings"].min() == 2
    assert summary.passes[0].tasks == 14  # 7 instruments × 2 days: instruments stay together


UNIVERSE_ASKED: list[dt.date] = []


class PlannedAhead(Analytic):
    """Counts rows; on Friday it waits (10 s at most) to see Monday's partition planned."""

    name = "planned_ahead"
    requires = ("trades",)
    monday_planned_during_friday: ClassVar[bool] = False

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        if ctx.date == FRIDAY:
            deadline = time.monotonic() + 10
            while MONDAY not in UNIVERSE_ASKED and time.monotonic() < deadline:
                time.sleep(0.01)
            type(self).monday_planned_during_friday = MONDAY in UNIVERSE_ASKED
        return ctx.table("trades").group_by("ListingId", "TimeBucket").agg(pl.len().alias("Rows"))


def test_the_next_partition_is_planned_while_one_computes(lake: Path, tmp_path: Path) -> None:
    references = {
        day: pl.concat(
            pl.read_parquet(p) for p in sorted(lake.glob(f"Reference/*/{day:%Y/%m/%d}/*.parquet"))
        )
        for day in (FRIDAY, MONDAY)
    }

    def get_universe(date: str) -> pl.DataFrame:
        UNIVERSE_ASKED.append(dt.date.fromisoformat(date))
        return references[dt.date.fromisoformat(date)]

    plugin = types.ModuleType("planned_ahead_plugin")
    plugin.basalt_register_analytics = hookimpl(lambda: [PlannedAhead])  # type: ignore[attr-defined]
    registry = Registry.create(autoload=False, plugins=[("planned_ahead", plugin)])
    raw = config(lake, tmp_path, registry).config.model_dump(mode="json")
    raw["PASSES"][0]["modules"] = ["planned_ahead"]
    pipeline = Pipeline(validate_config(raw, registry=registry), "test", get_universe)
    assert run_pipeline(pipeline, registry=registry).ok
    assert PlannedAhead.monday_planned_during_friday
    assert sorted(outputs(tmp_path)) == [
        "2024-03-08_2024-03-10.parquet",
        "2024-03-11_2024-03-11.parquet",
    ]


def test_a_task_reads_only_the_files_of_its_listings_mics(lake: Path, tmp_path: Path) -> None:
    pipeline = config(lake, tmp_path, NUM_WORKERS=2)
    registry = get_registry()
    planner = PassPlanner(
        config=pipeline.config,
        config_json="{}",
        pass_index=0,
        registry=registry,
        universe=make_universe(pipeline, registry),
        workdir=str(tmp_path),
        workers=2,
        memory_bytes=1e9,
    )
    [friday] = [b for b in planner.date_batches() if FRIDAY in b.days]
    tasks = planner.day_tasks(friday, FRIDAY, itertools.count().__next__)
    mics = [sorted(task.listings["MIC"].unique().to_list()) for task in tasks]
    assert ["XLON"] in mics and ["XPAR"] in mics
    for task, its_mics in zip(tasks, mics, strict=True):
        expected = tuple(TradesTable.path(Lake(str(lake)), mic, FRIDAY) for mic in its_mics)
        assert task.inputs["trades"].files == expected


class Events:
    """An observer that records the run's progress events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def pass_started(self, pass_name: str, partitions: dict[str, int]) -> None:
        self.events.append(("pass", pass_name))

    def partition_started(self, pass_name: str, partition: str, tasks: int) -> None:
        self.events.append(("started", partition))

    def task_finished(self, pass_name: str, partition: str, label: str, ok: bool) -> None:
        self.events.append(("task", label.split(", ")[1]))

    def partition_finished(self, pass_name: str, partition: str, status: str) -> None:
        self.events.append((status, partition))


def test_the_next_partition_starts_without_waiting_for_the_last_task(
    lake: Path, tmp_path: Path
) -> None:
    events = Events()
    pipeline = config(lake, tmp_path, EXECUTOR="local", NUM_WORKERS=2)
    assert run_pipeline(pipeline, observer=events).ok
    friday, monday = "2024-03-08_2024-03-10", "2024-03-11_2024-03-11"
    # Friday's 3 tasks leave room for Monday's in the executor's window of 4.
    assert events.events.index(("started", monday)) < events.events.index(("task", str(FRIDAY)))
    assert {("written", friday), ("written", monday)} <= set(events.events)
