"""The l2tw analytic against hand-computed values, a brute-force integration over random
books, invariants, and the real LOBSTER order book."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import itertools
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from basalt.analytics.l2tw import (
    BUCKET,
    SECONDS_PER_YEAR,
    STAMP,
    WEIGHT,
    BucketEdges,
    L2TimeWeightedAnalytic,
    L2TimeWeightedConfig,
    snapshot_timeline,
    time_pieces,
)
from basalt.config.loading import Pipeline, validate_config
from basalt.importers.lobster import import_lobster
from basalt.runner import run_pipeline
from basalt.testing import AnalyticContract, l2_frame, run_analytic
from basalt.timebuckets import BucketSpec

T = dt.datetime(2024, 3, 4, 10, 0)
CONTINUOUS, AUCTION = "CONTINUOUS_TRADING", "CLOSING_AUCTION"
MINUTE = BucketSpec()
Level = tuple[float | None, int, int]  # price (None: an empty level), quantity, orders
EMPTY: Level = (None, 0, 0)  # an empty level as LOBSTER files and some venues write it
Row = dict[str, object]


def snap(
    seconds: float,
    bids: Sequence[Level] = (),
    asks: Sequence[Level] = (),
    *,
    listing: int = 7,
    state: str = CONTINUOUS,
) -> Row:
    row: Row = {
        "ListingId": listing,
        "EventTimestamp": T + dt.timedelta(seconds=seconds),
        "MarketState": state,
    }
    for side, levels in (("Bid", bids), ("Ask", asks)):
        for n, (price, quantity, orders) in enumerate(levels, 1):
            row[f"{side}Price{n}"] = price
            row[f"{side}Quantity{n}"] = quantity
            row[f"{side}NumOrders{n}"] = orders
    return row


def quote(
    seconds: float, bid: float, ask: float, *, listing: int = 7, state: str = CONTINUOUS
) -> Row:
    """A book with one level a side, 100 shares each."""
    return snap(seconds, [(bid, 100, 1)], [(ask, 100, 1)], listing=listing, state=state)


def compute(
    config: Mapping[str, object], rows: Sequence[Row], bucket: BucketSpec = MINUTE
) -> pl.DataFrame:
    frame = l2_frame(rows, bucket)
    return run_analytic(L2TimeWeightedAnalytic, {"l2": frame}, config, bucket=bucket)


def column(frame: pl.DataFrame, name: str, listing: int = 7) -> dict[int, object]:
    """``name`` by bucket label, in minutes after 10:00."""
    rows = frame.filter(pl.col("ListingId") == listing).select("TimeBucket", name).rows()
    return {(label - T) // dt.timedelta(minutes=1): value for label, value in rows}


def approx(expected: Mapping[int, float | None]) -> object:
    return {k: None if v is None else pytest.approx(v) for k, v in expected.items()}


SPREAD = {"spreads": [{"variant": "Abs"}]}


def test_the_book_is_carried_across_empty_buckets() -> None:
    rows = [quote(75, 10.0, 10.4), quote(30, 10.0, 10.2), quote(260, 10.0, 10.1)]
    frame = compute({**SPREAD, "volatility": [{"source": "Ask"}]}, rows)
    # 10:01 counts from the first snapshot on; 10:02 opens with 0.2 until 10:01:15; 10:03
    # and 10:04 hold no snapshot but the carried 0.4 all through; 10:05 opens with 0.4, and
    # the last snapshot holds until the end of its bucket.
    assert column(frame, "SpreadAbsTWA") == approx(
        {1: 0.2, 2: (15 * 0.2 + 45 * 0.4) / 60, 3: 0.4, 4: 0.4, 5: (20 * 0.4 + 40 * 0.1) / 60}
    )
    # Between snapshots, a quiet bucket has no return, hence no volatility.
    assert column(frame, "L2VolatilityAskStd") == {m: None for m in range(1, 6)}


EDGE_ROWS = [
    quote(30, 10.0, 10.2),
    quote(120, 10.0, 10.4),  # exactly on an edge: 10:02:00
    quote(150, 10.0, 10.3),
    quote(180, 10.0, 10.1),  # the last snapshot, on an edge
]


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        # (10:01, 10:02] holds the 10:02:00 snapshot, for no time: 0.2 all through.
        (BucketSpec(60, "end", "right"), {1: 0.2, 2: 0.2, 3: 0.35}),
        (BucketSpec(60, "start", "right"), {0: 0.2, 1: 0.2, 2: 0.35}),
        # [10:02, 10:03) starts with it; [10:01, 10:02) holds no snapshot, only 0.2 carried
        # in; the last one holds through [10:03, 10:04).
        (BucketSpec(60, "end", "left"), {1: 0.2, 2: 0.2, 3: 0.35, 4: 0.1}),
        (BucketSpec(60, "start", "left"), {0: 0.2, 1: 0.2, 2: 0.35, 3: 0.1}),
    ],
)
def test_snapshots_on_bucket_edges(bucket: BucketSpec, expected: dict[int, float]) -> None:
    frame = compute(SPREAD, EDGE_ROWS, bucket)
    assert column(frame, "SpreadAbsTWA") == approx(expected)


def test_market_states_count_only_the_time_in_them() -> None:
    rows = [
        quote(10, 10.0, 10.2),
        quote(40, 10.0, 10.6, state=AUCTION),
        quote(50, 10.0, 10.4),
        quote(70, 10.0, 10.8, state=AUCTION),
        quote(200, 10.0, 10.1, state=AUCTION),
        quote(250, 10.0, 10.3),
    ]
    everything = compute(SPREAD, rows)
    assert column(everything, "SpreadAbsTWA") == approx(
        {
            1: (30 * 0.2 + 10 * 0.6 + 10 * 0.4) / 50,
            2: (10 * 0.4 + 50 * 0.8) / 60,
            3: 0.8,  # no snapshot, the auction book carried through
            4: (20 * 0.8 + 40 * 0.1) / 60,
            5: (10 * 0.1 + 50 * 0.3) / 60,
        }
    )
    continuous = compute({**SPREAD, "market_states": CONTINUOUS}, rows)
    # 10:02 holds only an auction snapshot, but 10 continuous seconds carried in; 10:03
    # (quiet) and 10:04 are all auction: no row.
    assert column(continuous, "SpreadAbsTWA") == approx(
        {1: (30 * 0.2 + 10 * 0.4) / 40, 2: 0.4, 5: 0.3}
    )


def test_depth_imbalance_and_prices_over_the_time_they_are_defined() -> None:
    rows = [
        snap(15, [(10.0, 100, 2), (9.9, 50, 1)], [(10.2, 300, 4)]),
        snap(45, [(10.1, 200, 1)], [(10.3, 100, 1), (10.4, 100, 2)]),
        snap(90, asks=[(10.3, 100, 1)]),  # the bid side is empty
    ]
    config = {
        "liquidity": [
            {"sides": "Bid", "levels": [1, 2], "measures": ["Quantity", "Price", "CumQuantity"]},
            {"sides": "Ask", "levels": 2, "measures": ["Price", "CumNotional"]},
        ],
        "spreads": [{"variant": ["Abs", "BPS"]}],
        "imbalances": [{"levels": 1, "measure": ["CumQuantity", "Orders"]}],
        "prices": [{"source": ["Mid", "WeightedMid"]}],
    }
    frame = compute(config, rows)
    # 10:01: the first book for 30 s, the second for 15 s; 10:02: the second for 30 s, then
    # the third (without bids) for 30 s.
    assert column(frame, "BidQuantity1TWA") == approx({1: (30 * 100 + 15 * 200) / 45, 2: 200})
    assert column(frame, "BidPrice2TWA") == approx({1: 9.9, 2: None})  # one book has it
    assert column(frame, "AskPrice2TWA") == approx({1: 10.4, 2: 10.4})
    assert column(frame, "BidCumQuantity2TWA") == approx({1: (30 * 150 + 15 * 200) / 45, 2: 200})
    notional = (10.3 * 100 + 10.4 * 100, 10.3 * 100)
    assert column(frame, "AskCumNotional2TWA") == approx(
        {1: (30 * 10.2 * 300 + 15 * notional[0]) / 45, 2: (notional[0] + notional[1]) / 2}
    )
    assert column(frame, "SpreadAbsTWA") == approx({1: (30 * 0.2 + 15 * 0.2) / 45, 2: 0.2})
    assert column(frame, "SpreadBpsTWA") == approx(
        {1: (30 * 4000 / 20.2 + 15 * 4000 / 20.4) / 45, 2: 4000 / 20.4}
    )
    assert column(frame, "ImbalanceCumQuantity1TWA") == approx(
        {1: (30 * -0.5 + 15 / 3) / 45, 2: 1 / 3}
    )
    assert column(frame, "ImbalanceOrders1TWA") == approx({1: (30 * -2 / 6) / 45, 2: 0.0})
    assert column(frame, "MidTWA") == approx({1: (30 * 10.1 + 15 * 10.2) / 45, 2: 10.2})
    weighted = ((10.0 * 300 + 10.2 * 100) / 400, (10.1 * 100 + 10.3 * 200) / 300)
    assert column(frame, "WeightedMidTWA") == approx(
        {1: (30 * weighted[0] + 15 * weighted[1]) / 45, 2: weighted[1]}
    )


def test_an_empty_level_counts_only_while_it_exists() -> None:
    rows = [
        snap(15, [(10.0, 100, 2)], [(10.2, 300, 3), (10.3, 200, 1)]),
        snap(45, [(10.0, 100, 2)], [EMPTY, EMPTY]),  # the ask side empties
        snap(90, [(10.0, 100, 2)], [(10.4, 100, 1), EMPTY]),  # and comes back, one level deep
    ]
    config = {
        "liquidity": [
            {"levels": [1, 2], "measures": ["Quantity", "NumOrders", "CumQuantity", "CumNotional"]}
        ],
        "spreads": [{"variant": ["Abs", "BPS"]}],
        "imbalances": [{"levels": [1, 2], "measure": ["Quantity", "CumQuantity", "Orders"]}],
        "prices": [{"source": ["Mid", "WeightedMid", "Ask"]}],
    }
    frame = compute(config, rows)
    # 10:01: the full book for 30 s, the empty ask side for 15 s. 10:02: the empty ask side
    # for 30 s, then one ask level for 30 s. Ask averages count only the time a level exists.
    assert column(frame, "AskQuantity1TWA") == approx({1: 300, 2: 100})
    assert column(frame, "AskNumOrders1TWA") == approx({1: 3, 2: 1})
    assert column(frame, "AskQuantity2TWA") == approx({1: 200, 2: None})
    assert column(frame, "AskNumOrders2TWA") == approx({1: 1, 2: None})
    assert column(frame, "AskCumQuantity2TWA") == approx({1: 500, 2: 100})
    assert column(frame, "AskCumNotional2TWA") == approx({1: 3060 + 2060, 2: 1040})
    assert column(frame, "BidQuantity1TWA") == approx({1: 100, 2: 100})
    assert column(frame, "BidCumQuantity2TWA") == approx({1: 100, 2: 100})
    assert column(frame, "ImbalanceQuantity1TWA") == approx({1: -0.5, 2: 0.0})
    assert column(frame, "ImbalanceQuantity2TWA") == approx({1: None, 2: None})
    assert column(frame, "ImbalanceCumQuantity2TWA") == approx({1: -400 / 600, 2: 0.0})
    assert column(frame, "ImbalanceOrders2TWA") == approx({1: (2 - 4) / 6, 2: (2 - 1) / 3})
    assert column(frame, "SpreadAbsTWA") == approx({1: 0.2, 2: 0.4})
    assert column(frame, "SpreadBpsTWA") == approx({1: 4000 / 20.2, 2: 8000 / 20.4})
    assert column(frame, "MidTWA") == approx({1: 10.1, 2: 10.2})
    assert column(frame, "WeightedMidTWA") == approx({1: 4020 / 400, 2: 10.2})
    assert column(frame, "AskTWA") == approx({1: 10.2, 2: 10.4})


def test_listings_and_days_do_not_carry_into_each_other() -> None:
    next_day = 86_400
    rows = [
        quote(10, 10.0, 10.2),
        quote(20, 20.0, 20.5, listing=8),
        quote(next_day + 40, 10.0, 10.1),
        quote(70, 10.0, 10.4),
    ]
    frame = compute(SPREAD, rows)
    assert column(frame, "SpreadAbsTWA", listing=8) == approx({1: 0.5})
    day_two = 24 * 60
    assert column(frame, "SpreadAbsTWA") == approx(
        {1: 0.2, 2: (10 * 0.2 + 50 * 0.4) / 60, day_two + 1: 0.1}
    )


def test_one_row_per_listing_and_bucket_of_its_timeline_in_order() -> None:
    rows = [quote(s, 10.0, 10.2, listing=listing) for s in (130, 10, 50) for listing in (8, 7)]
    frame = compute({}, rows)
    minutes = [T + dt.timedelta(minutes=m) for m in (1, 2, 3)]  # 10:02 without a snapshot
    assert frame.select("ListingId", "TimeBucket").rows() == [
        (listing, m) for listing in (7, 8) for m in minutes
    ]


def test_volatility_of_every_snapshot() -> None:
    rows = [
        quote(20, 10.0, 10.2),  # mids 10.1, 10.2, 10.2, 10.3, 10.1
        quote(50, 10.0, 10.4),
        quote(80, 10.1, 10.3),
        quote(100, 10.2, 10.4),
        quote(110, 10.0, 10.2, state=AUCTION),
    ]
    config = {"volatility": [{"source": ["Mid", "Bid"]}]}
    frame = compute(config, rows)
    # 10:01 has one return; 10:02's first return starts from the book carried in.
    returns = [0.0, math.log(10.3 / 10.2), math.log(10.1 / 10.3)]
    expected = statistics.stdev(returns) * math.sqrt(SECONDS_PER_YEAR * 3 / 60)
    assert column(frame, "L2VolatilityMidStd") == approx({1: None, 2: expected})
    bid_returns = [math.log(10.1 / 10.0), math.log(10.2 / 10.1), math.log(10.0 / 10.2)]
    expected = statistics.stdev(bid_returns) * math.sqrt(SECONDS_PER_YEAR * 3 / 60)
    assert column(frame, "L2VolatilityBidStd") == approx({1: None, 2: expected})
    # Without the auction: its return is dropped, and T covers the 50 continuous seconds.
    frame = compute({**config, "market_states": CONTINUOUS}, rows)
    expected = statistics.stdev(returns[:2]) * math.sqrt(SECONDS_PER_YEAR * 2 / 50)
    assert column(frame, "L2VolatilityMidStd") == approx({1: None, 2: expected})


def test_volatility_on_a_grid() -> None:
    rows = [
        quote(10, 9.9, 10.1),  # mid 10.0
        quote(25, 10.1, 10.3),  # superseded at the 10:00:40 grid point
        quote(30, 10.0, 10.2),  # mid 10.1
        quote(170, 10.3, 10.5),  # mid 10.4, the last: holds until 10:03:00
    ]
    config = {"volatility": [{"subsample_seconds": 20, "output_name_pattern": "Vol{source}"}]}
    frame = compute(config, rows)
    # Grid points 10:00:20 (first known price), :40, 10:01:00 | 10:01:20, :40, 10:02:00 |
    # 10:02:20, :40, 10:03:00. The quiet 10:02 has three zero returns: a volatility of 0.
    scale = math.sqrt(SECONDS_PER_YEAR / 20)
    assert column(frame, "VolMid") == approx(
        {
            1: statistics.stdev([math.log(10.1 / 10.0), 0.0]) * scale,
            2: 0.0,
            3: statistics.stdev([0.0, 0.0, math.log(10.4 / 10.1)]) * scale,
        }
    )


def test_volatility_in_windows_of_every_snapshot() -> None:
    mids = [(50, 10.0), (65, 10.1), (70, 10.0), (75, 10.2), (90, 10.1), (95, 10.0), (110, 10.3)]
    rows = [quote(seconds, mid - 0.1, mid + 0.1) for seconds, mid in mids]
    aggregations = ["Min", "Max", "Mean", "Median", "Std", "Last", "TWMean", "TWStd"]
    config = {
        "volatility": [
            {"second_level_window_seconds": 20, "second_level_aggregations": aggregations}
        ]
    }
    frame = compute(config, rows)
    returns = [math.log(b / a) for (_, a), (_, b) in itertools.pairwise(mids)]
    # 10:02's windows (10:01:00, :20], (:20, :40], (:40, 10:02:00] hold 3, 2 and 1 returns
    # and 20 counted seconds each; the last has no volatility.
    first = statistics.stdev(returns[:3]) * math.sqrt(SECONDS_PER_YEAR * 3 / 20)
    second = statistics.stdev(returns[3:5]) * math.sqrt(SECONDS_PER_YEAR * 2 / 20)
    mean = (3 * first + 2 * second) / 5
    expected = {
        "Min": second,
        "Max": first,
        "Mean": (first + second) / 2,
        "Median": (first + second) / 2,
        "Std": statistics.stdev([first, second]),
        "Last": second,
        "TWMean": mean,
        "TWStd": math.sqrt((3 * (first - mean) ** 2 + 2 * (second - mean) ** 2) / 5),
    }
    for aggregation, value in expected.items():
        assert column(frame, f"L2VolatilityMidWin20s{aggregation}") == approx(
            {1: None, 2: value}
        ), aggregation
    whole = statistics.stdev(returns) * math.sqrt(SECONDS_PER_YEAR * 6 / 60)
    assert column(frame, "L2VolatilityMidStd") == approx({1: None, 2: whole})


def test_volatility_in_windows_of_a_grid_across_a_quiet_bucket() -> None:
    rows = [
        quote(10, 9.9, 10.1),  # mid 10.0
        quote(25, 10.1, 10.3),  # superseded at the 10:00:30 grid point
        quote(30, 10.0, 10.2),  # mid 10.1
        quote(170, 10.3, 10.5),  # mid 10.4, the last: holds until 10:03:00
    ]
    family = {
        "subsample_seconds": 10,
        "second_level_window_seconds": 30,
        "second_level_aggregations": ["Min", "Max", "TWMean"],
        "window_output_name_pattern": "{source}{window}{aggregation}",
    }
    frame = compute({"volatility": [family]}, rows)
    # Grid points from 10:00:10; windows of 30 s. 10:01: (10:00:00, :30] holds the returns
    # at :20 (0) and :30 (10.0 → 10.1), (:30, 10:01:00] three zeros. 10:02 (quiet): three
    # zeros in each window. 10:03: zeros at 10:02:10, :20, :30; at :40, 0, at :50, 10.1 →
    # 10.4, at 10:03:00, 0.
    scale = math.sqrt(SECONDS_PER_YEAR / 10)
    opening = statistics.stdev([0.0, math.log(10.1 / 10.0)]) * scale
    closing = statistics.stdev([0.0, math.log(10.4 / 10.1), 0.0]) * scale
    assert column(frame, "Mid30Min") == approx({1: 0.0, 2: 0.0, 3: 0.0})
    assert column(frame, "Mid30Max") == approx({1: opening, 2: 0.0, 3: closing})
    assert column(frame, "Mid30TWMean") == approx({1: 2 * opening / 5, 2: 0.0, 3: closing / 2})


def test_window_statistics_columns() -> None:
    family = {
        "source": ["Mid", "Ask"],
        "second_level_window_seconds": 0.5,
        "second_level_aggregations": ["TWStd", "Last"],
    }
    columns = L2TimeWeightedConfig.model_validate({"volatility": [family]}).columns()
    assert [(c.name, c.definition.split(" ")[0]) for c in columns] == [
        ("L2VolatilityMidStd", "σ"),
        ("L2VolatilityAskStd", "σ"),
        ("L2VolatilityMidWin0.5sTWStd", "√(Σ"),
        ("L2VolatilityMidWin0.5sLast", "volatility"),
        ("L2VolatilityAskWin0.5sTWStd", "√(Σ"),
        ("L2VolatilityAskWin0.5sLast", "volatility"),
    ]
    assert compute({"volatility": [family]}, EDGE_ROWS).columns[2:] == [c.name for c in columns]


def test_defaults() -> None:
    depth = [
        f"{side}{measure}{level}TWA"
        for side in ("Bid", "Ask")
        for measure in ("Price", "Quantity")
        for level in range(1, 11)
    ]
    columns = L2TimeWeightedConfig().output_columns()
    assert columns == [*depth, "SpreadAbsTWA", "SpreadBpsTWA", "MidTWA"]
    assert len(columns) == 2 * 10 * 2 + 2 + 1 == 43
    assert compute({}, EDGE_ROWS).columns == ["ListingId", "TimeBucket", *columns]
    shallow = L2TimeWeightedConfig(levels=2, metric_prefix="TW_").output_columns()
    assert len(shallow) == 2 * 2 * 2 + 3 and "TW_AskQuantity2TWA" in shallow
    only_volatility = L2TimeWeightedConfig.model_validate({"volatility": [{}]})
    assert only_volatility.output_columns() == ["L2VolatilityMidStd"]  # no defaults then


def test_metric_prefix_and_patterns() -> None:
    config = {
        "metric_prefix": "P_",
        "liquidity": [{"levels": 1, "measures": "Price", "output_name_pattern": "{side}Best"}],
        "imbalances": [{"levels": 1, "output_name_pattern": "Imb{level}"}],
        "prices": [{"output_name_pattern": "Avg{source}"}],
        "volatility": [{"output_name_pattern": "Vol{source}"}],
    }
    frame = compute(config, EDGE_ROWS)
    assert frame.columns[2:] == ["P_BidBest", "P_AskBest", "P_Imb1", "P_AvgMid", "P_VolMid"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"spreads": [{}, {"variant": "BPS"}]}, "'SpreadBpsTWA' would be produced twice"),
        ({"prices": [{}, {"source": "Mid"}]}, "'MidTWA' would be produced twice"),
        ({"volatility": [{}, {"subsample_seconds": 1}]}, "'L2VolatilityMidStd' would be produced"),
        ({"volatility": [{"subsample_seconds": 0}]}, "greater than or equal to 0.000001"),
        ({"volatility": [{"source": "Last"}]}, "'WeightedMid'"),
        ({"volatility": [{"aggregations": ["Std"]}]}, "Extra inputs are not permitted"),
        ({"volatility": [{"second_level_window_seconds": 60}]}, "go together"),
        ({"volatility": [{"second_level_aggregations": "Max"}]}, "go together"),
        (
            {
                "volatility": [
                    {"second_level_window_seconds": 1, "second_level_aggregations": "Sum"}
                ]
            },
            "'TWStd'",
        ),
        ({"prices": [{"output_name_pattern": "{side}"}]}, "may only use {source}"),
        ({"ohlc": [{}]}, "Extra inputs are not permitted"),
        ({"levels": 11}, "less than or equal to 10"),
    ],
)
def test_invalid_options(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        L2TimeWeightedConfig.model_validate(config)


# Random books: the oracle integrates the book's life piece by piece, bucket by bucket.

Side = tuple[int, int] | None  # price in cents and quantity, or an empty side
SOURCES = ("Mid", "Ask")
GRID_SECONDS = 7  # divides none of the bucket widths below


@dataclass(frozen=True)
class Quote:
    """A random snapshot of the best levels."""

    seconds: int
    listing: int
    state: str
    bid: Side
    ask: Side

    @property
    def stamp(self) -> int:
        return _ns(T) + self.seconds * 10**9

    def row(self) -> Row:
        row: Row = {
            "ListingId": self.listing,
            "EventTimestamp": T + dt.timedelta(seconds=self.seconds),
            "MarketState": self.state,
        }
        for side, level in (("Bid", self.bid), ("Ask", self.ask)):
            # An empty side as LOBSTER writes it: no price, quantity 0.
            price, quantity = (None, 0) if level is None else (level[0] / 100, level[1])
            row[f"{side}Price1"], row[f"{side}Quantity1"] = price, quantity
        return row

    def values(self) -> dict[str, float | None]:
        """The metrics of ``ORACLE`` (TWA names) and the volatility sources."""
        bid, bid_qty = (None, None) if self.bid is None else (self.bid[0] / 100, self.bid[1])
        ask, ask_qty = (None, None) if self.ask is None else (self.ask[0] / 100, self.ask[1])
        mid = spread = bps = imbalance = None
        if bid is not None and ask is not None:
            mid, spread, bps = (bid + ask) / 2, ask - bid, 20_000 * (ask - bid) / (ask + bid)
        if bid_qty is not None and ask_qty is not None and bid_qty + ask_qty > 0:
            imbalance = (bid_qty - ask_qty) / (bid_qty + ask_qty)
        return {
            "BidQuantity1TWA": bid_qty,
            "BidPrice1TWA": bid,
            "AskQuantity1TWA": ask_qty,
            "AskPrice1TWA": ask,
            "SpreadAbsTWA": spread,
            "SpreadBpsTWA": bps,
            "ImbalanceQuantity1TWA": imbalance,
            "MidTWA": mid,
            "Mid": mid,
            "Ask": ask,
        }


quote_strategy = st.builds(
    Quote,
    st.integers(0, 300),  # seconds after 10:00: many snapshots fall on bucket edges
    st.sampled_from([7, 8]),
    st.sampled_from([CONTINUOUS, AUCTION]),
    st.one_of(st.none(), st.tuples(st.integers(900, 1000), st.integers(0, 500))),
    st.one_of(st.none(), st.tuples(st.integers(1001, 1100), st.integers(0, 500))),
)
books_strategy = st.lists(quote_strategy, min_size=1, max_size=30)
bucket_strategy = st.sampled_from(
    [
        BucketSpec(60),
        BucketSpec(60, "start", "left"),
        BucketSpec(30, "end", "left"),
        BucketSpec(45, "start", "right"),
    ]
)
states_strategy = st.sampled_from([None, [CONTINUOUS]])
WINDOW_SECONDS = 20  # the 45 s buckets end with a shorter window
WINDOW_STATISTICS = ["Min", "Max", "Mean", "Median", "Std", "Last", "TWMean", "TWStd"]
WINDOWS = {
    "second_level_window_seconds": WINDOW_SECONDS,
    "second_level_aggregations": WINDOW_STATISTICS,
}
ORACLE = {
    "liquidity": [{"levels": 1, "measures": ["Quantity", "Price"]}],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [{"levels": 1, "measure": "Quantity"}],
    "prices": [{}],
    "volatility": [
        {"source": list(SOURCES), **WINDOWS},
        {
            "source": list(SOURCES),
            "subsample_seconds": GRID_SECONDS,
            "output_name_pattern": "Grid{source}",
            "window_output_name_pattern": "Grid{source}Win{aggregation}",
            **WINDOWS,
        },
    ],
}
Returns = dict[str, dict[tuple[int, int], list[float]]]
"""Log returns by source, and by bucket label and window."""


class Oracle:
    """The ``ORACLE`` metrics of ``quotes`` computed the plain way: each snapshot's time cut
    bucket by bucket and window by window, returns taken snapshot by snapshot and grid point
    by grid point."""

    def __init__(self, quotes: Sequence[Quote], bucket: BucketSpec, states: list[str] | None):
        self.bucket, self.width, self.states = bucket, bucket.width_ns, states
        self.window = WINDOW_SECONDS * 10**9
        self.series: dict[int, list[Quote]] = defaultdict(list)
        for quote in sorted(quotes, key=lambda q: q.stamp):  # stable: ties keep row order
            self.series[quote.listing].append(quote)

    def label(self, start: int) -> int:
        return start + self.width if self.bucket.anchor == "end" else start

    def row_start(self, stamp: int) -> int:
        """The start of the bucket the snapshot at ``stamp`` belongs to."""
        if self.bucket.closed == "right":
            return (stamp - 1) // self.width * self.width
        return stamp // self.width * self.width

    def cell(self, start: int, moment: int) -> tuple[int, int]:
        """(label, window) of the ``moment`` in the bucket starting at ``start``."""
        return self.label(start), (moment - start) // self.window

    def usable(self, quote: Quote, source: str) -> bool:
        price = quote.values()[source]
        selected = self.states is None or quote.state in self.states
        return selected and price is not None and price > 0

    def pieces(self, series: list[Quote]) -> Iterator[tuple[tuple[int, int], int, Quote]]:
        """((bucket label, window), ns, snapshot) for every stretch of time a snapshot is in
        force, cut at bucket and window edges."""
        for i, quote in enumerate(series):
            last = i + 1 == len(series)
            until = self.row_start(quote.stamp) + self.width if last else series[i + 1].stamp
            start = quote.stamp // self.width * self.width
            while start < until:
                edge = start
                while edge < start + self.width:
                    end = min(start + self.width, edge + self.window)
                    piece = min(until, end) - max(quote.stamp, edge)
                    if piece > 0:
                        yield self.cell(start, edge), piece, quote
                    edge = end
                start += self.width

    def returns(self, pairs: Iterator[tuple[tuple[int, int], Quote, Quote]]) -> Returns:
        """Log returns by source and cell, of (cell, from, to) pairs."""
        found: Returns = {s: defaultdict(list) for s in SOURCES}
        for cell, before, after in pairs:
            for source in SOURCES:
                if self.usable(before, source) and self.usable(after, source):
                    ratio = after.values()[source] / before.values()[source]  # type: ignore[operator]
                    found[source][cell].append(math.log(ratio))
        return found

    def event_pairs(self, series: list[Quote]) -> Iterator[tuple[tuple[int, int], Quote, Quote]]:
        for before, after in itertools.pairwise(series):
            moment = after.stamp - 1 if self.bucket.closed == "right" else after.stamp
            yield self.cell(self.row_start(after.stamp), moment), before, after

    def grid_pairs(self, series: list[Quote]) -> Iterator[tuple[tuple[int, int], Quote, Quote]]:
        step = GRID_SECONDS * 10**9
        stamps = [quote.stamp for quote in series]
        end = self.row_start(stamps[-1]) + self.width
        point = -(-stamps[0] // step) * step
        before = series[bisect.bisect_right(stamps, point) - 1]
        while point + step <= end:
            point += step
            after = series[bisect.bisect_right(stamps, point) - 1]
            yield self.cell((point - 1) // self.width * self.width, point - 1), before, after
            before = after

    def frame(self) -> pl.DataFrame:
        records = []
        for listing, series in self.series.items():
            held: dict[int, list[tuple[int, Quote]]] = defaultdict(list)
            covered: dict[tuple[int, int], int] = defaultdict(int)
            for (label, window), piece, quote in self.pieces(series):
                if self.states is None or quote.state in self.states:
                    held[label].append((piece, quote))
                    covered[label, window] += piece
            events = self.returns(self.event_pairs(series))
            grid = self.returns(self.grid_pairs(series))
            for label, pieces in held.items():
                record: dict[str, object] = {"ListingId": listing, "TimeBucket": label}
                for name in ORACLE_TWA:
                    known = [(w, v) for w, q in pieces if (v := q.values()[name]) is not None]
                    total = sum(w for w, _ in known)
                    record[name] = sum(w * v for w, v in known) / total if total else None
                seconds = sum(w for w, _ in pieces) / 1e9
                for source in SOURCES:
                    by_window = {w: r for (b, w), r in sorted(events[source].items()) if b == label}
                    returns = [r for rs in by_window.values() for r in rs]
                    record[f"L2Volatility{source}Std"] = _std(
                        returns, SECONDS_PER_YEAR * len(returns) / seconds
                    )
                    windows = [  # a window may hold returns of one instant and no time
                        (
                            len(rs),
                            _std(rs, SECONDS_PER_YEAR * len(rs) / time * 1e9) if time else None,
                        )
                        for w, rs in by_window.items()
                        for time in [covered[label, w]]
                    ]
                    record |= _window_statistics(f"L2Volatility{source}Win20s", windows)
                    by_point = {w: r for (b, w), r in sorted(grid[source].items()) if b == label}
                    record[f"Grid{source}"] = _std(
                        [r for rs in by_point.values() for r in rs], SECONDS_PER_YEAR / GRID_SECONDS
                    )
                    windows = [
                        (len(rs), _std(rs, SECONDS_PER_YEAR / GRID_SECONDS))
                        for rs in by_point.values()
                    ]
                    record |= _window_statistics(f"Grid{source}Win", windows)
                records.append(record)
        if not records:
            return pl.DataFrame()
        frame = pl.DataFrame(records, infer_schema_length=None)
        return frame.with_columns(pl.from_epoch("TimeBucket", time_unit="ns")).sort(
            "ListingId", "TimeBucket"
        )


def _window_statistics(
    prefix: str, windows: list[tuple[int, float | None]]
) -> dict[str, float | None]:
    """The ``WINDOW_STATISTICS`` of a bucket's windows in order, as (returns, volatility)."""
    found = [(n, v) for n, v in windows if v is not None]
    values = [v for _, v in found]
    if not values:
        return {prefix + name: None for name in WINDOW_STATISTICS}
    weights = sum(n for n, _ in found)
    mean = sum(n * v for n, v in found) / weights
    return {
        prefix + "Min": min(values),
        prefix + "Max": max(values),
        prefix + "Mean": statistics.mean(values),
        prefix + "Median": statistics.median(values),
        prefix + "Std": statistics.stdev(values) if len(values) > 1 else None,
        prefix + "Last": values[-1],
        prefix + "TWMean": mean,
        prefix + "TWStd": math.sqrt(sum(n * (v - mean) ** 2 for n, v in found) / weights),
    }


ORACLE_TWA = [name for name in Quote(0, 7, CONTINUOUS, None, None).values() if "TWA" in name]


def _ns(stamp: dt.datetime) -> int:
    return (stamp - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1) * 1000


def _std(returns: list[float], per_year: float) -> float | None:
    """The sample standard deviation of ``returns`` annualised by √``per_year``."""
    return statistics.stdev(returns) * math.sqrt(per_year) if len(returns) > 1 else None


@settings(max_examples=80, deadline=None)
@given(books_strategy, bucket_strategy, states_strategy)
@example(  # three snapshots of one instant: a window with returns and no counted time
    [Quote(100, 8, CONTINUOUS, None, (1001, 0)) for _ in range(3)], BucketSpec(60), None
)
def test_against_a_brute_force_integration(
    quotes: list[Quote], bucket: BucketSpec, states: list[str] | None
) -> None:
    config = {**ORACLE, "market_states": states}
    result = compute(config, [quote.row() for quote in quotes], bucket)
    expected = Oracle(quotes, bucket, states).frame()
    if expected.is_empty():
        assert result.is_empty()
        return
    assert_frame_equal(result.select(expected.columns), expected, check_dtypes=False, rel_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(books_strategy, bucket_strategy, states_strategy)
def test_invariants(quotes: list[Quote], bucket: BucketSpec, states: list[str] | None) -> None:
    rows = [quote.row() for quote in quotes]
    frame = l2_frame(rows, bucket)
    edges = BucketEdges(bucket)
    price = pl.col("AskPrice1").alias("Price")
    timeline = snapshot_timeline(frame, states)
    pieces = time_pieces(timeline, edges, [price])
    weights = pieces.group_by("ListingId", BUCKET).agg(
        pl.col(WEIGHT).sum(), pl.col("Price").min().alias("Low"), pl.col("Price").max()
    )
    firsts = timeline.group_by("ListingId").agg(pl.col(STAMP).min().alias("First"))
    checked = weights.join(firsts, on="ListingId").collect()
    # Once the book is known at a bucket's start, its pieces fill the bucket, with all
    # states selected; never more than the bucket in any case.
    start = checked[BUCKET] - (bucket.width_ns if bucket.anchor == "end" else 0)
    assert (checked[WEIGHT] <= bucket.width_ns).all()
    if states is None:
        known = checked.filter(start >= checked["First"])
        assert (known[WEIGHT] == bucket.width_ns).all()

    result = compute(
        {
            "liquidity": [{"sides": "Ask", "levels": 1, "measures": "Price"}],
            "spreads": [{"variant": ["Abs", "BPS"]}],
            "imbalances": [{"levels": 1, "measure": ["Quantity", "CumNotional", "Orders"]}],
            "market_states": states,
        },
        rows,
        bucket,
    )
    in_force = checked.with_columns(
        pl.from_epoch(BUCKET, time_unit="ns").alias("TimeBucket")
    ).select("ListingId", "TimeBucket", "Low", "Price")
    bounded = result.join(in_force, on=["ListingId", "TimeBucket"], how="left")
    average = bounded["AskPrice1TWA"]
    eps = 1e-9
    assert (
        ((bounded["Low"] - eps <= average) & (average <= bounded["Price"] + eps))
        .fill_null(average.is_null())
        .all()
    )
    for spread in ("SpreadAbsTWA", "SpreadBpsTWA"):
        assert (result[spread].drop_nulls() >= 0).all()  # books are never crossed here
    for name in ("ImbalanceQuantity1TWA", "ImbalanceCumNotional1TWA", "ImbalanceOrders1TWA"):
        assert result[name].drop_nulls().is_between(-1 - eps, 1 + eps).all()


SMALL = {
    "liquidity": [{"sides": "Ask", "levels": [1, 2], "measures": ["Quantity", "CumNotional"]}],
    "spreads": [{}],
    "imbalances": [{"levels": 1, "measure": ["CumQuantity", "Orders"]}],
    "prices": [{"source": ["WeightedMid", "Bid"]}],
    "volatility": [
        {
            "source": "Mid",
            "second_level_window_seconds": 30,
            "second_level_aggregations": ["Max", "TWMean"],
        },
        {"source": "Ask", "subsample_seconds": 1, "output_name_pattern": "GridVol{source}"},
    ],
}
SMALL_COLUMNS = [
    "AskQuantity1TWA",
    "AskQuantity2TWA",
    "AskCumNotional1TWA",
    "AskCumNotional2TWA",
    "SpreadBpsTWA",
    "ImbalanceCumQuantity1TWA",
    "ImbalanceOrders1TWA",
    "WeightedMidTWA",
    "BidTWA",
    "L2VolatilityMidStd",
    "L2VolatilityMidWin30sMax",
    "L2VolatilityMidWin30sTWMean",
    "GridVolAsk",
]
TWO_LEVEL_DEFAULTS = [
    "BidPrice1TWA",
    "BidPrice2TWA",
    "BidQuantity1TWA",
    "BidQuantity2TWA",
    "AskPrice1TWA",
    "AskPrice2TWA",
    "AskQuantity1TWA",
    "AskQuantity2TWA",
    "SpreadAbsTWA",
    "SpreadBpsTWA",
    "MidTWA",
]


@pytest.mark.parametrize(
    ("config", "columns"), [(SMALL, SMALL_COLUMNS), ({"levels": 2}, TWO_LEVEL_DEFAULTS)]
)
def test_columns_in_order(config: dict[str, object], columns: list[str]) -> None:
    assert L2TimeWeightedConfig.model_validate(config).output_columns() == columns
    assert compute(config, EDGE_ROWS).columns == ["ListingId", "TimeBucket", *columns]


class TestL2TimeWeightedContract(AnalyticContract):
    analytic = L2TimeWeightedAnalytic
    tables = {"l2": l2_frame(EDGE_ROWS)}
    config = SMALL
    expected_columns = SMALL_COLUMNS


class TestL2TimeWeightedDefaultsContract(AnalyticContract):
    analytic = L2TimeWeightedAnalytic
    tables = {"l2": l2_frame(EDGE_ROWS)}
    config = {"levels": 2}
    expected_columns = TWO_LEVEL_DEFAULTS


# Real data: the AMZN LOBSTER sample (one level, 2012-06-21, 57,514 messages).

LOBSTER = Path(__file__).resolve().parents[3] / "data" / "lobster"
AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
EDT = 4 * 3600 * 10**9  # New York was 4 hours behind UTC that day


def _seconds_ns(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 10**9 + int(fraction.ljust(9, "0"))


def test_a_real_order_book_in_a_pipeline_against_its_files(tmp_path: Path) -> None:
    message_file, book_file = (LOBSTER / AMZN.format(kind) for kind in ("message", "orderbook"))
    import_lobster([message_file, book_file], tmp_path / "lake")
    l2tw = {
        "spreads": [{"variant": "Abs"}],
        "volatility": [{"subsample_seconds": 1, "output_name_pattern": "Volatility"}],
    }
    config = validate_config(
        {
            "START_DATE": "2012-06-21",
            "DATA_ROOT": str(tmp_path / "lake"),
            "PASSES": [
                {
                    "name": "book",
                    "time_bucket_seconds": 300,
                    "modules": ["l2", "l2tw"],
                    "l2": {"spreads": [{"variant": "Abs"}]},
                    "l2tw_analytics": l2tw,
                }
            ],
            "OUTPUT_TARGET": {"path_template": f"{tmp_path}/book.parquet"},
        }
    )
    assert run_pipeline(Pipeline(config, "test")).ok
    result = pl.read_parquet(tmp_path / "book.parquet").sort("TimeBucket")
    assert {"SpreadAbs", "SpreadAbsTWA", "Volatility"} <= set(result.columns)  # l2 beside l2tw

    # Straight from the files: the book after each message holds until the next message,
    # the last one until the end of its bucket; a one-second grid samples the mid in force.
    midnight = _ns(dt.datetime(2012, 6, 21)) + EDT
    with message_file.open() as messages, book_file.open() as books:
        stamps = [midnight + _seconds_ns(line[0]) for line in csv.reader(messages)]
        quotes = [(int(line[2]) / 10_000, int(line[0]) / 10_000) for line in csv.reader(books)]
    width, second = 300 * 10**9, 10**9
    ends = [*stamps[1:], -(-stamps[-1] // width) * width]
    area: dict[int, float] = defaultdict(float)
    time: dict[int, int] = defaultdict(int)
    for start, end, (bid, ask) in zip(stamps, ends, quotes, strict=True):
        at = start
        while at < end:
            label = at // width * width + width
            piece = min(end, label) - at
            area[label] += piece * (ask - bid)
            time[label] += piece
            at += piece
    returns: dict[int, list[float]] = defaultdict(list)
    point = -(-stamps[0] // second) * second
    mid = sum(quotes[bisect.bisect_right(stamps, point) - 1]) / 2
    while point < ends[-1]:
        point += second
        before, mid = mid, sum(quotes[bisect.bisect_right(stamps, point) - 1]) / 2
        returns[(point - 1) // width * width + width].append(math.log(mid / before))
    expected = pl.DataFrame(
        {
            "TimeBucket": list(area),
            "SpreadAbsTWA": [area[label] / time[label] for label in area],
            "Volatility": [_std(returns[label], SECONDS_PER_YEAR) for label in area],
        }
    ).with_columns(pl.from_epoch("TimeBucket", time_unit="ns"))
    assert result.height == 78  # 09:30 to 16:00 in five-minute buckets
    assert_frame_equal(
        result.select(expected.columns),
        expected.sort("TimeBucket"),
        check_dtypes=False,
        rel_tol=1e-9,
    )

    # The whole day's time-weighted spread, without any bucket.
    lengths = [end - start for start, end in zip(stamps, ends, strict=True)]
    spreads = [ask - bid for bid, ask in quotes]
    day_spread = sum(n * s for n, s in zip(lengths, spreads, strict=True)) / sum(lengths)
    covered = pl.Series([time[label] for label in sorted(time)])
    weighted = result.select((pl.col("SpreadAbsTWA") * covered).sum() / covered.sum()).item()
    assert weighted == pytest.approx(day_spread, rel=1e-12)
    assert day_spread == pytest.approx(0.128485, abs=1e-6)  # about 5.8 bps of a $222 price
