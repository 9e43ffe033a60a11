"""Pipelines of several passes on a generated lake: 1-minute trade metrics per listing, then
15-minute bars per listing with TA-Lib indicators and 15-minute volumes per instrument,
checked against the lake's trades read with plain polars and TA-Lib called directly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import talib
from polars.testing import assert_frame_equal

from basalt import Analytic, AnalyticContext, hookimpl
from basalt.catalog import pass_schemas, pipeline_columns
from basalt.config.loading import Pipeline, validate_config
from basalt.config.models import OutputConfig
from basalt.errors import ConfigError, DataError
from basalt.metrics import MetricDoc
from basalt.plugins import Registry, get_registry
from basalt.runner import RunSummary, run_pipeline
from basalt.sampledata import generate_lake
from basalt.tasks import PassInput
from basalt.timebuckets import BucketSpec

DAYS = (dt.date(2024, 3, 4), dt.date(2024, 3, 5))
QUARTER = 15 * 60 * 10**9
INDICATORS = [
    {"name": "SMA", "input_col": "TradeTotalClose", "timeperiod": 4},
    {"name": "RSI", "input_col": "TradeTotalClose", "timeperiod": 4},
]
BARS = ["TradeTotalVolume", "TradeTotalHigh", "TradeTotalLow", "TradeTotalClose"]
QUARTER_COLUMNS = [
    "ListingId",
    "TimeBucket",
    "MIC",
    "Ticker",
    "InstrumentId",
    *BARS,
    "Sma4",
    "Rsi4",
]
PASS1 = {
    "name": "minute",
    "modules": ["trade"],
    "trade": {"generic_metrics": [{"sides": "Total", "measures": ["Volume", "OHLC"]}]},
}
PASS2 = {
    "name": "quarter",
    "modules": ["generic"],
    "generic": {
        "source_pass": "minute",
        "group_by": ["ListingId", "TimeBucket"],
        "resample_rule": "15m",
        "aggregations": dict(zip(BARS, ["sum", "max", "min", "last"], strict=True)),
        "talib_indicators": INDICATORS,
    },
}
PASS3 = {
    "name": "instrument",
    "modules": ["generic"],
    "generic": {
        "source_pass": "minute",
        "group_by": ["InstrumentId", "TimeBucket"],
        "resample_rule": "15m",
        "aggregations": {"TradeTotalVolume": "sum"},  # shares add up across venues
    },
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, *DAYS, ["XLON", "XPAR"], 4, trades_per_listing=400)
    return root


def run(lake: Path, out: Path, passes: list[dict[str, Any]], **settings: Any) -> None:
    raw = {
        "START_DATE": DAYS[0].isoformat(),
        "END_DATE": DAYS[1].isoformat(),
        "DATA_ROOT": str(lake),
        "EXECUTOR": "serial",
        "MEMORY_PER_WORKER": 1e-6,  # a symbol batch per listing: many batches a day
        "BATCH_FREQ": "W",
        "PASSES": passes,
        "OUTPUT_TARGET": {"path_template": str(out / "{pass}.parquet")},
        **settings,
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "test"))
    assert summary.ok, [f"{f.label}: {f.error}" for f in summary.failures]


@pytest.fixture(scope="module")
def outputs(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("out")
    run(lake, out, [PASS1, PASS2, PASS3])
    names = ("minute", "quarter", "instrument")
    return {name: pl.read_parquet(out / f"{name}.parquet") for name in names}


def lake_trades(lake: Path) -> pl.DataFrame:
    """The lake's lit continuous trades (what ``trade`` counts by default), with plain polars:
    listing, instrument, time, size, price, and the 15-minute bucket (L − 15 min, L]."""
    instruments = pl.scan_parquet(lake / "Reference" / "**" / "*.parquet").select(
        "ListingId", "InstrumentId"
    )
    ns = pl.col("TradeTimestampNanoseconds").dt.epoch("ns")
    return (
        pl.scan_parquet(lake / "Trades-Plus" / "**" / "*.parquet")
        .filter(pl.col("Classification") == "LIT_CONTINUOUS")
        .select(
            "ListingId",
            pl.col("TradeTimestampNanoseconds").alias("Time"),
            "Size",
            (pl.col("TradeNotional") / pl.col("Size")).alias("Price"),
            pl.from_epoch((ns + QUARTER - 1) // QUARTER * QUARTER, time_unit="ns").alias(
                "TimeBucket"
            ),
        )
        .join(instruments.unique(), on="ListingId", how="left")
        .sort("ListingId", "Time", maintain_order=True)
        .collect()
    )


def expected_bars(lake: Path) -> pl.DataFrame:
    """Each listing's 15-minute volume, high, low and close, from the lake's trades."""
    return (
        lake_trades(lake)
        .group_by("ListingId", "TimeBucket", maintain_order=True)
        .agg(
            pl.col("Size").sum().alias("TradeTotalVolume"),
            pl.col("Price").max().alias("TradeTotalHigh"),
            pl.col("Price").min().alias("TradeTotalLow"),
            pl.col("Price").last().alias("TradeTotalClose"),
        )
        .sort("ListingId", "TimeBucket")
    )


def test_the_first_pass_runs_in_many_batches(outputs: dict[str, pl.DataFrame]) -> None:
    minute = outputs["minute"]
    assert minute.select("ListingId").n_unique() == 8
    assert not minute.select("ListingId", "TimeBucket").is_duplicated().any()


def test_the_second_pass_makes_each_listings_bars_from_its_trades(
    lake: Path, outputs: dict[str, pl.DataFrame]
) -> None:
    quarter = outputs["quarter"]
    assert quarter.columns == QUARTER_COLUMNS
    got = quarter.select("ListingId", "TimeBucket", *BARS).sort("ListingId", "TimeBucket")
    assert_frame_equal(got, expected_bars(lake), check_dtypes=False)


def test_regrouping_by_instrument_adds_the_volumes_of_both_venues(
    lake: Path, outputs: dict[str, pl.DataFrame]
) -> None:
    expected = (
        lake_trades(lake)
        .group_by("InstrumentId", "TimeBucket")
        .agg(pl.col("Size").sum().alias("TradeTotalVolume"))
        .sort("InstrumentId", "TimeBucket")
    )
    instrument = outputs["instrument"]
    assert instrument.columns == ["InstrumentId", "TimeBucket", "TradeTotalVolume"]
    assert_frame_equal(instrument, expected, check_dtypes=False)
    # 8 listings, 7 instruments: one is listed on XLON (in pence) and on XPAR (in euros).
    assert instrument.select("InstrumentId").n_unique() == 7


def test_indicators_equal_talib_on_each_listings_series(
    outputs: dict[str, pl.DataFrame],
) -> None:
    quarter = outputs["quarter"]
    checked = 0
    for (listing,), unordered in quarter.group_by("ListingId"):
        rows = unordered.sort("TimeBucket")
        close = rows["TradeTotalClose"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        for column, values in {
            "Sma4": talib.SMA(close, timeperiod=4),
            "Rsi4": talib.RSI(close, timeperiod=4),
        }.items():
            got = rows[column].fill_null(np.nan).to_numpy()  # null where TA-Lib gives NaN
            np.testing.assert_allclose(got, values, rtol=1e-12, err_msg=str(listing))
            checked += int((~np.isnan(values)).sum())
    assert checked > 100  # both days of every listing, in one series


def test_passes_reading_passes_run_in_worker_processes(lake: Path, tmp_path: Path) -> None:
    """Tasks travel to spawned workers: everything they carry must pickle, and the bars they
    make are those of the lake's trades."""
    run(lake, tmp_path, [PASS1, PASS2], EXECUTOR="local", NUM_WORKERS=2)
    quarter = pl.read_parquet(tmp_path / "quarter.parquet")
    bars = quarter.select("ListingId", "TimeBucket", *BARS).sort("ListingId", "TimeBucket")
    assert_frame_equal(bars, expected_bars(lake), check_dtypes=False)
    daily = (
        lake_trades(lake)
        .group_by("ListingId", pl.col("Time").dt.date().alias("Day"))
        .agg(pl.col("Size").sum())
        .sort("ListingId", "Day")
    )
    assert daily.height == 8 * 2
    assert_frame_equal(
        quarter.group_by("ListingId", pl.col("TimeBucket").dt.date().alias("Day"))
        .agg(pl.col("TradeTotalVolume").sum().alias("Size"))
        .sort("ListingId", "Day"),
        daily,
    )


def test_a_pass_reading_a_pass_per_batch_sees_its_listings_and_day(
    lake: Path, tmp_path: Path, outputs: dict[str, pl.DataFrame]
) -> None:
    """A pass over lake tables can also read an earlier pass: for its own listings and day."""
    both = {
        "name": "both",
        "modules": ["trade", "generic"],
        "trade": {"generic_metrics": [{"sides": "Total", "measures": "Count"}]},
        "generic": {"source_pass": "minute", "metric_prefix": "Minute"},
    }
    run(lake, tmp_path, [PASS1, both])
    frame = pl.read_parquet(tmp_path / "both.parquet")
    minute = outputs["minute"]
    assert frame.height == minute.height  # every batch saw only its listings and day
    assert_frame_equal(
        frame.select("ListingId", "TimeBucket", pl.col("MinuteTradeTotalVolume")),
        minute.select(
            "ListingId", "TimeBucket", pl.col("TradeTotalVolume").alias("MinuteTradeTotalVolume")
        ),
    )


def test_analytics_list_follows_a_pass_into_the_next() -> None:
    config = validate_config({"START_DATE": "2024-03-04", "PASSES": [PASS1, PASS2]})
    quarter = [
        e.column.name for e in pipeline_columns(config, get_registry()) if e.pass_name == "quarter"
    ]
    assert quarter == QUARTER_COLUMNS
    passthrough = {**PASS2, "generic": {"source_pass": "minute"}}
    config = validate_config({"START_DATE": "2024-03-04", "PASSES": [PASS1, passthrough]})
    entries = [e for e in pipeline_columns(config, get_registry()) if e.pass_name == "quarter"]
    names = [e.column.name for e in entries]
    assert names[:2] == ["ListingId", "TimeBucket"] and "TradeTotalOpen" in names
    # columns passed through keep the first pass's documentation
    opened = next(e for e in entries if e.column.name == "TradeTotalOpen")
    assert opened.column.definition == "LocalPrice of the bucket's first Total trade"


@pytest.mark.parametrize(
    ("passes", "message"),
    [
        ([PASS2], "neither a table nor an earlier pass"),
        ([PASS2, PASS1], "neither a table nor an earlier pass"),
        ([PASS1, {**PASS2, "module_inputs": {"trade": "minute"}}], "not a module of the pass"),
        (
            [PASS1, {**PASS2, "module_inputs": {"generic": {"trades": "minute"}}}],
            "has no input trades \\(its inputs: minute\\)",
        ),
        (
            [PASS1, {**PASS3, "modules": ["generic", "trade"]}],
            "key their rows differently",
        ),
        ([PASS1, {**PASS2, "timeline_mode": "dense"}], "needs a pass over lake tables"),
    ],
)
def test_invalid_pass_wiring(passes: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config({"START_DATE": "2024-03-04", "PASSES": passes})


class BigTrades(Analytic):
    """Trade counts per bucket, and the bucket's trades of 100 shares or more as the side
    output ``big`` (one row per trade)."""

    name = "big_trades"
    requires = ("trades",)
    emits = ("big",)
    docs = (MetricDoc("Trades", "Trades", "number of trades", "Every trade."),)

    def compute(self, ctx: AnalyticContext, config: Any) -> pl.LazyFrame:
        trades = ctx.table("trades")
        big = trades.filter(pl.col("Size") >= 100).select("ListingId", "TimeBucket", "Size")
        ctx.emit("big", big)
        return trades.group_by("ListingId", "TimeBucket").agg(pl.len().alias("Trades"))


class SidePlugin:
    @staticmethod
    @hookimpl
    def basalt_register_analytics() -> list[type]:
        return [BigTrades]


def test_side_outputs_are_written_and_read_by_later_passes(
    small_lake: Path, tmp_path: Path
) -> None:
    registry = Registry.create(plugins=[("side", SidePlugin)])
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [
            {"name": "p1", "modules": ["big_trades"]},
            {"name": "p2", "modules": ["generic"], "generic": {"source_pass": "p1:big"}},
        ],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
    }
    config = validate_config(raw, registry=registry)
    summary = run_pipeline(Pipeline(config, "test"), registry=registry)
    assert summary.ok, summary.failures
    assert pl.read_parquet(tmp_path / "p1_big.parquet").select("ListingId", "Size").rows() == [
        (1, 100.0),
        (1, 300.0),
    ]
    assert pl.read_parquet(tmp_path / "p2.parquet")["Size"].to_list() == [100.0, 300.0]
    columns = [e.column.name for e in pipeline_columns(config, registry) if e.pass_name == "p2"]
    assert "Size" in columns
    with pytest.raises(ConfigError, match="'p1:small', which is neither"):
        validate_config(
            {
                **raw,
                "PASSES": [
                    raw["PASSES"][0],
                    {**raw["PASSES"][1], "generic": {"source_pass": "p1:small"}},
                ],
            },
            registry=registry,
        )


def test_resume_skips_a_partition_only_with_its_side_outputs(
    small_lake: Path, tmp_path: Path
) -> None:
    registry = Registry.create(plugins=[("side", SidePlugin)])
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["big_trades"]}],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
    }

    def resume() -> RunSummary:
        config = validate_config({**raw, "RESUME": True}, registry=registry)
        return run_pipeline(Pipeline(config, "test"), registry=registry)

    assert run_pipeline(
        Pipeline(validate_config(raw, registry=registry), "t"), registry=registry
    ).ok
    assert resume().passes[0].skipped  # both written: kept
    (tmp_path / "p1_big.parquet").unlink()
    again = resume()  # the side output is missing: the partition runs again
    assert not again.passes[0].skipped and (tmp_path / "p1_big.parquet").exists()


def test_reading_a_pass_that_wrote_nothing_for_the_days_fails_clearly() -> None:
    nothing = PassInput(OutputConfig(), (), (), BucketSpec(60), DAYS[0], DAYS[0])
    with pytest.raises(DataError, match="no earlier output to read for 2024-03-04 to 2024-03-04"):
        nothing.scan(get_registry(), None)


def test_the_catalog_follows_each_pass_bucket_width() -> None:
    fine = {**PASS1, "time_bucket_seconds": 10}
    coarse = {**PASS2, "generic": {**PASS2["generic"], "resample_rule": "30s"}}
    config = validate_config({"START_DATE": "2024-03-04", "PASSES": [fine, coarse]})
    assert pass_schemas(config, get_registry())["quarter"].names() == QUARTER_COLUMNS


def test_rows_without_time_buckets_need_dedupe_off_in_tables() -> None:
    correlate = {
        "name": "corr",
        "modules": ["correlation"],
        "correlation": {"source_pass": "minute"},
    }
    delta = {"type": "delta", "path_template": "d/{pass}"}
    with pytest.raises(ConfigError, match="no TimeBucket"):
        validate_config(
            {"START_DATE": "2024-03-04", "PASSES": [PASS1, {**correlate, "output": delta}]}
        )
    kept = {**delta, "dedupe_on_partition": False}
    validate_config({"START_DATE": "2024-03-04", "PASSES": [PASS1, {**correlate, "output": kept}]})


def test_a_pass_reading_a_failed_partition_fails_too(lake: Path, tmp_path: Path) -> None:
    broken = {**PASS1, "trade": {"generic_metrics": [{"sides": "Total", "measures": "Volume"}]}}
    broken["quality_checks"] = {
        "enabled": True,
        "ranges": {"TradeTotalVolume": [0, 1]},
        "action": "raise",
    }
    raw = {
        "START_DATE": DAYS[0].isoformat(),
        "END_DATE": DAYS[1].isoformat(),
        "DATA_ROOT": str(lake),
        "EXECUTOR": "serial",
        "PASSES": [
            broken,
            {
                **PASS2,
                "generic": {
                    "source_pass": "minute",
                    "aggregations": {"TradeTotalVolume": "sum"},
                    "group_by": ["InstrumentId", "TimeBucket"],
                },
            },
        ],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "test"))
    assert [f.pass_name for f in summary.failures] == ["minute", "quarter"]
    assert (
        "pass 'minute' failed for partition(s) 2024-03-04_2024-03-05" in summary.failures[1].error
    )


def test_only_what_this_run_wrote_or_kept_is_read(small_lake: Path, tmp_path: Path) -> None:
    """An older run's file under an earlier pass's location is not read when that pass wrote
    nothing there in this run; a resumed (kept) partition is."""
    copy = {"name": "copy", "modules": ["generic"], "generic": {"source_pass": "p1"}}
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade"]}, copy],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
    }
    assert run_pipeline(Pipeline(validate_config(raw), "test")).ok
    (tmp_path / "copy.parquet").unlink()
    resumed = run_pipeline(Pipeline(validate_config({**raw, "RESUME": True}), "test"))
    assert resumed.ok and resumed.passes[0].skipped and resumed.passes[1].outputs
    empty = {**raw, "UNIVERSE": "mic=XNYS"}  # no such listings: p1 reads nothing
    (tmp_path / "copy.parquet").unlink()
    with pytest.raises(ConfigError, match="universe 'mic=XNYS' has no listing with data"):
        run_pipeline(Pipeline(validate_config(empty), "test"))
    assert not (tmp_path / "copy.parquet").exists()
