"""The l2 analytic against hand-computed values, invariants on random books, and an
independent computation over a generated lake."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from basalt.analytics.l2 import L2Analytic, L2Config
from basalt.lake import Lake
from basalt.sampledata import generate_lake
from basalt.tables.bmll import L2Table
from basalt.testing import AnalyticContract, compute_analytic, l2_frame, run_analytic
from basalt.timebuckets import BucketSpec

T = dt.datetime(2024, 3, 4, 10, 0)
CONTINUOUS, AUCTION = "CONTINUOUS_TRADING", "CLOSING_AUCTION"
Level = tuple[float | None, int, int]  # price (None: an empty level), quantity, orders
EMPTY: Level = (None, 0, 0)  # an empty level as LOBSTER files and some venues write it


def snap(
    seconds: float,
    bids: Sequence[Level] = (),
    asks: Sequence[Level] = (),
    *,
    listing: int = 7,
    state: str = CONTINUOUS,
) -> dict[str, object]:
    row: dict[str, object] = {
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


# Rows deliberately out of time order: the last snapshot is the latest, not the last row.
ROWS = [
    # 10:01 bucket, (10:00, 10:01]: mids 10.2, 10.3, 10.1 in time order.
    snap(60, [(10.0, 100, 2), (9.9, 200, 3)], [(10.2, 300, 4), (10.3, 100, 1)], state=AUCTION),
    snap(20, [(9.8, 50, 1)], [(10.6, 50, 1)]),
    snap(40, [(10.1, 10, 1)], [(10.5, 30, 2)]),
    # 10:02: the ask side is empty first; last snapshot at 10:01:30.
    snap(90, [(10.1, 100, 1)], [(10.3, 100, 1)]),
    snap(60.5, [(10.0, 100, 1)]),
    # 10:03: no quantity on either side.
    snap(130, [(10.0, 0, 0)], [(10.2, 0, 0)]),
    # 10:04: the bid side is empty.
    snap(200, asks=[(10.3, 10, 1)], state=AUCTION),
]


def compute(config: Mapping[str, object], rows: list[dict[str, object]] = ROWS) -> pl.DataFrame:
    return run_analytic(L2Analytic, {"l2": l2_frame(rows)}, config)


def bucket(frame: pl.DataFrame, minute: int, listing: int = 7) -> dict[str, object]:
    at = T + dt.timedelta(minutes=minute)
    rows = frame.filter(pl.col("TimeBucket") == at, pl.col("ListingId") == listing).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_liquidity_at_the_last_snapshot() -> None:
    config = {
        "liquidity": [
            {
                "sides": "Bid",
                "levels": [1, 2, 3],
                "measures": ["Price", "Quantity", "NumOrders", "CumQuantity", "CumOrders"],
            },
            {"sides": ["Ask"], "levels": 2, "measures": ["CumNotional", "Quantity"]},
        ]
    }
    frame = compute(config)
    row = bucket(frame, 1)
    assert (row["BidPrice1"], row["BidQuantity1"], row["BidNumOrders1"]) == (10.0, 100, 2)
    assert (row["BidPrice2"], row["BidQuantity2"], row["BidNumOrders2"]) == (9.9, 200, 3)
    assert (row["BidCumQuantity1"], row["BidCumQuantity2"]) == (100, 300)
    assert (row["BidCumOrders1"], row["BidCumOrders2"]) == (2, 5)
    # Level 3 is empty: its own values are null, the cumulative ones sum the levels there are.
    assert (row["BidPrice3"], row["BidQuantity3"]) == (None, None)
    assert (row["BidCumQuantity3"], row["BidCumOrders3"]) == (300, 5)
    assert row["AskCumNotional2"] == pytest.approx(10.2 * 300 + 10.3 * 100)
    assert row["AskQuantity2"] == 100
    assert bucket(frame, 2)["BidPrice1"] == 10.1
    empty_bid = bucket(frame, 4)
    assert (empty_bid["BidPrice1"], empty_bid["BidCumQuantity3"], empty_bid["BidCumOrders1"]) == (
        None,
        None,
        None,
    )
    assert frame.columns[:3] == ["ListingId", "TimeBucket", "BidPrice1"]


def test_spreads() -> None:
    frame = compute({"spreads": [{"variant": ["Abs", "BPS"]}]})
    assert frame.columns == ["ListingId", "TimeBucket", "SpreadAbs", "SpreadBps"]
    first = bucket(frame, 1)
    assert first["SpreadAbs"] == pytest.approx(0.2)
    assert first["SpreadBps"] == pytest.approx(20_000 * 0.2 / 20.2)
    assert bucket(frame, 2)["SpreadBps"] == pytest.approx(20_000 * 0.2 / 20.4)
    assert bucket(frame, 4)["SpreadAbs"] is None and bucket(frame, 4)["SpreadBps"] is None


def test_imbalances() -> None:
    config = {
        "imbalances": [
            {"levels": [1, 2], "measure": ["Quantity", "CumQuantity", "CumNotional", "Orders"]},
            {"levels": 3},
        ]
    }
    frame = compute(config)
    row = bucket(frame, 1)
    assert row["ImbalanceQuantity1"] == pytest.approx((100 - 300) / 400)
    assert row["ImbalanceQuantity2"] == pytest.approx((200 - 100) / 300)
    assert row["ImbalanceCumQuantity2"] == pytest.approx((300 - 400) / 700)
    bid, ask = 10.0 * 100 + 9.9 * 200, 10.2 * 300 + 10.3 * 100
    assert row["ImbalanceCumNotional2"] == pytest.approx((bid - ask) / (bid + ask))
    assert row["ImbalanceOrders1"] == pytest.approx((2 - 4) / 6)
    assert row["ImbalanceOrders2"] == 0.0
    assert row["ImbalanceCumQuantity3"] == pytest.approx((300 - 400) / 700)
    # B + A = 0, or one side empty: null.
    assert bucket(frame, 3)["ImbalanceQuantity1"] is None
    assert bucket(frame, 3)["ImbalanceOrders2"] is None
    assert bucket(frame, 4)["ImbalanceCumQuantity1"] is None
    assert bucket(frame, 2)["ImbalanceQuantity2"] is None  # level 2 is empty


EVERY_FAMILY = {
    "liquidity": [
        {
            "levels": [1, 2, 3],
            "measures": [
                "Price",
                "Quantity",
                "NumOrders",
                "CumQuantity",
                "CumOrders",
                "CumNotional",
            ],
        }
    ],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [
        {"levels": [1, 2, 3], "measure": ["Quantity", "CumQuantity", "CumNotional", "Orders"]}
    ],
    "ohlc": [{"source": ["Mid", "WeightedMid", "Bid", "Ask"]}],
}


def test_an_empty_level_has_null_metrics_whatever_its_quantity() -> None:
    rows = [
        # 10:01: ask level 2 and bid level 3 are empty (price null, quantity and orders 0).
        snap(30, [(10.0, 100, 2), (9.9, 50, 1), EMPTY], [(10.2, 300, 3), EMPTY]),
        # 10:02: the ask side is empty; a bid level with a quantity but no price is empty too.
        snap(90, [(10.0, 100, 2), (None, 40, 1)], [EMPTY, EMPTY]),
    ]
    frame = compute(EVERY_FAMILY, rows)
    first = bucket(frame, 1)
    for field in ("Price", "Quantity", "NumOrders"):
        assert (first[f"Ask{field}2"], first[f"Bid{field}3"]) == (None, None)
    assert (first["AskCumQuantity2"], first["AskCumOrders2"]) == (300, 3)
    assert (first["BidCumQuantity3"], first["BidCumOrders3"]) == (150, 3)
    assert first["AskCumNotional3"] == pytest.approx(3060.0)
    assert first["BidCumNotional3"] == pytest.approx(1495.0)
    assert first["ImbalanceQuantity1"] == pytest.approx(-0.5)
    assert first["ImbalanceQuantity2"] is None  # bid 50 against an empty ask level
    assert first["ImbalanceQuantity3"] is None
    assert first["ImbalanceCumQuantity2"] == pytest.approx((150 - 300) / 450)
    assert first["ImbalanceCumQuantity3"] == pytest.approx((150 - 300) / 450)
    assert first["ImbalanceCumNotional3"] == pytest.approx((1495 - 3060) / 4555)
    assert first["ImbalanceOrders3"] == 0.0
    assert first["SpreadAbs"] == pytest.approx(0.2)
    assert bar(first, "WeightedMid") == pytest.approx((4020 / 400,) * 4)

    second = bucket(frame, 2)
    assert (second["BidQuantity2"], second["BidNumOrders2"], second["BidCumQuantity2"]) == (
        None,
        None,
        100,
    )
    assert second["BidCumOrders3"] == 2
    ask_side = [c for c in frame.columns if c.startswith("Ask")]
    assert len(ask_side) == 3 * 6 + 4
    assert {second[c] for c in ask_side} == {None}
    for name in ("Imbalance", "Spread"):
        assert {second[c] for c in frame.columns if c.startswith(name)} == {None}
    for source in ("Mid", "WeightedMid"):
        assert bar(second, source) == (None,) * 4
    assert bar(second, "Bid") == (10.0,) * 4


def bar(row: dict[str, object], source: str) -> tuple[object, ...]:
    return tuple(row[f"{source}{part}"] for part in ("Open", "High", "Low", "Close"))


def test_ohlc_from_every_snapshot_in_time_order() -> None:
    frame = compute({"ohlc": [{"source": ["Mid", "WeightedMid", "Bid", "Ask"]}]})
    first = bucket(frame, 1)
    assert bar(first, "Mid") == pytest.approx((10.2, 10.3, 10.1, 10.1))
    assert bar(first, "Bid") == (9.8, 10.1, 9.8, 10.0)
    assert bar(first, "Ask") == (10.6, 10.6, 10.2, 10.2)
    weighted = ((9.8 * 50 + 10.6 * 50) / 100, (10.1 * 30 + 10.5 * 10) / 40, 4020 / 400)
    assert bar(first, "WeightedMid") == pytest.approx(
        (weighted[0], max(weighted), min(weighted), weighted[2])
    )
    # The first snapshot of 10:02 has no ask: the mid starts at the second one.
    assert bar(bucket(frame, 2), "Mid") == pytest.approx((10.2,) * 4)
    assert bar(bucket(frame, 2), "Bid") == (10.0, 10.1, 10.0, 10.1)
    assert bar(bucket(frame, 3), "WeightedMid") == (None,) * 4  # no quantity
    assert bar(bucket(frame, 4), "Mid") == (None,) * 4


def test_ohlc_prev_close_chains_the_bars() -> None:
    frame = compute(
        {
            "ohlc": [
                {"source": "Mid"},
                {
                    "source": "Mid",
                    "open_mode": "prev_close",
                    "output_name_pattern": "C{source}{part}",
                },
            ]
        },
        [*ROWS, snap(280, [(10.0, 1, 1)], [(10.4, 1, 1)])],
    )
    assert bar(bucket(frame, 1), "CMid") == pytest.approx((10.2, 10.3, 10.1, 10.1))  # no earlier
    assert bar(bucket(frame, 2), "CMid") == pytest.approx((10.1, 10.2, 10.1, 10.2))
    assert bar(bucket(frame, 3), "CMid") == pytest.approx((10.2, 10.2, 10.1, 10.1))
    # A bucket without any mid is a flat bar at the previous close.
    assert bar(bucket(frame, 4), "CMid") == pytest.approx((10.1,) * 4)
    assert bar(bucket(frame, 4), "Mid") == (None,) * 4
    # The next bar opens at the latest Close there is (10:03's).
    assert bar(bucket(frame, 5), "CMid") == pytest.approx((10.1, 10.2, 10.1, 10.2))


def test_prev_close_stays_within_a_listing() -> None:
    rows = [*ROWS, snap(90, [(20.0, 1, 1)], [(20.2, 1, 1)], listing=8)]
    frame = compute({"ohlc": [{"open_mode": "prev_close"}]}, rows)
    assert bar(bucket(frame, 2, listing=8), "Mid") == pytest.approx((20.1,) * 4)


def test_market_states_filter() -> None:
    config = {"market_states": CONTINUOUS, "spreads": [{"variant": "Abs"}], "ohlc": [{}]}
    frame = compute(config)
    # 10:01's last snapshot (an auction one) is ignored; 10:04 has no continuous snapshot.
    assert frame["TimeBucket"].to_list() == [T + dt.timedelta(minutes=m) for m in (1, 2, 3)]
    first = bucket(frame, 1)
    assert first["SpreadAbs"] == pytest.approx(0.4)
    assert bar(first, "Mid") == pytest.approx((10.2, 10.3, 10.2, 10.3))


def test_ties_go_to_the_later_row() -> None:
    rows = [
        snap(30, [(10.0, 1, 1)], [(10.5, 1, 1)]),
        snap(10, [(9.0, 1, 1)], [(10.5, 1, 1)]),
        snap(30, [(10.1, 1, 1)], [(10.5, 1, 1)]),
        snap(20, [(9.5, 1, 1)], [(10.5, 1, 1)]),
    ]
    config = {"liquidity": [{"sides": "Bid", "levels": 1, "measures": "Price"}]}
    assert bucket(compute(config, rows), 1)["BidPrice1"] == 10.1
    assert bucket(compute(config, rows[::-1]), 1)["BidPrice1"] == 10.0


def test_last_snapshot_with_and_without_nanosecond_stamps() -> None:
    """``EventTimestamp`` comes from ``TimestampNanoseconds`` where set; the search filters on
    that raw column first and must still find rows stamped by ``EventTimestamp`` alone."""

    def stamped(seconds: float, bid: float, listing: int = 7) -> dict[str, object]:
        row = snap(0, [(bid, 1, 1)], [(12.0, 1, 1)], listing=listing)
        return {**row, "TimestampNanoseconds": T + dt.timedelta(seconds=seconds)}

    rows = [
        stamped(30, 10.0),
        snap(50, [(10.1, 1, 1)], [(12.0, 1, 1)]),  # no nanosecond stamp: the latest
        stamped(50, 9.0, listing=8),
        stamped(70, 11.0),
        stamped(90, 11.1),
        stamped(70, 10.9),
        stamped(90, 11.2),  # tie at the latest stamp: the later row
    ]
    config = {"liquidity": [{"sides": "Bid", "levels": 1, "measures": "Price"}]}
    frame = compute(config, rows)
    assert frame.select("ListingId", "TimeBucket", "BidPrice1").rows() == [
        (7, T + dt.timedelta(minutes=1), 10.1),
        (7, T + dt.timedelta(minutes=2), 11.2),
        (8, T + dt.timedelta(minutes=1), 9.0),
    ]


def test_one_row_per_listing_and_bucket_with_snapshots() -> None:
    rows = ROWS + [{**row, "ListingId": 8} for row in ROWS[:3]]
    frame = compute({}, rows)
    assert frame.select("ListingId", "TimeBucket").rows() == [
        (7, T + dt.timedelta(minutes=m)) for m in (1, 2, 3, 4)
    ] + [(8, T + dt.timedelta(minutes=1))]
    assert bucket(frame, 1, listing=8) == {**bucket(frame, 1), "ListingId": 8}


def test_defaults() -> None:
    measures = ("Price", "Quantity", "NumOrders", "CumQuantity", "CumOrders")
    levels = range(1, 11)
    depth = [f"{s}{m}{n}" for s in ("Bid", "Ask") for m in measures for n in levels]
    imbalances = [f"Imbalance{m}{n}" for m in ("CumQuantity", "Orders") for n in levels]
    columns = L2Config().output_columns()
    assert columns == [*depth, "SpreadBps", *imbalances]
    assert len(columns) == 2 * 10 * 5 + 2 * 10 + 1 == 121
    assert compute({}).columns == ["ListingId", "TimeBucket", *columns]
    shallow = L2Config(levels=3, metric_prefix="L2_").output_columns()
    assert len(shallow) == 2 * 3 * 5 + 2 * 3 + 1
    assert all(c.startswith("L2_") for c in shallow) and "L2_BidNumOrders3" in shallow
    only_spreads = L2Config.model_validate({"spreads": [{}]})
    assert only_spreads.output_columns() == ["SpreadBps"]  # no defaults then


def test_metric_prefix_and_patterns() -> None:
    config = {
        "metric_prefix": "P_",
        "liquidity": [
            {"levels": 1, "measures": "Price", "output_name_pattern": "Best{side}{measure}"}
        ],
        "imbalances": [{"levels": 1, "output_name_pattern": "Imb{level}"}],
        "ohlc": [{"output_name_pattern": "{part}"}],
    }
    frame = compute(config)
    assert frame.columns[2:] == [
        "P_BestBidPrice",
        "P_BestAskPrice",
        "P_Imb1",
        "P_Open",
        "P_High",
        "P_Low",
        "P_Close",
    ]
    assert bucket(frame, 1)["P_BestAskPrice"] == 10.2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"spreads": [{}, {"variant": "BPS"}]}, "'SpreadBps' would be produced twice"),
        ({"ohlc": [{}, {"open_mode": "prev_close"}]}, "'MidOpen' would be produced twice"),
        ({"liquidity": [{"levels": 11, "measures": "Price"}]}, "less than or equal to 10"),
        ({"imbalances": [{"levels": [0]}]}, "greater than or equal to 1"),
        ({"liquidity": [{"levels": 1, "measures": "Volume"}]}, "Quantity"),
        ({"spreads": [{"output_name_pattern": "{side}"}]}, "may only use {variant}"),
        ({"levels": 0}, "greater than or equal to 1"),
        ({"market_states": []}, "at least 1 item"),
        ({"aggregations": ["Last"]}, "Extra inputs are not permitted"),
        ({"volatility": [{}]}, "volatility is computed by the l2tw analytic"),
    ],
)
def test_invalid_options(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        L2Config.model_validate(config)


INVARIANTS = {
    "liquidity": [{"levels": list(range(1, 11)), "measures": "CumQuantity"}],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [
        {"levels": list(range(1, 11)), "measure": ["Quantity", "CumQuantity", "CumNotional"]},
        {"levels": list(range(1, 11)), "measure": "Orders"},
    ],
    "ohlc": [
        {"source": ["Mid", "WeightedMid", "Bid", "Ask"]},
        {
            "source": ["Mid", "WeightedMid"],
            "open_mode": "prev_close",
            "output_name_pattern": "C{source}{part}",
        },
    ],
}

Levels = list[tuple[int, int, int]]  # gap to the next level in cents, quantity, orders
Book = tuple[int, int, int, int, Levels, Levels]

side_strategy = st.lists(
    st.tuples(st.integers(1, 5), st.integers(0, 500), st.integers(0, 3)), max_size=10
)
book_strategy = st.lists(
    st.tuples(
        st.integers(0, 300),  # seconds after 10:00
        st.sampled_from([7, 8]),
        st.integers(900, 1100),  # best bid in cents
        st.integers(0, 5),  # spread in cents
        side_strategy,
        side_strategy,
    ),
    min_size=1,
    max_size=40,
)


def random_snap(
    seconds: int,
    listing: int,
    bid: int,
    spread: int,
    bids: Levels,
    asks: Levels,
) -> dict[str, object]:
    """An uncrossed book: prices step away from the best by positive gaps."""

    def side(best: int, direction: int, levels: Levels) -> list[Level]:
        out: list[Level] = []
        price = best
        for gap, quantity, orders in levels:
            out.append((price / 100, quantity, orders))
            price += direction * gap
        return out

    return snap(seconds, side(bid, -1, bids), side(bid + spread, 1, asks), listing=listing)


@settings(max_examples=60, deadline=None)
@given(book_strategy)
def test_invariants(data: list[Book]) -> None:
    frame = compute(INVARIANTS, [random_snap(*item) for item in data])
    imbalances = frame.select(pl.col("^Imbalance.*$"))
    assert imbalances.width == 40
    assert all((c.is_between(-1, 1) | c.is_null()).all() for c in imbalances.iter_columns())
    for spread in ("SpreadAbs", "SpreadBps"):
        assert (frame[spread].drop_nulls() >= -1e-12).all()
    for side in ("Bid", "Ask"):
        for level in range(2, 11):
            deeper = frame[f"{side}CumQuantity{level}"]
            shallower = frame[f"{side}CumQuantity{level - 1}"]
            assert ((deeper >= shallower) | shallower.is_null()).all()
    eps = 1e-9
    for source in ("Mid", "WeightedMid", "Bid", "Ask", "CMid", "CWeightedMid"):
        o, h, lo, c = (frame[f"{source}{part}"] for part in ("Open", "High", "Low", "Close"))
        for value in (o, c):
            assert ((lo <= value + eps) & (value <= h + eps) | value.is_null()).all()
        assert ((lo <= h) | h.is_null()).all()


SMALL = {
    "liquidity": [{"levels": [1, 2], "measures": ["Price", "CumNotional"]}],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [{"levels": 2, "measure": ["Quantity", "Orders"]}],
    "ohlc": [
        {"source": "Mid"},
        {
            "source": "WeightedMid",
            "open_mode": "prev_close",
            "output_name_pattern": "C{source}{part}",
        },
    ],
}
SMALL_COLUMNS = [
    "BidPrice1",
    "BidPrice2",
    "BidCumNotional1",
    "BidCumNotional2",
    "AskPrice1",
    "AskPrice2",
    "AskCumNotional1",
    "AskCumNotional2",
    "SpreadAbs",
    "SpreadBps",
    "ImbalanceQuantity2",
    "ImbalanceOrders2",
    "MidOpen",
    "MidHigh",
    "MidLow",
    "MidClose",
    "CWeightedMidOpen",
    "CWeightedMidHigh",
    "CWeightedMidLow",
    "CWeightedMidClose",
]
TWO_LEVEL_DEFAULTS = [
    "BidPrice1",
    "BidPrice2",
    "BidQuantity1",
    "BidQuantity2",
    "BidNumOrders1",
    "BidNumOrders2",
    "BidCumQuantity1",
    "BidCumQuantity2",
    "BidCumOrders1",
    "BidCumOrders2",
    "AskPrice1",
    "AskPrice2",
    "AskQuantity1",
    "AskQuantity2",
    "AskNumOrders1",
    "AskNumOrders2",
    "AskCumQuantity1",
    "AskCumQuantity2",
    "AskCumOrders1",
    "AskCumOrders2",
    "SpreadBps",
    "ImbalanceCumQuantity1",
    "ImbalanceCumQuantity2",
    "ImbalanceOrders1",
    "ImbalanceOrders2",
]


@pytest.mark.parametrize(
    ("config", "columns"), [(SMALL, SMALL_COLUMNS), ({"levels": 2}, TWO_LEVEL_DEFAULTS)]
)
def test_columns_in_order(config: dict[str, object], columns: list[str]) -> None:
    assert L2Config.model_validate(config).output_columns() == columns
    assert compute(config).columns == ["ListingId", "TimeBucket", *columns]


class TestL2Contract(AnalyticContract):
    analytic = L2Analytic
    tables = {"l2": l2_frame(ROWS)}
    config = SMALL
    expected_columns = SMALL_COLUMNS


class TestL2DefaultsContract(AnalyticContract):
    analytic = L2Analytic
    tables = {"l2": l2_frame(ROWS)}
    config = {"levels": 2}
    expected_columns = TWO_LEVEL_DEFAULTS


def test_against_a_plain_query_on_a_generated_lake(tmp_path: Path) -> None:
    day = dt.date(2024, 3, 4)
    generate_lake(tmp_path, day, day, ["XLON"], 3, trades_per_listing=200)
    scanned = L2Table.scan(Lake(str(tmp_path)), ["XLON"], [day], bucket=BucketSpec(60))
    config = {"spreads": [{}], "imbalances": [{"levels": 5}]}
    result = compute_analytic(L2Analytic, {"l2": scanned}, config).collect()

    # Independently: buckets (t - 1 min, t] labelled t, last snapshot by sort + group_by.
    raw = pl.read_parquet(L2Table.path(Lake(str(tmp_path)), "XLON", day))
    stamp = pl.col("TimestampNanoseconds")
    floor = stamp.dt.truncate("1m")
    label = pl.when(floor == stamp).then(floor).otherwise(floor + pl.duration(minutes=1))
    bid, ask = pl.col("BidPrice1"), pl.col("AskPrice1")
    depth = [
        pl.sum_horizontal(f"{side}Quantity{k}" for k in range(1, 6)) for side in ("Bid", "Ask")
    ]
    expected = (
        raw.with_columns(label.alias("TimeBucket"))
        .sort("ListingId", "TimestampNanoseconds", maintain_order=True)
        .group_by("ListingId", "TimeBucket")
        .last()
        .select(
            "ListingId",
            "TimeBucket",
            (20_000 * (ask - bid) / (ask + bid)).alias("SpreadBps"),
            ((depth[0] - depth[1]) / (depth[0] + depth[1]))
            .fill_nan(None)
            .alias("ImbalanceCumQuantity5"),
        )
    )
    assert result.height > 100
    assert_frame_equal(
        result.sort("ListingId", "TimeBucket"),
        expected.sort("ListingId", "TimeBucket"),
        check_dtypes=False,
    )
