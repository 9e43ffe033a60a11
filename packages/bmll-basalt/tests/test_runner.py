"""The runner end to end on a hand-written lake: values, universes, outputs, failures."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from basalt.config.loading import Pipeline, validate_config
from basalt.executors.base import TaskOutcome
from basalt.executors.serial import SerialExecutor
from basalt.lake import Lake
from basalt.runner import run_pipeline
from basalt.sampledata import generate_lake
from basalt.tables import TradesTable

DAY = dt.date(2024, 3, 4)
T9 = dt.datetime(2024, 3, 4, 9, 0)
TEMPLATE = "/{datasetname}/{pass}/{universe}/{start_date}_{end_date}.parquet"


def pipeline(lake: Path, out: Path, **overrides: object) -> Pipeline:
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(lake),
        "PASSES": [
            {
                "name": "p1",
                "modules": ["trade"],
                "trade": {
                    "generic_metrics": [{"sides": ["Total", "Ask"], "measures": ["Volume", "VWAP"]}]
                },
            }
        ],
        "OUTPUT_TARGET": {"path_template": str(out) + TEMPLATE},
        "EXECUTOR": "serial",
        **overrides,
    }
    return Pipeline(validate_config(raw), "test")


def test_single_mic_run(small_lake: Path, tmp_path: Path) -> None:
    summary = run_pipeline(pipeline(small_lake, tmp_path / "out", UNIVERSE="mic=XLON"))
    assert summary.ok
    result = summary.passes[0]
    assert result.outputs == [f"{tmp_path}/out/basalt/p1/mic=XLON/2024-03-04_2024-03-04.parquet"]
    frame = pl.read_parquet(result.outputs[0])
    assert frame.columns == [
        "ListingId",
        "TimeBucket",
        "MIC",
        "Ticker",
        "InstrumentId",
        "TradeTotalVolume",
        "TradeTotalVWAP",
        "TradeAskVolume",
        "TradeAskVWAP",
    ]
    assert frame.rows() == [
        (
            1,
            T9 + dt.timedelta(minutes=1),
            "XLON",
            "AAA",
            10,
            400.0,
            pytest.approx((1000 + 3120) / 400),
            100.0,
            10.0,
        ),
        (2, T9 + dt.timedelta(minutes=2), "XLON", "BBB", 20, 5.0, 20.0, 5.0, 20.0),
    ]
    assert (result.tasks, result.input_files, result.input_rows, result.output_rows) == (1, 1, 3, 2)


def test_default_universe_is_every_listing_of_the_reference(
    small_lake: Path, tmp_path: Path
) -> None:
    summary = run_pipeline(pipeline(small_lake, tmp_path))
    frame = pl.read_parquet(summary.passes[0].outputs[0])
    assert frame["ListingId"].to_list() == [1, 2, 3]
    assert frame["MIC"].to_list() == ["XLON", "XLON", "XPAR"]
    assert summary.passes[0].outputs[0].endswith("/all/2024-03-04_2024-03-04.parquet")


def test_ticker_universe_and_days_without_data(small_lake: Path, tmp_path: Path) -> None:
    summary = run_pipeline(
        pipeline(small_lake, tmp_path, UNIVERSE="ticker=CCC", END_DATE="2024-03-06")
    )
    assert summary.ok and summary.passes[0].tasks == 1  # days without reference data: no task
    assert pl.read_parquet(summary.passes[0].outputs[0])["ListingId"].to_list() == [3]


def test_missing_required_column_fails_the_pass_naming_file_and_columns(
    small_lake: Path, tmp_path: Path
) -> None:
    path = TradesTable.path(
        __import__("basalt.lake", fromlist=["Lake"]).Lake(str(small_lake)), "XLON", DAY
    )
    pl.read_parquet(path).drop("Size", "TradeNotional").write_parquet(path)
    summary = run_pipeline(pipeline(small_lake, tmp_path / "out"))
    assert not summary.ok
    [failure] = summary.failures
    assert (failure.pass_name, failure.day, failure.batch) == ("p1", DAY, 0)
    assert path in failure.error and "Size, TradeNotional" in failure.error
    assert summary.passes[0].outputs == [] and not (tmp_path / "out").exists()


def test_corrupt_file_is_reported_by_path(small_lake: Path, tmp_path: Path) -> None:
    path = TradesTable.path(Lake(str(small_lake)), "XPAR", DAY)
    Path(path).write_bytes(b"not parquet at all")
    summary = run_pipeline(pipeline(small_lake, tmp_path))
    [failure] = summary.failures
    assert not summary.ok and path in failure.error and failure.batch is None  # while planning
    assert summary.passes[0].failed == [f"{tmp_path}/basalt/p1/all/2024-03-04_2024-03-04.parquet"]


def test_python_get_universe(small_lake: Path, tmp_path: Path) -> None:
    def get_universe(date: str) -> pl.DataFrame:
        assert date == "2024-03-04"
        return pl.DataFrame({"ListingId": [2], "MIC": ["XLON"]})

    base = pipeline(small_lake, tmp_path)
    summary = run_pipeline(Pipeline(base.config, "test", get_universe))
    frame = pl.read_parquet(summary.passes[0].outputs[0])
    assert frame["ListingId"].to_list() == [2] and "Ticker" not in frame.columns


class AheadExecutor(SerialExecutor):
    """Takes a window of tasks before reporting any, as a pool of workers does."""

    def run(self, fn: Any, tasks: Any) -> Iterator[TaskOutcome[Any, Any]]:
        source = iter(tasks)
        ahead = list(itertools.islice(source, 8))
        for task in itertools.chain(ahead, source):
            yield TaskOutcome(task, result=fn(task))


def test_fail_fast_never_writes_a_partition_whose_tasks_are_still_out(tmp_path: Path) -> None:
    friday, monday = dt.date(2024, 3, 8), dt.date(2024, 3, 11)
    lake = tmp_path / "lake"
    generate_lake(lake, friday, monday, ["XLON"], 4, trades_per_listing=300)
    Path(TradesTable.path(Lake(str(lake)), "XLON", monday)).write_bytes(b"not parquet")
    raw = {
        "START_DATE": str(friday),
        "END_DATE": str(monday),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "FAIL_FAST": True,
        "MEMORY_PER_WORKER": 1e-6,  # a task per listing: Friday has 4
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{start_date}.parquet")},
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "t"), executor=AheadExecutor())
    assert not summary.ok and summary.passes[0].outputs == []
    assert not (tmp_path / "2024-03-08.parquet").exists()  # Monday's planning failed first
