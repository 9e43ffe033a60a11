"""The example pipelines of the repository validate, run on generated sample data, and give
the values of the lake's trades recomputed with plain polars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from basalt.catalog import pipeline_columns
from basalt.config.loading import load_pipeline
from basalt.plugins import get_registry
from basalt.runner import run_pipeline
from basalt.sampledata import generate_lake

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))
DAY = dt.date(2024, 3, 4)
KEYS = ["ListingId", "TimeBucket"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of four listings on XLON (in pence) and four on XPAR (in euros), one of them
    an XLON instrument's: an example mixing their prices warns in the run's summary."""
    root = tmp_path_factory.mktemp("lake")
    generate_lake(
        root, DAY, DAY + dt.timedelta(days=1), ["XLON", "XPAR"], 4, trades_per_listing=300
    )
    return root


def bars(lake: Path, seconds: int, mics: list[str], days: int) -> pl.DataFrame:
    """Per listing and bucket (L − seconds, L] of ``days`` days from 2024-03-04: volume, count,
    notional, VWAP and OHLC of the lit continuous trades of ``mics``, with plain polars."""
    width = seconds * 10**9
    ns = pl.col("TradeTimestampNanoseconds").dt.epoch("ns")
    price = pl.col("TradeNotional") / pl.col("Size")
    side = pl.col("AggressorSide")
    return (
        pl.scan_parquet(lake / "Trades-Plus" / "**" / "*.parquet")
        .filter(
            pl.col("Classification") == "LIT_CONTINUOUS",
            pl.col("MIC").is_in(mics),
            pl.col("TradeDate").dt.date() < DAY + dt.timedelta(days=days),
        )
        .sort("ListingId", "TradeTimestampNanoseconds", maintain_order=True)
        .group_by(
            "ListingId",
            pl.from_epoch((ns + width - 1) // width * width, time_unit="ns").alias("TimeBucket"),
        )
        .agg(
            pl.col("Size").sum().alias("Volume"),
            pl.len().alias("Count"),
            pl.col("Size").filter(side == 1).sum().alias("AskVolume"),
            pl.col("Size").filter(side == 2).sum().alias("BidVolume"),
            pl.col("TradeNotionalEUR").sum().alias("NotionalEUR"),
            (pl.col("TradeNotional").sum() / pl.col("Size").sum()).alias("VWAP"),
            price.first().alias("Open"),
            price.max().alias("High"),
            price.min().alias("Low"),
            price.last().alias("Close"),
        )
        .sort(KEYS)
        .collect()
    )


def same(got: pl.DataFrame, expected: pl.DataFrame, columns: dict[str, str]) -> None:
    """``got``'s ``columns`` (output name → name in ``expected``) equal ``expected``'s, row by
    row; sums of floats to 1e-12 (the output's are exact fixed-point sums)."""
    renamed = got.select(*KEYS, *(pl.col(k).alias(v) for k, v in columns.items())).sort(KEYS)
    want = expected.select(*KEYS, *columns.values())
    assert_frame_equal(
        renamed, want, check_dtypes=False, check_exact=False, rel_tol=1e-12, abs_tol=0
    )


def check_trades(outputs: dict[str, pl.DataFrame], lake: Path) -> None:
    expected = bars(lake, 60, ["XLON", "XPAR"], 2)
    columns = {
        f"TradeTotal{m}": m
        for m in ("Volume", "Count", "NotionalEUR", "VWAP", "Open", "High", "Low", "Close")
    }
    columns |= {"TradeAskVolume": "AskVolume", "TradeBidVolume": "BidVolume"}
    same(outputs["pass1"], expected, columns)


def check_market_quality(outputs: dict[str, pl.DataFrame], lake: Path) -> None:
    quality = outputs["quality"]
    assert quality.select("MIC").unique().to_series().to_list() == ["XLON"]
    traded = quality.filter(pl.col("TradeTotalVolume") > 0)  # the session grid has more
    assert traded.height < quality.height
    columns = {
        "TradeTotalVolume": "Volume",
        "TradeAskVolume": "AskVolume",
        "TradeTotalVWAP": "VWAP",
    }
    same(traded, bars(lake, 60, ["XLON"], 1), columns)


def check_indicators(outputs: dict[str, pl.DataFrame], lake: Path) -> None:
    expected = bars(lake, 60, ["XLON", "XPAR"], 2)
    same(outputs["minute"], expected, {"TradeTotalVolume": "Volume", "TradeTotalClose": "Close"})
    quarter = bars(lake, 15 * 60, ["XLON", "XPAR"], 2)
    columns = {
        f"TradeTotal{m}": m for m in ("Volume", "NotionalEUR", "Open", "High", "Low", "Close")
    }
    same(outputs["quarter"], quarter, columns)
    assert outputs["quarter"].select(pl.col("Rsi8").is_between(0, 100).all()).item()


CHECKS: dict[str, Callable[[dict[str, pl.DataFrame], Path], None]] = {
    "trades.yaml": check_trades,
    "market_quality.yaml": check_market_quality,
    "indicators.yaml": check_indicators,
}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_and_gives_the_lakes_values(example: Path, lake: Path, tmp_path: Path) -> None:
    output = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    loaded = load_pipeline(
        example, {"DATA_ROOT": str(lake), "EXECUTOR": "serial", "OUTPUT_TARGET": output}
    )
    summary = run_pipeline(loaded)
    assert summary.ok, summary.failures
    assert summary.warnings == []
    outputs = {entry.name: pl.read_parquet(entry.outputs) for entry in summary.passes}
    for name, frame in outputs.items():
        listed = {
            e.column.name
            for e in pipeline_columns(loaded.config, get_registry())
            if e.pass_name == name
        }
        assert set(frame.columns) <= listed
        assert set(frame.columns) >= listed - {"Ticker", "InstrumentId", "MIC"}
    CHECKS[example.name](outputs, lake)
