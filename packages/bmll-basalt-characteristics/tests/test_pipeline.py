"""End to end: a pipeline with ``trade`` and ``trade_characteristics`` over a tiny lake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from basalt.config.loading import Pipeline, validate_config
from basalt.lake import Lake
from basalt.plugins import Registry
from basalt.runner import run_pipeline
from basalt.tables import ReferenceTable, TradesTable
from basalt.tables.base import DataTable
from basalt.testing import bmll_frame

DAY = dt.date(2026, 1, 2)
REFERENCE = [
    {"ListingId": 1, "InstrumentId": 10, "Ticker": "AAA", "CurrencyCode": "GBX", "IsPrimary": True},
    {"ListingId": 2, "InstrumentId": 20, "Ticker": "BBB", "CurrencyCode": "GBX", "IsPrimary": True},
]
OFF_BOOK = "OFF_BOOK_ON_EXCHANGE"


def trade(listing: int, time: str, size: float, **extra: Any) -> dict[str, Any]:
    """A trade at ``time`` on 2026-01-02, price 10."""
    return {
        "ListingId": listing,
        "TradeTimestamp": f"2026-01-02T{time}",
        "Price": 10.0,
        "Size": size,
        **extra,
    }


TRADES = [
    trade(1, "08:00:10", 100.0, AggressorSide=1, ExecutionVenue="XLON"),
    trade(1, "08:00:40", 50.0, AggressorSide=2, ExecutionVenue="XLON"),
    trade(1, "08:00:50", 20.0, AggressorSide=0, Classification=OFF_BOOK, ExecutionVenue="XOFF"),
    trade(1, "08:02:30", 5.0, Classification=OFF_BOOK, CrossingTrade="X"),
    trade(2, "08:01:00", 0.0, AggressorSide=1),
]


def write(root: Path, table: type[DataTable], rows: list[dict[str, Any]]) -> None:
    path = Path(table.path(Lake(str(root)), "XLON", DAY))
    path.parent.mkdir(parents=True, exist_ok=True)
    bmll_frame(table, rows).write_parquet(path)


def test_pipeline_writes_trade_and_characteristics_columns(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write(lake, ReferenceTable, REFERENCE)
    write(lake, TradesTable, TRADES)
    output = tmp_path / "out" / "{pass}.parquet"
    raw = {
        "START_DATE": DAY.isoformat(),
        "DATA_ROOT": str(lake),
        "UNIVERSE": "mic=XLON",
        "PASSES": [
            {
                "name": "quality",
                "modules": ["trade", "trade_characteristics"],
                "trade": {"generic_metrics": [{"measures": ["Volume", "Count"]}]},
                "trade_characteristics_analytics": {"metric_prefix": "Q_"},
            }
        ],
        "OUTPUT_TARGET": {"type": "parquet", "path_template": str(output)},
    }
    registry = Registry.create()
    pipeline = Pipeline(validate_config(raw, registry=registry), "test")
    summary = run_pipeline(pipeline, registry=registry)
    assert summary.ok, summary.failures
    result = pl.read_parquet(tmp_path / "out" / "quality.parquet")
    columns = [
        "ListingId",
        "TimeBucket",
        "MIC",
        "Ticker",
        "TradeTotalVolume",
        "TradeTotalCount",
        "Q_TradeEventCount",
        "Q_TradeVolume",
        "Q_TradeHasZeroSize",
        "Q_TradeHasUnknownAggressorSide",
        "Q_TradeHasMultipleExecutionVenues",
        "Q_TradeHasCrossingTrade",
    ]
    assert result.select(columns).rows() == [
        # the trade module keeps lit continuous trades only; characteristics see every row
        (
            1,
            dt.datetime(2026, 1, 2, 8, 1),
            "XLON",
            "AAA",
            150.0,
            2,
            3,
            170.0,
            False,
            True,
            True,
            False,
        ),
        (
            1,
            dt.datetime(2026, 1, 2, 8, 3),
            "XLON",
            "AAA",
            None,
            None,
            1,
            5.0,
            False,
            True,
            False,
            True,
        ),
        (
            2,
            dt.datetime(2026, 1, 2, 8, 1),
            "XLON",
            "BBB",
            0.0,
            1,
            1,
            0.0,
            True,
            False,
            False,
            False,
        ),
    ]
