"""The l3 analytic against hand-computed values, invariants on random event streams, and
counts and order lifetimes recomputed straight from a LOBSTER message file."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from basalt.analytics.l3 import L3Analytic, L3Config
from basalt.importers.lobster import import_lobster
from basalt.testing import AnalyticContract, l3_frame, run_analytic, run_pass

T = dt.datetime(2024, 3, 4, 10, 0)
BID, ASK = 1, 2
EXEC, INSERT, REMOVE, UPDATE = 1, 2, 3, 4
CONTINUOUS, CLOSING = "CONTINUOUS_TRADING", "CLOSING_AUCTION"
ADVANCED = [
    "ArrivalFlowImbalance",
    "CancelToTradeRatio",
    "AvgQueuePosition",
    "AvgRestingTime",
    "FleetingLiquidityRatio",
    "AvgReplacementLatency",
]
S = 1_000_000_000  # nanoseconds per second


def ev(
    seconds: float,
    action: int,
    side: int,
    order: str | None,
    size: int | None = None,
    old: int | None = None,
    **extra: object,
) -> dict[str, object]:
    return {
        "ListingId": 7,
        "TimestampNanoseconds": T + dt.timedelta(seconds=seconds),
        "LobAction": action,
        "Side": side,
        "OrderId": order,
        "Size": size,
        "OldSize": old,
        "MarketState": CONTINUOUS,
        **extra,
    }


def fill(
    seconds: float, side: int, order: str, left: int, executed: int, **extra: object
) -> dict[str, object]:
    """A fill reported as an execution row (LobAction 1)."""
    return ev(
        seconds,
        EXEC,
        side,
        order,
        left,
        left + executed,
        OrderExecuted=True,
        ExecutionSize=executed,
        ExecutionPrice=10.0,
        **extra,
    )


def compute(config: Mapping[str, object], rows: list[dict[str, object]]) -> pl.DataFrame:
    return run_analytic(L3Analytic, {"l3": l3_frame(rows)}, config)


def bucket(frame: pl.DataFrame, minute: int) -> dict[str, Any]:
    rows = frame.filter(pl.col("TimeBucket") == T + dt.timedelta(minutes=minute)).to_dicts()
    assert len(rows) == 1
    return rows[0]


# --- generic metrics ----------------------------------------------------------------------------

# Rows deliberately out of time order.
EVENTS = [
    ev(60, INSERT, ASK, "c", 70),  # exactly on the 10:01 edge: in the 10:01 bucket
    ev(10, INSERT, BID, "a", 100),
    ev(20, INSERT, ASK, "b", 50),
    ev(30, UPDATE, BID, "a", 60, 100),
    ev(40, REMOVE, ASK, "b", 0, 50),
    # Fills reported as the remove / update they cause: executions, not Remove / Update.
    ev(45, REMOVE, BID, "x", 0, 20, OrderExecuted=True, ExecutionSize=20, ExecutionPrice=9.9),
    ev(50, UPDATE, ASK, "y", 5, 15, OrderExecuted=True, ExecutionSize=10, ExecutionPrice=10.1),
    ev(60.5, UPDATE, ASK, "c", 90, 70),
    fill(61, BID, "a", 0, 60),
    ev(90, REMOVE, BID, "d", 0, 30),
    ev(100, INSERT, BID, "e", 10, MarketState=CLOSING),
]
ACTIONS = ["Insert", "Remove", "Update", "UpdateInserted", "UpdateRemoved"]
EVERYTHING = {"actions": ACTIONS, "sides": ["Bid", "Ask", "Total"]}


def test_counts_and_volumes_per_action_and_side() -> None:
    frame = compute({"generic_metrics": [EVERYTHING]}, EVENTS)
    first = bucket(frame, 1)
    assert (first["InsertCountBid"], first["InsertCountAsk"], first["InsertCountTotal"]) == (
        1,
        2,
        3,
    )
    assert (first["InsertVolumeBid"], first["InsertVolumeAsk"]) == (100, 120)
    assert (first["RemoveCountBid"], first["RemoveCountAsk"], first["RemoveVolumeAsk"]) == (
        0,
        1,
        50,
    )
    assert (first["UpdateCountBid"], first["UpdateCountAsk"]) == (1, 0)
    assert first["UpdateVolumeBid"] == -40
    assert (first["UpdateInsertedVolumeBid"], first["UpdateRemovedVolumeBid"]) == (60, 100)
    assert first["UpdateInsertedCountBid"] == first["UpdateRemovedCountBid"] == 1
    second = bucket(frame, 2)
    assert (second["InsertCountBid"], second["InsertVolumeBid"], second["InsertCountAsk"]) == (
        1,
        10,
        0,
    )
    assert (second["RemoveCountBid"], second["RemoveVolumeBid"]) == (1, 30)
    assert (second["UpdateCountAsk"], second["UpdateVolumeAsk"]) == (1, 20)
    assert (second["UpdateInsertedVolumeAsk"], second["UpdateRemovedVolumeAsk"]) == (90, 70)
    assert frame.height == 2


def test_defaults_are_insert_and_remove_counts_and_volumes_of_both_sides() -> None:
    frame = compute({}, EVENTS)
    expected = [
        f"{action}{measure}{side}"
        for action in ("Insert", "Remove")
        for measure in ("Count", "Volume")
        for side in ("Bid", "Ask")
    ]
    assert frame.columns == ["ListingId", "TimeBucket", *expected]
    assert frame.schema["InsertCountBid"] == frame.schema["InsertVolumeBid"] == pl.Int64


def test_volume_aggregations() -> None:
    config = {
        "generic_metrics": [
            {
                "actions": "Insert",
                "measures": "Volume",
                "sides": ["Ask", "Total"],
                "aggregations": ["Sum", "Mean", "Median", "Min", "Max", "Std"],
            }
        ]
    }
    first = bucket(compute(config, EVENTS), 1)
    assert first["InsertVolumeAsk"] == 120
    assert (first["InsertVolumeAskMean"], first["InsertVolumeAskMedian"]) == (60.0, 60.0)
    assert (first["InsertVolumeAskMin"], first["InsertVolumeAskMax"]) == (50, 70)
    assert first["InsertVolumeAskStd"] == pytest.approx(200**0.5)
    assert first["InsertVolumeTotalMean"] == pytest.approx(220 / 3)
    second = bucket(compute(config, EVENTS), 2)
    assert second["InsertVolumeAskMean"] is None and second["InsertVolumeAsk"] == 0
    assert second["InsertVolumeTotalStd"] is None  # one insert: no sample deviation


def test_count_accepts_only_sum() -> None:
    with pytest.raises(ValidationError, match="Count is a number of events"):
        L3Config.model_validate(
            {"generic_metrics": [{"actions": "Insert", "aggregations": "Mean"}]}
        )


def test_market_states_of_the_module_and_of_a_family() -> None:
    config = {
        "market_states": CONTINUOUS,
        "generic_metrics": [
            {"actions": "Insert", "measures": "Count"},
            {
                "actions": "Insert",
                "measures": "Count",
                "market_states": [CLOSING],
                "output_name_pattern": "Closing{action}{measure}{side}",
            },
        ],
    }
    second = bucket(compute(config, EVENTS), 2)
    assert (second["InsertCountBid"], second["ClosingInsertCountBid"]) == (0, 1)
    assert bucket(compute(config, EVENTS), 1)["ClosingInsertCountAsk"] == 0


def test_options_survive_a_round_trip() -> None:
    config = L3Config.model_validate(
        {"market_states": CONTINUOUS, "generic_metrics": [EVERYTHING], **advanced()}
    )
    assert L3Config.model_validate(config.model_dump()) == config
    assert L3Config.model_validate(L3Config().model_dump()) == L3Config()
    with pytest.raises(ValidationError, match="at least 1 item"):
        L3Config.model_validate({"market_states": []})


def test_prefix_patterns_and_unique_names() -> None:
    config = {
        "metric_prefix": "L3_",
        "generic_metrics": [
            {
                "actions": "Remove",
                "measures": "Volume",
                "sides": "Total",
                "aggregations": ["Sum", "Max"],
                "output_name_pattern": "{action}{side}{measure}{agg}",
            }
        ],
        "advanced_metrics": [{"variant": "CancelToTradeRatio", "output_name_pattern": "C2T"}],
    }
    frame = compute(config, EVENTS)
    assert frame.columns == [
        "ListingId",
        "TimeBucket",
        "L3_RemoveTotalVolumeSum",
        "L3_RemoveTotalVolumeMax",
        "L3_C2T",
    ]
    assert bucket(frame, 2)["L3_RemoveTotalVolumeMax"] == 30
    with pytest.raises(ValidationError, match="produced twice"):
        L3Config.model_validate(
            {"generic_metrics": [{"actions": "Insert"}, {"actions": ["Remove", "Insert"]}]}
        )
    with pytest.raises(ValidationError, match=r"may only use \{action\}"):
        L3Config.model_validate(
            {"generic_metrics": [{"actions": "Insert", "output_name_pattern": "{level}"}]}
        )


def test_a_fill_on_either_form_is_not_a_cancellation() -> None:
    config = {"generic_metrics": [], "advanced_metrics": [{"variant": "CancelToTradeRatio"}]}
    # Three fills (an execution row, a flagged remove, a flagged update), one cancellation.
    assert bucket(compute(config, EVENTS), 1)["CancelToTradeRatio"] == pytest.approx(1 / 2)
    assert bucket(compute(config, EVENTS), 2)["CancelToTradeRatio"] == 1.0


# --- advanced metrics ---------------------------------------------------------------------------

LIVES = [
    # 10:01
    ev(10, INSERT, BID, "A", 100),
    ev(20, INSERT, ASK, "B", 50),
    fill(30, ASK, "B", 20, 30, SizeAhead=0),  # partial: B still rests
    ev(30.5, INSERT, ASK, "D", 40),  # replaces liquidity 0.5 s after the fill on its side
    ev(59.95, INSERT, BID, "C", 10),
    # 10:02
    ev(60.02, REMOVE, BID, "C", 0, 10),  # 70 ms: fleeting, credited to the insert's bucket
    ev(70, REMOVE, ASK, "B", 0, 20, OrderExecuted=True, ExecutionSize=20, SizeAhead=10),
    ev(80, REMOVE, ASK, "D", 0, 40),
    ev(90, REMOVE, BID, "Z", 0, 5),  # inserted before the data starts: no resting time
    # 10:03
    ev(150, INSERT, BID, "E", 25),  # still resting at the end: no resting time
    ev(170, INSERT, ASK, "F", 30),
    ev(170.05, REMOVE, ASK, "F", 0, 30),  # exactly 50 ms
    ev(171, INSERT, ASK, "F", 30),  # the same OrderId again: a new life, still resting
]


def advanced(**family: object) -> dict[str, object]:
    return {"advanced_metrics": [{"variant": ADVANCED, **family}]}


def test_advanced_metrics() -> None:
    frame = compute(advanced(), LIVES)
    first, second, third = (bucket(frame, minute) for minute in (1, 2, 3))
    assert first["ArrivalFlowImbalance"] == pytest.approx((110 - 90) / 200)
    assert second["ArrivalFlowImbalance"] is None  # nothing inserted
    assert third["ArrivalFlowImbalance"] == pytest.approx((25 - 60) / 85)
    assert first["CancelToTradeRatio"] == 0.0
    assert second["CancelToTradeRatio"] == 3.0  # C, D, Z cancelled; B filled
    assert third["CancelToTradeRatio"] is None  # no execution
    assert (first["AvgQueuePosition"], second["AvgQueuePosition"]) == (0.0, 10.0)
    assert third["AvgQueuePosition"] is None
    # Resting times belong to the bucket of the event ending the order.
    assert first["AvgRestingTime"] is None
    assert second["AvgRestingTime"] == pytest.approx((0.07 + 50 + 49.5) * S / 3)
    assert third["AvgRestingTime"] == pytest.approx(0.05 * S)
    # Fleeting liquidity belongs to the bucket of the insert.
    assert first["FleetingLiquidityRatio"] == pytest.approx(10 / 200)
    assert second["FleetingLiquidityRatio"] is None
    assert third["FleetingLiquidityRatio"] == pytest.approx(30 / 85)
    assert first["AvgReplacementLatency"] == pytest.approx(0.5 * S)
    assert second["AvgReplacementLatency"] is None and third["AvgReplacementLatency"] is None


def test_fleeting_threshold_is_strict_and_configurable() -> None:
    config = {
        "advanced_metrics": [
            {"variant": "FleetingLiquidityRatio", "fleeting_threshold_ms": 50},
            {
                "variant": "FleetingLiquidityRatio",
                "fleeting_threshold_ms": 50.001,
                "output_name_pattern": "{variant}Wide",
            },
        ]
    }
    frame = compute(config, LIVES)
    first, third = bucket(frame, 1), bucket(frame, 3)
    assert (first["FleetingLiquidityRatio"], third["FleetingLiquidityRatio"]) == (0.0, 0.0)
    assert first["FleetingLiquidityRatioWide"] == 0.0  # C lived 70 ms
    assert third["FleetingLiquidityRatioWide"] == pytest.approx(30 / 85)


def test_time_measures_follow_the_state_of_the_event_they_belong_to() -> None:
    rows = [dict(r) for r in LIVES]
    rows[5]["MarketState"] = CLOSING  # C's removal
    frame = compute(advanced(market_states=CONTINUOUS), rows)
    assert bucket(frame, 2)["AvgRestingTime"] == pytest.approx((50 + 49.5) * S / 2)
    assert bucket(frame, 1)["FleetingLiquidityRatio"] == pytest.approx(10 / 200)
    assert bucket(frame, 2)["CancelToTradeRatio"] == 2.0


def test_order_history_spans_buckets_and_ignores_row_order() -> None:
    shuffled = LIVES[::-1]
    assert compute(advanced(), shuffled).equals(compute(advanced(), LIVES))


def test_a_complete_fill_ends_a_life_and_a_partial_one_does_not() -> None:
    rows = [
        ev(10, INSERT, BID, "A", 100),
        fill(20, BID, "A", 40, 60),
        ev(30, UPDATE, BID, "A", 30, 40),
        fill(50, BID, "A", 0, 30),
        ev(55, INSERT, ASK, "G", 10),
        fill(55.05, ASK, "G", 0, 10),  # gone within 100 ms, but filled: not fleeting
    ]
    config = {"advanced_metrics": [{"variant": ["AvgRestingTime", "FleetingLiquidityRatio"]}]}
    first = bucket(compute(config, rows), 1)
    assert first["AvgRestingTime"] == pytest.approx((40 + 0.05) * S / 2)
    assert first["FleetingLiquidityRatio"] == 0.0


def test_replacement_latency_pairs_a_fill_with_the_next_event_of_its_side_that_day() -> None:
    day = dt.timedelta(days=1)
    rows = [
        fill(10, BID, "A", 0, 10),
        ev(11, INSERT, ASK, "B", 5),  # other side: no pairing
        ev(12, INSERT, BID, "C", 5),  # 2 s after the bid fill
        fill(20, BID, "C", 0, 5),
        ev(25, REMOVE, BID, "D", 0, 5),  # not an insert: the fill is not replaced
        ev(26, INSERT, BID, "E", 5),
        fill(30, ASK, "B", 0, 5),
        ev(day.total_seconds() + 1, INSERT, ASK, "F", 5),  # the next day: no pairing
    ]
    frame = compute({"advanced_metrics": [{"variant": "AvgReplacementLatency"}]}, rows)
    assert bucket(frame, 1)["AvgReplacementLatency"] == 2 * S
    assert frame["AvgReplacementLatency"].drop_nulls().to_list() == [2 * S]


# --- invariants ---------------------------------------------------------------------------------

KINDS = {
    "insert": (INSERT, False),
    "remove": (REMOVE, False),
    "update": (UPDATE, False),
    "exec": (EXEC, True),
    "filled-remove": (REMOVE, True),
    "filled-update": (UPDATE, True),
}
events_strategy = st.lists(
    st.tuples(
        st.integers(0, 240_000),  # milliseconds after 10:00
        st.sampled_from(sorted(KINDS)),
        st.sampled_from([BID, ASK]),
        st.sampled_from("abcdef"),
        st.integers(0, 500),
        st.integers(0, 500),
        st.sampled_from([CONTINUOUS, CLOSING]),
    ),
    min_size=1,
    max_size=60,
    unique_by=lambda event: event[0],
)
Event = tuple[int, str, int, str, int, int, str]


def random_rows(events: list[Event]) -> list[dict[str, object]]:
    rows = []
    for ms, kind, side, order, size, old, state in events:
        action, filled = KINDS[kind]
        extra = {"OrderExecuted": filled, "ExecutionSize": old - size if filled else None}
        rows.append(ev(ms / 1000, action, side, order, size, old, MarketState=state, **extra))
    return rows


@settings(max_examples=60, deadline=None)
@given(events_strategy, st.randoms(use_true_random=False))
def test_invariants(events: list[Event], shuffler: random.Random) -> None:
    rows = random_rows(events)
    config = {"generic_metrics": [EVERYTHING], **advanced()}
    frame = compute(config, rows)
    for action in ACTIONS:
        for measure in ("Count", "Volume"):
            bid, ask = frame[f"{action}{measure}Bid"], frame[f"{action}{measure}Ask"]
            assert (bid + ask == frame[f"{action}{measure}Total"]).all()
    inserted = [size for _, kind, _, _, size, _, _ in events if kind == "insert"]
    assert frame["InsertCountTotal"].sum() == len(inserted)
    assert frame["InsertVolumeTotal"].sum() == sum(inserted)
    assert frame["RemoveCountTotal"].sum() == sum(kind == "remove" for _, kind, *_ in events)
    net = frame["UpdateInsertedVolumeTotal"] - frame["UpdateRemovedVolumeTotal"]
    assert (net == frame["UpdateVolumeTotal"]).all()
    assert frame["ArrivalFlowImbalance"].drop_nulls().is_between(-1, 1).all()
    assert frame["FleetingLiquidityRatio"].drop_nulls().is_between(0, 1).all()
    for column in ("CancelToTradeRatio", "AvgRestingTime", "AvgReplacementLatency"):
        assert (frame[column].drop_nulls() >= 0).all()
    # Every measure is computed per order over the whole input: row order does not matter.
    shuffler.shuffle(rows)
    assert compute(config, rows).equals(frame)


# --- contract -----------------------------------------------------------------------------------


class TestL3Contract(AnalyticContract):
    analytic = L3Analytic
    tables = {"l3": l3_frame(LIVES)}
    config = {
        "metric_prefix": "L3_",
        "generic_metrics": [
            {"actions": ["Insert", "UpdateRemoved"], "sides": ["Bid", "Total"]},
            {"actions": "Remove", "measures": "Volume", "sides": "Ask", "aggregations": ["Max"]},
        ],
        "advanced_metrics": [{"variant": ["CancelToTradeRatio", "AvgRestingTime"]}],
    }
    expected_columns = [
        "L3_InsertCountBid",
        "L3_InsertCountTotal",
        "L3_InsertVolumeBid",
        "L3_InsertVolumeTotal",
        "L3_UpdateRemovedCountBid",
        "L3_UpdateRemovedCountTotal",
        "L3_UpdateRemovedVolumeBid",
        "L3_UpdateRemovedVolumeTotal",
        "L3_RemoveVolumeAskMax",
        "L3_CancelToTradeRatio",
        "L3_AvgRestingTime",
    ]


class TestL3EverythingContract(AnalyticContract):
    """Every action, side and advanced metric: each documented, computed lazily, etc."""

    analytic = L3Analytic
    tables = {"l3": l3_frame(LIVES)}
    config = {"generic_metrics": [EVERYTHING], **advanced()}


class TestL3DefaultContract(AnalyticContract):
    analytic = L3Analytic
    tables = {"l3": l3_frame(EVENTS)}
    expected_columns = [
        "InsertCountBid",
        "InsertCountAsk",
        "InsertVolumeBid",
        "InsertVolumeAsk",
        "RemoveCountBid",
        "RemoveCountAsk",
        "RemoveVolumeBid",
        "RemoveVolumeAsk",
    ]


# --- oracle: a real LOBSTER message file ------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "lobster"
MESSAGES = SAMPLES / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
MIDNIGHT_UTC_NS = int(dt.datetime(2012, 6, 21, tzinfo=dt.UTC).timestamp()) * S
NEW_YORK_OFFSET_NS = 4 * 3600 * S  # EDT: UTC = New York + 4 h
WIDTH_NS = 300 * S
FLEETING_NS = 100_000_000


def label(ns: int) -> dt.datetime:
    """The 5-minute bucket (start, end] of a UTC time, labelled by its end."""
    end = -(-ns // WIDTH_NS) * WIDTH_NS
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=end // 1000)


def message_ns(time: str) -> int:
    """A LOBSTER time (seconds after midnight, New York) as UTC ns since the epoch, exactly."""
    seconds, _, fraction = time.partition(".")
    local = int(seconds) * S + int(fraction.ljust(9, "0"))
    return MIDNIGHT_UTC_NS + local + NEW_YORK_OFFSET_NS


def oracle() -> dict[dt.datetime, dict[str, float]]:
    """Per bucket: insert and deletion counts and sizes per side, and order lifetimes, from
    the message file alone (types 1 new order, 2 partial cancel, 3 deletion, 4 execution)."""
    sums: dict[dt.datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    alive: dict[str, list[int]] = {}  # order → insert ns, size inserted, size left
    with MESSAGES.open(newline="") as handle:
        for time, kind, order, size_text, _, direction in csv.reader(handle):
            ns, size = message_ns(time), int(size_text)
            at = sums[label(ns)]
            side = "Bid" if direction == "1" else "Ask"
            if kind == "1":
                at[f"InsertCount{side}"] += 1
                at[f"InsertVolume{side}"] += size
                at["_inserted"] += size
                alive[order] = [ns, size, size]
            elif kind == "3":
                at[f"RemoveCount{side}"] += 1
                at[f"RemoveVolume{side}"] += size
            if kind in ("2", "3", "4") and order in alive:
                inserted_at, inserted, left = alive[order]
                left = 0 if kind == "3" else left - size
                alive[order][2] = left
                if left == 0:
                    del alive[order]
                    at["_ended"] += 1
                    at["_resting"] += ns - inserted_at
                    if kind == "3" and ns - inserted_at < FLEETING_NS:
                        sums[label(inserted_at)]["_fleeting"] += inserted
    return sums


@pytest.fixture(scope="module")
def amzn(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("amzn")
    import_lobster([MESSAGES], root / "lake")
    options = {
        "generic_metrics": [{"actions": ["Insert", "Remove"]}],
        "advanced_metrics": [{"variant": ["AvgRestingTime", "FleetingLiquidityRatio"]}],
    }
    amzn = {"name": "amzn", "time_bucket_seconds": 300, "modules": ["l3"], "l3": options}
    return run_pass(root / "lake", amzn, root / "out.parquet", START_DATE="2012-06-21")


def test_lobster_counts_and_volumes_match_the_message_file(amzn: pl.DataFrame) -> None:
    expected = oracle()
    columns = [
        f"{a}{m}{s}"
        for a in ("Insert", "Remove")
        for m in ("Count", "Volume")
        for s in ("Bid", "Ask")
    ]
    got = {row["TimeBucket"]: row for row in amzn.to_dicts()}
    assert set(got) <= set(expected)
    for at, row in got.items():
        assert {c: row[c] for c in columns} == {c: expected[at][c] for c in columns}, at
    assert amzn["InsertCountBid"].sum() + amzn["InsertCountAsk"].sum() == 27_845
    assert amzn["RemoveCountBid"].sum() + amzn["RemoveCountAsk"].sum() == 18_235


def test_lobster_resting_time_and_fleeting_liquidity_match_the_message_file(
    amzn: pl.DataFrame,
) -> None:
    expected = oracle()
    checked = 0
    for row in amzn.to_dicts():
        sums = expected[row["TimeBucket"]]
        if sums["_ended"]:
            assert row["AvgRestingTime"] == pytest.approx(sums["_resting"] / sums["_ended"])
            checked += 1
        else:
            assert row["AvgRestingTime"] is None
        fleeting = sums["_fleeting"] / sums["_inserted"] if sums["_inserted"] else None
        assert row["FleetingLiquidityRatio"] == pytest.approx(fleeting)
    assert checked > 70
