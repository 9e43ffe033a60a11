"""The generic analytic on small frames: regrouping, resampling edges, aggregations, and TA-Lib
indicators against TA-Lib called directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl
import pytest
import talib
from pydantic import ValidationError

from basalt.analytics.generic import GenericAnalytic, GenericConfig
from basalt.analytics.regroup import duration_seconds, in_listing_currency
from basalt.errors import ConfigError
from basalt.testing import AnalyticContract, run_analytic
from basalt.timebuckets import BucketSpec

T = dt.datetime(2024, 3, 4, 10, 0)
MINUTE = BucketSpec(60)
UNIVERSE = pl.DataFrame(
    {"ListingId": [1, 2, 3], "MIC": ["XLON", "XPAR", "XLON"], "InstrumentId": [10, 10, 30]}
)


def source(rows: list[tuple[int, float, float, float]]) -> pl.LazyFrame:
    """Pass-1 rows (listing, minutes after 10:00, volume, close)."""
    listing, minutes, volume, close = zip(*rows, strict=True)
    return pl.LazyFrame(
        {
            "ListingId": list(listing),
            "TimeBucket": [T + dt.timedelta(minutes=m) for m in minutes],
            "Volume": list(volume),
            "Close": list(close),
        },
        schema_overrides={"TimeBucket": pl.Datetime("ns")},
    )


def compute(
    config: Mapping[str, object],
    rows: list[tuple[int, float, float, float]],
    *,
    bucket: BucketSpec = MINUTE,
    source_bucket: BucketSpec = MINUTE,
) -> pl.DataFrame:
    return run_analytic(
        GenericAnalytic,
        {"pass1": source(rows)},
        config,
        universe=UNIVERSE,
        bucket=bucket,
        input_buckets={"pass1": source_bucket},
    )


def at(minute: int) -> dt.datetime:
    return T + dt.timedelta(minutes=minute)


EDGES = [(1, m, 1.0, 1.0) for m in (0, 1, 14, 15, 16, 30)]


@pytest.mark.parametrize(
    ("bucket", "source_bucket", "labels"),
    [
        # (10:14, 10:15] lies in (10:00, 10:15]; (9:59, 10:00] in (9:45, 10:00].
        (BucketSpec(60), BucketSpec(60), {0: 1, 15: 3, 30: 2}),
        (BucketSpec(60, "start", "left"), BucketSpec(60), {-15: 1, 0: 3, 15: 2}),
        # Source [10:00, 10:01) labelled 10:00 lies (but for its first instant) in (10:00, 10:15].
        (BucketSpec(60), BucketSpec(60, "start", "left"), {15: 3, 30: 2, 45: 1}),
        (BucketSpec(60, "start", "left"), BucketSpec(60, "start", "left"), {0: 3, 15: 2, 30: 1}),
    ],
)
def test_resampling_puts_each_bucket_in_the_coarser_bucket_holding_it(
    bucket: BucketSpec, source_bucket: BucketSpec, labels: dict[int, int]
) -> None:
    config = {"resample_rule": "15m", "aggregations": {"Volume": "sum"}}
    frame = compute(config, EDGES, bucket=bucket, source_bucket=source_bucket)
    assert frame.select("TimeBucket", "Volume").rows() == [
        (at(m), float(n)) for m, n in labels.items()
    ]


def test_regrouping_by_instrument_joins_it_from_the_universe() -> None:
    rows = [(1, 1, 100, 10.0), (2, 1, 50, 10.2), (3, 1, 7, 3.0), (1, 2, 10, 10.1), (2, 2, 5, 9.9)]
    config = {
        "group_by": ["InstrumentId", "TimeBucket"],
        "resample_rule": "5m",
        "aggregations": {"Volume": "sum", "Close": "last"},
        "metric_prefix": "Instrument",
    }
    frame = compute(config, rows)
    assert frame.columns == ["InstrumentId", "TimeBucket", "InstrumentVolume", "InstrumentClose"]
    # Listings 1 and 2 share instrument 10; 'last' follows time, then ListingId.
    assert frame.rows() == [(10, at(5), 165.0, 9.9), (30, at(5), 7.0, 3.0)]


QUOTED = UNIVERSE.with_columns(CurrencyCode=pl.Series(["GBX", "EUR", "GBX"]))
"""Instrument 10 is listed on XLON in pence (listing 1) and on XPAR in euros (listing 2)."""
PRICES = [(1, 1, 100, 1010.0), (2, 1, 50, 11.6), (3, 1, 7, 300.0)]


def regroup(config: Mapping[str, object], universe: pl.DataFrame = QUOTED) -> pl.DataFrame:
    return run_analytic(
        GenericAnalytic,
        {"pass1": source(PRICES).with_columns(VWAP=pl.col("Close"), High=pl.col("Close"))},
        {"resample_rule": "5m", **config},
        universe=universe,
        input_buckets={"pass1": MINUTE},
    )


@pytest.mark.parametrize("column", ["Close", "High", "VWAP"])
def test_regrouping_prices_of_listings_in_different_currencies_warns(column: str) -> None:
    config = {"group_by": ["InstrumentId", "TimeBucket"], "aggregations": {column: "last"}}
    with pytest.warns(
        UserWarning,
        match=rf"generic: combining {column} mixes currencies, in InstrumentId=10 \(EUR/GBX\);",
    ):
        regroup(config)


@pytest.mark.parametrize(
    ("group_by", "aggregations", "universe"),
    [
        (["InstrumentId", "TimeBucket"], {"Volume": "sum", "Close": "count"}, QUOTED),
        (["MIC", "TimeBucket"], {"Close": "last"}, QUOTED),  # one currency per venue
        (["ListingId", "TimeBucket"], {"Close": "last"}, QUOTED),
        (
            ["InstrumentId", "TimeBucket"],
            {"Close": "last"},
            QUOTED.with_columns(CurrencyCode=pl.lit("EUR")),
        ),
        (["InstrumentId", "TimeBucket"], {"Close": "last"}, UNIVERSE),  # currencies unknown
    ],
)
def test_regrouping_without_mixing_currencies_does_not_warn(
    group_by: list[str], aggregations: dict[str, str], universe: pl.DataFrame
) -> None:
    frame = regroup({"group_by": group_by, "aggregations": aggregations}, universe)
    assert frame.height > 0


def test_regrouping_every_listing_together_warns() -> None:
    with pytest.warns(
        UserWarning, match=r"combining Close mixes currencies, in all listings \(EUR/GBX\)"
    ):
        regroup({"group_by": "TimeBucket", "aggregations": {"Close": "max"}})


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("TradeTotalClose", True),
        ("TradeBidHigh", True),
        ("TradeTotalVWAP", True),
        ("VwapAsk", True),
        ("LitVWAPBuyAggressor", True),
        ("BidPrice1", True),
        ("TradeTotalMedianPrice", True),
        ("TradeTotalNotional", True),
        ("AskCumNotional5TWA", True),
        ("SpreadAbs", True),
        ("MidClose", True),
        ("EffectiveSpread1s", True),
        ("PriceImpact5s", True),
        ("TradeTotalVolume", False),
        ("TradeTotalCount", False),
        ("TradeTotalNotionalEUR", False),
        ("TradeTotalAuctionNotional", False),
        ("BlockTradeAvgNotional", False),
        ("SpreadBps", False),
        ("PricePoint", False),
        ("LitVolumeWeightedPricePlacementBuyAggressor", False),
        ("DiscrepancyToPreTradeMid", False),
        ("ImbalanceCumNotional5", False),
        ("ArrivalFlowImbalance", False),
        ("TradeTotalVolatility", False),
        ("L2VolatilityMidStd", False),
        ("OddLotTradeCount", False),
    ],
)
def test_columns_in_the_listing_currency_by_name(column: str, expected: bool) -> None:
    assert in_listing_currency(column) is expected


def test_every_aggregation() -> None:
    rows = [(1, 1, 4, 10.0), (1, 2, 2, 12.0), (1, 3, 6, 11.0)]
    aggregations = ["sum", "mean", "first", "last", "max", "min", "count"]
    for how, expected in zip(aggregations, [12, 4, 4, 6, 6, 2, 3], strict=True):
        config = {"resample_rule": "5m", "aggregations": {"Volume": how}}
        assert compute(config, rows)["Volume"].to_list() == [expected], how


def test_without_aggregations_rows_pass_through_with_the_prefix() -> None:
    rows = [(1, 1, 4, 10.0), (2, 1, 2, 12.0)]
    frame = compute({"metric_prefix": "P"}, rows)
    assert frame.columns == ["ListingId", "TimeBucket", "PVolume", "PClose"]
    assert frame["PVolume"].to_list() == [4.0, 2.0]


def series(count: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(100 + np.cumsum(rng.normal(0, 1, count)))


def test_indicators_equal_talib_per_group_in_time_order() -> None:
    closes = {1: series(30, 1), 3: series(25, 2)}
    rows = [(i, m, 1.0, c) for i, values in closes.items() for m, c in enumerate(values)]
    rows.reverse()  # time order is the analytic's job
    config = {
        "talib_indicators": [
            {"name": "SMA", "input_col": "Close", "timeperiod": 5},
            {"name": "rsi", "input_col": "Close"},
            {
                "name": "MACD",
                "input_col": "Close",
                "parameters": {"fastperiod": 3, "slowperiod": 6, "signalperiod": 2},
                "output_index": 1,
            },
            {"name": "ATR", "input_col": ["Close", "Close", "Close"], "output_col": "Atr"},
        ]
    }
    frame = compute(config, rows)
    assert frame.columns[-4:] == ["Sma5", "Rsi14", "MacdSignal362", "Atr"]
    for listing, values in closes.items():
        got = frame.filter(pl.col("ListingId") == listing)
        close = np.array(values)
        expected = {
            "Sma5": talib.SMA(close, timeperiod=5),
            "Rsi14": talib.RSI(close, timeperiod=14),
            "MacdSignal362": talib.MACD(close, fastperiod=3, slowperiod=6, signalperiod=2)[1],
            "Atr": talib.ATR(close, close, close, timeperiod=14),
        }
        for column, want in expected.items():
            computed = got[column].fill_null(np.nan).to_numpy()  # null where TA-Lib gives NaN
            np.testing.assert_allclose(computed, want, rtol=1e-12, err_msg=f"{listing} {column}")


def test_default_indicator_names() -> None:
    config = GenericConfig.model_validate(
        {
            "talib_indicators": [
                {"name": "SMA", "input_col": "Close"},
                {"name": "MACD", "input_col": "Close", "timeperiod": None},
                {"name": "BBANDS", "input_col": "Close", "timeperiod": 5, "output_index": 2},
            ]
        }
    )
    names = [i.column() for i in config.talib_indicators]
    assert names == ["Sma14", "Macd12269", "BbandsLowerband5220"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"resample_rule": "15m"}, "need aggregations"),
        ({"group_by": ["InstrumentId", "TimeBucket"]}, "need aggregations"),
        ({"resample_rule": "15 minutes", "aggregations": {"Volume": "sum"}}, "not a duration"),
        (
            {"group_by": "InstrumentId", "resample_rule": "1h", "aggregations": {"V": "sum"}},
            "needs TimeBucket",
        ),
        ({"aggregations": {"ListingId": "sum"}}, "group keys"),
        ({"aggregations": {"Volume": "median"}}, "sum"),
        ({"talib_indicators": [{"name": "NOPE", "input_col": "Close"}]}, "unknown TA-Lib"),
        ({"talib_indicators": [{"name": "ATR", "input_col": "Close"}]}, "takes 3 input"),
        (
            {"talib_indicators": [{"name": "SMA", "input_col": "C", "parameters": {"x": 1}}]},
            "no parameter",
        ),
        ({"talib_indicators": [{"name": "SMA", "input_col": "C", "output_index": 1}]}, "outputs"),
    ],
)
def test_invalid_options(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GenericConfig.model_validate(config)


def test_resampling_to_a_width_that_is_not_a_multiple_fails() -> None:
    config = {"resample_rule": "90s", "aggregations": {"Volume": "sum"}}
    with pytest.raises(ConfigError, match="not a multiple"):
        compute(config, EDGES, source_bucket=BucketSpec(60))


def test_a_group_column_found_nowhere_fails() -> None:
    config = {"group_by": ["IndexId", "TimeBucket"], "aggregations": {"Volume": "sum"}}
    with pytest.raises(ConfigError, match="IndexId"):
        compute(config, EDGES)


def test_durations() -> None:
    assert [duration_seconds(r) for r in ("15m", "1h30m", "500ms", "2d")] == [
        900,
        5400,
        0.5,
        172_800,
    ]


class TestGenericContract(AnalyticContract):
    analytic = GenericAnalytic
    tables = {
        "minute": source([(1, 1, 4, 10.0), (2, 1, 2, 12.0), (1, 16, 6, 11.0)]).with_columns(
            InstrumentId=pl.col("ListingId") * 10
        )
    }
    input_buckets = {"minute": MINUTE}
    config = {
        "source_pass": "minute",
        "group_by": ["InstrumentId", "TimeBucket"],
        "resample_rule": "15m",
        "aggregations": {"Volume": "sum", "Close": "last"},
        "talib_indicators": [{"name": "SMA", "input_col": "Close", "timeperiod": 2}],
    }
    expected_columns = ["Volume", "Close", "Sma2"]
