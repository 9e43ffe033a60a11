"""The trade analytic against hand-computed values, plus invariants on random trades."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basalt.analytics.trade import TradeAnalytic
from basalt.testing import run_analytic, trades_frame

T = dt.datetime(2024, 3, 4, 10, 0)
ASK, BID, UNKNOWN = 1, 2, 0


def trade(
    seconds: float, side: int, size: float, price: float, **extra: object
) -> dict[str, object]:
    return {
        "ListingId": 7,
        "TradeTimestamp": T + dt.timedelta(seconds=seconds),
        "AggressorSide": side,
        "Size": size,
        "Price": price,
        "TradeNotional": size * price,
        "TradeNotionalEUR": size * price / 2,
        **extra,
    }


# Rows deliberately out of time order: OHLC must follow timestamps, not row order.
ROWS = [
    trade(60, ASK, 150, 9.9),  # exactly on the 10:01 edge: closes the 10:01 bucket
    trade(10, ASK, 100, 10.0),
    trade(30, BID, 50, 10.2, BMLLParticipantType="RETAIL"),
    trade(20, ASK, 1000, 11.0, Classification="OFF_BOOK_ON_EXCHANGE"),
    trade(60.5, UNKNOWN, 10, 10.1),
]
ALL = {"sides": ["Bid", "Ask", "Unknown", "Total"], "measures": ["Volume", "Count", "VWAP", "OHLC"]}


def compute(config: dict[str, object], rows: list[dict[str, object]] = ROWS) -> pl.DataFrame:
    return run_analytic(TradeAnalytic, {"trades": trades_frame(rows)}, config)


def bucket(frame: pl.DataFrame, minute: int) -> dict[str, object]:
    rows = frame.filter(pl.col("TimeBucket") == T + dt.timedelta(minutes=minute)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_totals_of_the_first_bucket() -> None:
    config = {
        "generic_metrics": [
            {
                "measures": [
                    "Volume",
                    "Count",
                    "Notional",
                    "NotionalEUR",
                    "VWAP",
                    "OHLC",
                    "AvgPrice",
                    "MedianPrice",
                ]
            }
        ]
    }
    row = bucket(compute(config), 1)
    assert row["TradeTotalVolume"] == 300
    assert row["TradeTotalCount"] == 3
    assert row["TradeTotalNotional"] == pytest.approx(1000 + 510 + 1485)
    assert row["TradeTotalNotionalEUR"] == pytest.approx(2995 / 2)
    assert row["TradeTotalVWAP"] == pytest.approx(2995 / 300)
    assert (
        row["TradeTotalOpen"],
        row["TradeTotalHigh"],
        row["TradeTotalLow"],
        row["TradeTotalClose"],
    ) == (10.0, 10.2, 9.9, 9.9)
    assert row["TradeTotalAvgPrice"] == pytest.approx((10.0 + 10.2 + 9.9) / 3)
    assert row["TradeTotalMedianPrice"] == 10.0


def test_sides_follow_the_aggressor() -> None:
    frame = compute({"generic_metrics": [ALL]})
    first = bucket(frame, 1)
    assert first["TradeAskVolume"] == 250 and first["TradeAskCount"] == 2
    assert first["TradeAskVWAP"] == pytest.approx((1000 + 1485) / 250)
    assert first["TradeBidVolume"] == 50 and first["TradeBidVWAP"] == pytest.approx(10.2)
    assert first["TradeUnknownVolume"] == 0 and first["TradeUnknownVWAP"] is None
    assert (first["TradeAskOpen"], first["TradeAskClose"]) == (10.0, 9.9)
    second = bucket(frame, 2)
    assert second["TradeUnknownVolume"] == 10 and second["TradeTotalVolume"] == 10
    assert second["TradeBidCount"] == 0 and second["TradeBidOpen"] is None


def test_only_lit_continuous_by_default_and_all_with_null() -> None:
    config: dict[str, object] = {"generic_metrics": [{"measures": ["Volume"]}]}
    assert bucket(compute(config), 1)["TradeTotalVolume"] == 300
    assert bucket(compute({**config, "classifications": None}), 1)["TradeTotalVolume"] == 1300


def test_attribute_filters_prefix_and_pattern() -> None:
    config = {
        "metric_prefix": "R_",
        "generic_metrics": [
            {
                "measures": ["Volume", "Count"],
                "attribute_filters": {"BMLLParticipantType": ["RETAIL"]},
                "output_name_pattern": "Retail{side}{measure}",
            }
        ],
    }
    frame = compute(config)
    assert frame.columns == ["ListingId", "TimeBucket", "R_RetailTotalVolume", "R_RetailTotalCount"]
    assert bucket(frame, 1)["R_RetailTotalVolume"] == 50
    assert bucket(frame, 2)["R_RetailTotalCount"] == 0


def test_one_row_per_listing_and_bucket() -> None:
    other = [{**row, "ListingId": 8} for row in ROWS]
    frame = compute({"generic_metrics": [{"measures": ["Volume"]}]}, ROWS + other)
    assert frame.select("ListingId", "TimeBucket").is_duplicated().sum() == 0
    assert frame.group_by("ListingId").agg(pl.col("TradeTotalVolume").sum()).sort(
        "ListingId"
    ).rows() == [(7, 310.0), (8, 310.0)]


trades_strategy = st.lists(
    st.tuples(
        st.integers(0, 600),  # seconds after 10:00
        st.sampled_from([ASK, BID, UNKNOWN]),
        st.integers(1, 10_000),
        st.integers(9_000, 11_000),  # price in cents
        st.sampled_from([7, 8]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(trades_strategy)
def test_invariants(data: list[tuple[int, int, int, int, int]]) -> None:
    rows = [
        {**trade(s, side, size, cents / 100), "ListingId": listing}
        for s, side, size, cents, listing in data
    ]
    frame = compute({"generic_metrics": [ALL]}, rows)
    total_input = sum(size for _, _, size, _, _ in data)
    assert frame["TradeTotalVolume"].sum() == total_input
    assert frame["TradeTotalCount"].sum() == len(data)
    sides = frame["TradeBidVolume"] + frame["TradeAskVolume"] + frame["TradeUnknownVolume"]
    assert (sides == frame["TradeTotalVolume"]).all()
    assert (frame["TradeBidVolume"] + frame["TradeAskVolume"] <= frame["TradeTotalVolume"]).all()
    eps = 1e-9
    assert (frame["TradeTotalVWAP"] >= frame["TradeTotalLow"] - eps).all()
    assert (frame["TradeTotalVWAP"] <= frame["TradeTotalHigh"] + eps).all()
    assert (
        frame["TradeTotalOpen"].is_between(frame["TradeTotalLow"], frame["TradeTotalHigh"])
    ).all()


def test_notional_is_null_when_unknown_and_zero_without_trades() -> None:
    rows = [{**row, "TradeNotionalEUR": None} for row in ROWS]
    config = {"generic_metrics": [{"sides": ["Bid", "Total"], "measures": ["NotionalEUR"]}]}
    second = bucket(compute(config, rows), 2)
    assert second["TradeTotalNotionalEUR"] is None  # a trade, but no EUR notional known
    assert second["TradeBidNotionalEUR"] == 0.0  # no seller-initiated trade at all


def test_sums_do_not_depend_on_the_order_of_addition() -> None:
    n = 20_000
    rows = [
        trade(
            i % 3600,
            (ASK, BID, UNKNOWN)[i % 3],
            1 + (i * 7919) % 997,
            10 + ((i * 104729) % 1000) / 1000,
        )
        | {"ListingId": i % 5}
        for i in range(n)
    ]
    config = {
        "generic_metrics": [
            {"sides": ["Bid", "Total"], "measures": ["Notional", "VWAP", "AvgPrice"]}
        ]
    }
    first = compute(config, rows)
    assert all(compute(config, rows[::-1]).equals(first) for _ in range(3))


@pytest.mark.parametrize("first", [BID, ASK])
def test_open_and_close_of_simultaneous_trades_follow_row_order(first: int) -> None:
    second = ASK if first == BID else BID
    rows = [trade(5, first, 10, 10.0), trade(5, second, 10, 11.0)]
    config = {"generic_metrics": [{"sides": ["Total"], "measures": ["OHLC"]}]}
    row = bucket(compute(config, rows), 1)
    assert (row["TradeTotalOpen"], row["TradeTotalClose"]) == (10.0, 11.0)
