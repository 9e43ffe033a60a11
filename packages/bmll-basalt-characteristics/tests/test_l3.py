"""``l3_characteristics`` on tiny hand-built frames, one family of flags at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from basalt.testing import l3_frame, run_analytic
from basalt_characteristics.l3 import L3Characteristics


def at(minute: int, second: float) -> str:
    """An ISO timestamp on 2026-01-02 08:mm:ss."""
    return f"2026-01-02T08:{minute:02d}:{second:012.9f}"


def bucket(minute: int) -> dt.datetime:
    """The label of the one-minute bucket ending at 08:mm."""
    return dt.datetime(2026, 1, 2, 8, minute)


def characteristics(rows: list[dict[str, Any]], *columns: str) -> dict[str, list[Any]]:
    """Keys and ``columns`` of the result, as lists."""
    frame = run_analytic(L3Characteristics, {"l3": l3_frame(rows)})
    return frame.select("ListingId", "TimeBucket", *columns).to_dict(as_series=False)


def test_counts_and_execution_flags() -> None:
    rows = [
        {"TimestampNanoseconds": at(0, 1), "LobAction": 2},
        {"TimestampNanoseconds": at(0, 2), "LobAction": 1},
        {"TimestampNanoseconds": at(0, 3), "LobAction": 1, "OrderExecuted": True},
        {"TimestampNanoseconds": at(1, 0), "LobAction": 4, "OrderExecuted": False},
        {"TimestampNanoseconds": at(1, 1), "LobAction": 3, "OrderExecuted": True},
    ]
    assert characteristics(
        rows,
        "L3EventCount",
        "L3ExecutionCount",
        "L3HasExecution",
        "L3HasOrderExecuted",
        "L3HasUpdates",
    ) == {
        "ListingId": [1, 1],
        "TimeBucket": [bucket(1), bucket(2)],
        "L3EventCount": [4, 1],
        "L3ExecutionCount": [2, 0],
        "L3HasExecution": [True, False],
        "L3HasOrderExecuted": [True, True],
        "L3HasUpdates": [True, False],
    }


def test_market_states_and_session_phases() -> None:
    def row(minute: int, state: str, action: int = 2, listing: int = 1) -> dict[str, Any]:
        return {
            "TimestampNanoseconds": at(minute, 30),
            "MarketState": state,
            "LobAction": action,
            "ListingId": listing,
        }

    rows = [
        row(0, "CLOSED", action=1),  # before the session: a pre-open execution
        row(0, "OPENING_AUCTION"),
        row(1, "CONTINUOUS_TRADING"),
        row(1, " volatility_auction "),
        row(2, "CLOSING_AUCTION"),
        row(2, "POST_TRADE", action=1),
        row(3, "CLOSED", action=1),  # after the session: a post-trade execution
        row(3, "PRE_OPEN", action=1, listing=2),  # listing 2 never opened
    ]
    assert characteristics(
        rows,
        "L3HasContinuousTrading",
        "L3HasOpeningAuction",
        "L3HasClosingAuction",
        "L3HasIntradayAuction",
        "L3HasPreOpenExecution",
        "L3HasPostTradeExecution",
    ) == {
        "ListingId": [1, 1, 1, 1, 2],
        "TimeBucket": [bucket(1), bucket(2), bucket(3), bucket(4), bucket(4)],
        "L3HasContinuousTrading": [False, True, False, False, False],
        "L3HasOpeningAuction": [True, False, False, False, False],
        "L3HasClosingAuction": [False, False, True, False, False],
        "L3HasIntradayAuction": [False, True, False, False, False],
        "L3HasPreOpenExecution": [True, False, False, False, True],
        "L3HasPostTradeExecution": [False, False, True, True, False],
    }


def test_events_ids_and_receive_timestamps() -> None:
    rows: list[dict[str, Any]] = [
        {"TimestampNanoseconds": at(0, 1), "EventNo": 1, "TradeId": "", "ReceiveTimestamp": 0},
        {"TimestampNanoseconds": at(0, 1), "EventNo": 1, "TradeId": "T1"},
        {"TimestampNanoseconds": at(0, 2), "EventNo": 2, "ReceiveTimestamp": 1_767_340_802},
        # event 3 straddles the 08:01 edge: one row on each side
        {"TimestampNanoseconds": at(1, 0), "EventNo": 3, "TradeId": "  ", "ReceiveTimestamp": 0},
        {"TimestampNanoseconds": at(1, 0.5), "EventNo": 3},
        {"TimestampNanoseconds": at(1, 1)},
    ]
    assert characteristics(rows, "L3HasMultiRowEvent", "L3HasTradeId", "L3HasReceiveTimestamp") == {
        "ListingId": [1, 1],
        "TimeBucket": [bucket(1), bucket(2)],
        "L3HasMultiRowEvent": [True, False],
        "L3HasTradeId": [True, False],
        "L3HasReceiveTimestamp": [True, False],
    }


def test_queue_position_and_price_level() -> None:
    def row(
        minute: int, action: int, orders: int | None, size: int | None, level: int
    ) -> dict[str, Any]:
        return {
            "TimestampNanoseconds": at(minute, 30),
            "LobAction": action,
            "OrdersAhead": orders,
            "SizeAhead": size,
            "PriceLevel": level,
        }

    rows = [
        row(0, 1, 2, 300, 1),  # executed behind two orders, at the top
        row(1, 1, 0, 0, 2),  # executed first in queue, below the top
        row(1, 2, 3, 40, 5),  # an insert deep in the book
        row(2, 2, 2, 1, 1),  # two orders ahead cannot hold one share
        row(3, 2, 0, 10, 1),  # no order ahead but size ahead
        row(4, 2, None, 5, 1),  # one of the two missing
        row(5, 2, None, None, 1),  # both missing: consistent
    ]
    assert characteristics(
        rows,
        "L3ExecutedWithOrdersAhead",
        "L3ExecutedNotAtTopOfBook",
        "L3SizeAheadOrdersAheadConsistent",
    ) == {
        "ListingId": [1] * 6,
        "TimeBucket": [bucket(m) for m in range(1, 7)],
        "L3ExecutedWithOrdersAhead": [True, False, False, False, False, False],
        "L3ExecutedNotAtTopOfBook": [False, True, False, False, False, False],
        "L3SizeAheadOrdersAheadConsistent": [True, True, False, False, False, True],
    }


def test_no_op_updates() -> None:
    def row(minute: int, action: int, **change: Any) -> dict[str, Any]:
        same = {"Price": 10.0, "OldPrice": 10.0, "Size": 5, "OldSize": 5, "OrderId": "a"}
        return {"TimestampNanoseconds": at(minute, 30), "LobAction": action, **same, **change}

    rows = [
        row(0, 4),  # nothing changes
        row(1, 4, Size=4),
        row(1, 4, OldOrderId="b"),  # the order is re-identified
        row(1, 2),  # an insert, not an update
        row(2, 4, OldOrderId="a"),
    ]
    assert characteristics(rows, "L3HasNoOpUpdate") == {
        "ListingId": [1, 1, 1],
        "TimeBucket": [bucket(1), bucket(2), bucket(3)],
        "L3HasNoOpUpdate": [True, False, True],
    }


def test_orderings_within_buckets_in_file_order() -> None:
    rows = [
        {"TimestampNanoseconds": at(0, 1), "EventNo": 1, "ExchangeSequenceNo": 5},
        {"TimestampNanoseconds": at(0, 2), "EventNo": 2, "ExchangeSequenceNo": 4},
        {"TimestampNanoseconds": at(0, 2), "EventNo": 3, "ExchangeSequenceNo": 4},
        # next bucket: EventNo restarts below 3, which is not compared across the edge
        {"TimestampNanoseconds": at(1, 30), "EventNo": 2, "BMLLSequenceNo": 7},
        {"TimestampNanoseconds": at(1, 10), "EventNo": 2},
        {"TimestampNanoseconds": at(1, 40), "EventNo": 2, "BMLLSequenceNo": 9},
    ]
    result = characteristics(
        rows,
        *(
            f"L3{column}{check}"
            for column in ("EventTimestamp", "EventNo", "ExchangeSequenceNo", "BMLLSequenceNo")
            for check in ("NonDecreasing", "StrictlyIncreasing")
        ),
    )
    assert result == {
        "ListingId": [1, 1],
        "TimeBucket": [bucket(1), bucket(2)],
        "L3EventTimestampNonDecreasing": [True, False],
        "L3EventTimestampStrictlyIncreasing": [False, False],
        "L3EventNoNonDecreasing": [True, True],
        "L3EventNoStrictlyIncreasing": [True, False],
        "L3ExchangeSequenceNoNonDecreasing": [False, None],
        "L3ExchangeSequenceNoStrictlyIncreasing": [False, None],
        "L3BMLLSequenceNoNonDecreasing": [None, True],
        "L3BMLLSequenceNoStrictlyIncreasing": [None, True],
    }


def test_dtypes_and_prefix() -> None:
    rows = [{"TimestampNanoseconds": at(0, 1), "LobAction": 1}]
    result = run_analytic(L3Characteristics, {"l3": l3_frame(rows)}, {"metric_prefix": "X"})
    metrics = {c: t for c, t in result.schema.items() if c not in ("ListingId", "TimeBucket")}
    assert all(c.startswith("XL3") for c in metrics)
    counts = {"XL3EventCount", "XL3ExecutionCount"}
    assert {c for c, t in metrics.items() if t == pl.Int64} == counts
    assert all(t == pl.Boolean for c, t in metrics.items() if c not in counts)
