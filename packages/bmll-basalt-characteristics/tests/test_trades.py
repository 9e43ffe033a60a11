"""``trade_characteristics`` on tiny hand-built frames with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from basalt import BucketSpec
from basalt.testing import run_analytic, trades_frame
from basalt_characteristics.trades import TradeCharacteristics

B1 = dt.datetime(2026, 1, 2, 8, 1)
B2 = dt.datetime(2026, 1, 2, 8, 2)
ROWS: list[dict[str, Any]] = [
    # listing 1, bucket (08:00, 08:01]
    {
        "TradeTimestamp": "2026-01-02T08:00:10",
        "PublicationTimestamp": "2026-01-02T08:00:10",
        "Price": 10.0,
        "Size": 100.0,
        "AggressorSide": 1,
        "BMLLTradeType": "LIT",
        "MarketState": "CONTINUOUS_TRADING",
        "ExecutionVenue": "XLON",
        "TradeId": "a1",
        "CrossingTrade": "-",
        "NegotiatedTrade": "-",
        "AlgorithmicTrade": "H",
        "IsBlock": "FALSE",
    },
    {
        "TradeTimestamp": "2026-01-02T08:00:20",
        "PublicationTimestamp": "2026-01-02T08:00:21.5",
        "Price": 10.0,
        "Size": 0.0,
        "AggressorSide": 0,
        "BMLLTradeType": "DARK",
        "MarketState": "CONTINUOUS_TRADING",
        "ExecutionVenue": "XLON",
        "TradeId": "",
    },
    {  # exactly on the edge: closes (08:00, 08:01]
        "TradeTimestamp": "2026-01-02T08:01:00",
        "Price": 10.0,
        "Size": -30.0,
        "AggressorSide": 2,
        "BMLLTradeType": "LIT",
        "ExecutionVenue": "XOFF",
        "IsBlock": "TRUE",
    },
    # listing 1, bucket (08:01, 08:02]
    {
        "TradeTimestamp": "2026-01-02T08:01:00.000001",
        "PublicationTimestamp": "2026-01-02T08:01:00.000001",
        "Price": 10.0,
        "Size": 10.0,
        "BMLLTradeType": " unknown ",
        "MarketState": "UNKNOWN",
        "ExecutionVenue": "XLON",
        "TradeId": "  ",
        "CrossingTrade": "X",
        "NegotiatedTrade": "NLIQ",
        "AlgorithmicTrade": "-",
        "IsBlock": "FALSE",
    },
    # listing 2, bucket (08:00, 08:01]
    {
        "ListingId": 2,
        "TradeTimestamp": "2026-01-02T08:00:30",
        "Price": 5.0,
        "Size": 5.0,
        "AggressorSide": 1,
        "BMLLTradeType": "lit",
        "MarketState": "CLOSING_AUCTION",
    },
    # listing 2, bucket (08:01, 08:02]
    {
        "ListingId": 2,
        "TradeTimestamp": "2026-01-02T08:01:30",
        "Price": 5.0,
        "Size": 0.0,
        "AggressorSide": 2,
        "BMLLTradeType": "OTC",
        "MarketState": "CONTINUOUS_TRADING",
        "ExecutionVenue": "XLON",
        "TradeId": "t9",
        "NegotiatedTrade": "Y",
    },
]
EXPECTED: dict[str, list[Any]] = {
    "ListingId": [1, 1, 2, 2],
    "TimeBucket": [B1, B2, B1, B2],
    "TradeEventCount": [3, 1, 1, 1],
    "TradeVolume": [70.0, 10.0, 5.0, 0.0],
    "TradeHasZeroSize": [True, False, False, True],
    "TradeHasCancellations": [True, False, False, False],
    "TradeHasUnknownAggressorSide": [True, True, False, False],
    "TradeHasKnownAggressorSide": [True, False, True, True],
    "TradeHasUnknownType": [False, True, False, False],
    "TradeHasUnknownMarketState": [True, True, False, False],
    "TradeHasLitTrades": [True, False, True, False],
    "TradePubEqualsTradeTimestampRatio": [0.5, 1.0, None, None],
    "TradePubTradeTimestampAvgDiffS": [0.75, 0.0, None, None],
    "TradeHasMultipleExecutionVenues": [True, False, False, False],
    "TradeHasCrossingTrade": [False, True, False, False],
    "TradeHasNegotiatedTrade": [False, True, False, True],
    "TradeHasAlgorithmicTrade": [True, False, False, False],
    "TradeHasBlockTrade": [True, False, False, False],
    "TradeHasTradeId": [True, False, False, True],
}


def test_every_column_by_hand() -> None:
    result = run_analytic(TradeCharacteristics, {"trades": trades_frame(ROWS)})
    assert result.to_dict(as_series=False) == EXPECTED


def test_dtypes() -> None:
    result = run_analytic(TradeCharacteristics, {"trades": trades_frame(ROWS)})
    counts = {"TradeEventCount": pl.Int64}
    floats = dict.fromkeys(
        ["TradeVolume", "TradePubEqualsTradeTimestampRatio", "TradePubTradeTimestampAvgDiffS"],
        pl.Float64,
    )
    for column, dtype in result.schema.items():
        if column.startswith("TradeHas"):
            assert dtype == pl.Boolean, column
    assert {c: result.schema[c] for c in [*counts, *floats]} == {**counts, **floats}


def test_metric_prefix() -> None:
    result = run_analytic(
        TradeCharacteristics, {"trades": trades_frame(ROWS)}, {"metric_prefix": "DQ_"}
    )
    assert result["DQ_TradeVolume"].to_list() == [70.0, 10.0, 5.0, 0.0]
    assert "TradeVolume" not in result.columns


def test_wider_buckets_merge_rows() -> None:
    result = run_analytic(
        TradeCharacteristics, {"trades": trades_frame(ROWS, bucket=BucketSpec(300))}
    )
    assert result.select("ListingId", "TradeEventCount", "TradeVolume").rows() == [
        (1, 4, 80.0),
        (2, 2, 5.0),
    ]
    assert result["TradePubEqualsTradeTimestampRatio"].to_list() == [2 / 3, None]


@pytest.mark.parametrize(
    ("value", "is_set"),
    [
        ("Y", True),
        ("H", True),
        ("X", True),
        ("N", False),
        ("TRUE", True),
        ("true", True),
        ("1", True),
        ("-", False),
        ("FALSE", False),
        ("false", False),
        ("NO", False),
        ("0", False),
        (" ", False),
        ("", False),
        (None, False),
    ],
)
def test_flag_markers(value: str | None, is_set: bool) -> None:
    rows = [{"TradeTimestamp": "2026-01-02T08:00:10", "Size": 1.0, "CrossingTrade": value}]
    result = run_analytic(TradeCharacteristics, {"trades": trades_frame(rows)})
    assert result["TradeHasCrossingTrade"].to_list() == [is_set]


def test_nanosecond_publication_timestamps_take_precedence() -> None:
    rows = [
        {
            "TradeTimestamp": "2026-01-02T08:00:10",
            "PublicationTimestamp": "2026-01-02T08:00:10",
            "PublicationTimestampNanoseconds": "2026-01-02T08:00:10.000000250",
        }
    ]
    result = run_analytic(TradeCharacteristics, {"trades": trades_frame(rows)})
    assert result["TradePubEqualsTradeTimestampRatio"].to_list() == [0.0]
    assert result["TradePubTradeTimestampAvgDiffS"].to_list() == [pytest.approx(250e-9)]
