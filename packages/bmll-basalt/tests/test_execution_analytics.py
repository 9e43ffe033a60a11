"""The execution analytic against hand-computed values, invariants on random fills and
trades, and executed volumes recomputed straight from a LOBSTER message file."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from basalt.analytics.execution import ExecutionAnalytic, ExecutionConfig
from basalt.importers.lobster import import_lobster
from basalt.testing import AnalyticContract, l3_frame, run_analytic, run_pass, trades_frame

T = dt.datetime(2024, 3, 4, 10, 0)
BID, ASK = 1, 2
BUY, SELL = 1, 2
EXEC, INSERT, REMOVE, UPDATE = 1, 2, 3, 4
CONTINUOUS, CLOSING = "CONTINUOUS_TRADING", "CLOSING_AUCTION"


def l3(
    seconds: float,
    side: int,
    size: int | None,
    price: float | None,
    action: int = EXEC,
    **extra: object,
) -> dict[str, object]:
    """An L3 row; a fill unless ``OrderExecuted`` is false on a remove or update."""
    return {
        "ListingId": 7,
        "TimestampNanoseconds": T + dt.timedelta(seconds=seconds),
        "LobAction": action,
        "Side": side,
        "OrderExecuted": action == EXEC,
        "ExecutionSize": size,
        "ExecutionPrice": price,
        "MarketState": CONTINUOUS,
        **extra,
    }


def trade(
    seconds: float,
    kind: str,
    aggressor: int | None,
    size: float,
    price: float | None,
    point: float | None,
    **extra: object,
) -> dict[str, object]:
    return {
        "ListingId": 7,
        "TradeTimestamp": T + dt.timedelta(seconds=seconds),
        "BMLLTradeType": kind,
        "AggressorSide": aggressor,
        "Size": size,
        "Price": price,
        "PricePoint": point,
        "MarketState": CONTINUOUS,
        **extra,
    }


FILLS = [
    l3(10, BID, 100, 10.0),
    l3(20, ASK, 50, 10.2, REMOVE, OrderExecuted=True),  # a fill reported as a removal
    l3(30, ASK, 30, 10.1, UPDATE, OrderExecuted=True),  # a partial fill as an update
    l3(40, ASK, None, None, REMOVE, OrderExecuted=False),  # a cancellation
    l3(50, ASK, 70, 10.5, UPDATE, OrderExecuted=None),  # an update, not flagged
    l3(55, BID, None, None, INSERT),
    l3(60, BID, 20, 9.9),  # exactly on the 10:01 edge: in the 10:01 bucket
    l3(90, BID, 40, 9.8, MarketState=CLOSING),
]
TRADES = [
    trade(5, "LIT", BUY, 100, 10.0, 1.0),
    trade(6, "LIT", BUY, 50, 10.2, 1.5),  # placement clipped to the ask
    trade(7, "LIT", SELL, 30, 9.9, 0.0),
    trade(8, "DARK", None, 200, 10.05, None),  # unknown aggressor, no PricePoint
    trade(9, "LIT", BUY, 10, 10.1, 0.5, Classification="LIT_AUCTION"),  # every classification
    trade(150, "DARK", SELL, 5, 10.0, 0.25),
]


def compute(
    config: Mapping[str, object],
    fills: list[dict[str, object]] = FILLS,
    trades: list[dict[str, object]] = TRADES,
) -> pl.DataFrame:
    tables = {"l3": l3_frame(fills), "trades": trades_frame(trades)}
    return run_analytic(ExecutionAnalytic, tables, config)


def bucket(frame: pl.DataFrame, minute: int) -> dict[str, Any]:
    rows = frame.filter(pl.col("TimeBucket") == T + dt.timedelta(minutes=minute)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_l3_executions_per_side_and_trade_imbalance() -> None:
    frame = compute({})
    first = bucket(frame, 1)
    assert (first["ExecutedVolumeBid"], first["ExecutedVolumeAsk"]) == (120, 80)
    assert first["VwapBid"] == pytest.approx((100 * 10.0 + 20 * 9.9) / 120)
    assert first["VwapAsk"] == pytest.approx((50 * 10.2 + 30 * 10.1) / 80)
    assert first["TradeImbalance"] == pytest.approx((80 - 120) / 200)
    second = bucket(frame, 2)
    assert (second["ExecutedVolumeBid"], second["ExecutedVolumeAsk"]) == (40, 0)
    assert (second["VwapBid"], second["VwapAsk"]) == (9.8, None)
    assert second["TradeImbalance"] == -1.0


def test_trade_breakdown_by_type_and_aggressor() -> None:
    frame = compute({})
    first = bucket(frame, 1)
    assert first["LitVolumeBuyAggressor"] == 160
    assert first["LitVWAPBuyAggressor"] == pytest.approx((1000 + 510 + 101) / 160)
    assert first["LitVolumeWeightedPricePlacementBuyAggressor"] == pytest.approx(150 / 160)
    assert (first["LitVolumeSellAggressor"], first["LitVWAPSellAggressor"]) == (30, 9.9)
    assert first["LitVolumeWeightedPricePlacementSellAggressor"] == -1.0
    assert (first["LitVolumeUnknownAggressor"], first["LitVWAPUnknownAggressor"]) == (0, None)
    assert first["DarkVolumeUnknownAggressor"] == 200
    assert first["DarkVWAPUnknownAggressor"] == pytest.approx(10.05)
    assert first["DarkVolumeWeightedPricePlacementUnknownAggressor"] is None
    assert first["DarkVolumeBuyAggressor"] == 0


def test_unpriced_trades_count_in_volume_and_not_in_vwap() -> None:
    trades = [
        trade(5, "LIT", BUY, 100, 10.0, 1.0),
        trade(6, "LIT", BUY, 1000, None, None),  # no Price: no TradeNotional, no LocalPrice
        trade(7, "LIT", BUY, 50, 10.3, 0.0),
    ]
    config = {"trade_breakdown": [{"trade_types": "LIT", "aggressor_sides": "Buy"}]}
    row = bucket(compute(config, fills=[], trades=trades), 1)
    assert row["LitVolumeBuyAggressor"] == 1150
    assert row["LitVWAPBuyAggressor"] == pytest.approx((1000 + 515) / 150, rel=1e-12)
    assert row["LitVolumeWeightedPricePlacementBuyAggressor"] == pytest.approx(50 / 150)


def test_sums_keep_nine_decimals() -> None:
    fills = [l3(10, BID, 1, 10.000012345), l3(20, BID, 2, 10.000054321)]
    trades = [trade(5, "DARK", SELL, 0.5, 1.0, None), trade(6, "DARK", SELL, 0.0000125, 1.0, None)]
    config = {
        "l3_execution": [{"sides": "Bid"}],
        "trade_breakdown": [
            {"trade_types": "DARK", "aggressor_sides": "Sell", "measures": "Volume"}
        ],
    }
    row = bucket(compute(config, fills, trades), 1)
    assert row["ExecutedVolumeBid"] == 3
    vwap = (10.000012345 + 2 * 10.000054321) / 3
    assert row["VwapBid"] == pytest.approx(vwap, rel=1e-12, abs=0)
    assert row["DarkVolumeSellAggressor"] == 0.5000125


def test_buckets_of_either_input_join_without_leftovers() -> None:
    frame = compute({})
    assert frame.columns == ["ListingId", "TimeBucket", *ExecutionConfig().output_columns()]
    assert not [c for c in frame.columns if c.endswith("_right")]
    assert frame["TimeBucket"].dt.minute().to_list() == [1, 2, 3]
    second, third = bucket(frame, 2), bucket(frame, 3)  # fills only, trades only
    assert (second["LitVolumeBuyAggressor"], second["LitVWAPBuyAggressor"]) == (0, None)
    assert (third["ExecutedVolumeBid"], third["VwapBid"], third["TradeImbalance"]) == (
        0,
        None,
        None,
    )
    assert third["DarkVolumeSellAggressor"] == 5
    assert third["DarkVolumeWeightedPricePlacementSellAggressor"] == -0.5


def test_defaults() -> None:
    names = ExecutionConfig().output_columns()
    assert names[:5] == [
        "ExecutedVolumeBid",
        "ExecutedVolumeAsk",
        "VwapBid",
        "VwapAsk",
        "LitVolumeBuyAggressor",
    ]
    assert len(names) == 4 + 2 * 3 * 3 + 1 and names[-1] == "TradeImbalance"


def test_one_family_reads_one_input() -> None:
    config = {"l3_execution": [{"measures": "ExecutedVolume", "sides": "Ask"}]}
    frame = compute(config, trades=[])
    assert frame.columns == ["ListingId", "TimeBucket", "ExecutedVolumeAsk"]
    assert frame["ExecutedVolumeAsk"].to_list() == [80, 0]
    config = {"trade_breakdown": [{"trade_types": "DARK", "measures": "Volume"}]}
    frame = compute(config, fills=[])
    assert frame["DarkVolumeSellAggressor"].to_list() == [0, 5]


def test_market_states_prefix_and_patterns() -> None:
    config = {
        "metric_prefix": "X_",
        "market_states": CONTINUOUS,
        "l3_execution": [
            {"measures": "ExecutedVolume"},
            {
                "measures": "ExecutedVolume",
                "market_states": [CONTINUOUS, CLOSING],
                "output_name_pattern": "All{measure}{side}",
            },
        ],
        "derived_metrics": [{}],
    }
    second = bucket(compute(config), 2)
    assert (second["X_ExecutedVolumeBid"], second["X_AllExecutedVolumeBid"]) == (0, 40)
    assert second["X_TradeImbalance"] is None
    with pytest.raises(ValidationError, match="produced twice"):
        ExecutionConfig.model_validate({"l3_execution": [{}, {"sides": "Bid"}]})
    with pytest.raises(ValidationError, match=r"may only use \{trade_type\}"):
        ExecutionConfig.model_validate({"trade_breakdown": [{"output_name_pattern": "{side}"}]})
    round_trip = ExecutionConfig.model_validate(ExecutionConfig().model_dump())
    assert round_trip == ExecutionConfig()


# --- invariants ---------------------------------------------------------------------------------

fills_strategy = st.lists(
    st.tuples(
        st.integers(0, 180_000),  # milliseconds after 10:00
        st.sampled_from([BID, ASK]),
        st.integers(1, 1_000),
        st.integers(900, 1_100),  # cents
        st.sampled_from([EXEC, REMOVE, UPDATE]),
    ),
    max_size=40,
)
trades_strategy = st.lists(
    st.tuples(
        st.integers(0, 180_000),
        st.sampled_from(["LIT", "DARK", "OFF_BOOK"]),
        st.sampled_from([BUY, SELL, 0, None]),
        st.integers(1, 1_000),
        st.integers(900, 1_100),
        st.one_of(st.none(), st.floats(-0.5, 1.5)),
    ),
    max_size=40,
)


def _bounds(
    frame: pl.LazyFrame, price: str, *keys: str
) -> dict[tuple[Any, ...], tuple[float, float]]:
    rows = frame.group_by("TimeBucket", *keys).agg(
        pl.col(price).min().alias("_low"), pl.col(price).max().alias("_high")
    )
    return {tuple(r[:-2]): (r[-2], r[-1]) for r in rows.collect().rows()}


@settings(max_examples=60, deadline=None)
@given(fills_strategy, trades_strategy)
def test_invariants(
    fills: list[tuple[int, int, int, int, int]],
    trades: list[tuple[int, str, int | None, int, int, float | None]],
) -> None:
    fill_rows = [
        l3(ms / 1000, side, size, cents / 100, action, OrderExecuted=True)
        for ms, side, size, cents, action in fills
    ]
    trade_rows = [
        trade(ms / 1000, kind, aggressor, size, cents / 100, point)
        for ms, kind, aggressor, size, cents, point in trades
    ]
    if not fill_rows and not trade_rows:
        return
    frame = compute({}, fill_rows, trade_rows)
    assert frame.select("TimeBucket").is_duplicated().sum() == 0
    executed = frame["ExecutedVolumeBid"].sum() + frame["ExecutedVolumeAsk"].sum()
    assert executed == sum(size for _, _, size, _, _ in fills)
    assert frame["TradeImbalance"].drop_nulls().is_between(-1, 1).all()
    volumes = [c for c in frame.columns if "Volume" in c and c.endswith("Aggressor")]
    volumes = [c for c in volumes if "Placement" not in c]
    traded = sum(size for _, kind, _, size, _, _ in trades if kind != "OFF_BOOK")
    assert frame.select(pl.sum_horizontal(volumes)).to_series().sum() == traded
    for column in (c for c in frame.columns if "Placement" in c):
        assert frame[column].drop_nulls().is_between(-1, 1).all()
    eps = 1e-9
    fill_bounds = _bounds(l3_frame(fill_rows), "ExecutionPrice", "Side")
    trade_bounds = _bounds(
        trades_frame(trade_rows).with_columns(pl.col("AggressorSide").fill_null(0)),
        "LocalPrice",
        "BMLLTradeType",
        "AggressorSide",
    )
    for row in frame.to_dicts():
        for side, code in (("Bid", BID), ("Ask", ASK)):
            if row[f"Vwap{side}"] is not None:
                low, high = fill_bounds[(row["TimeBucket"], code)]
                assert low - eps <= row[f"Vwap{side}"] <= high + eps
        for kind in ("LIT", "DARK"):
            for aggressor, code in (("Buy", BUY), ("Sell", SELL), ("Unknown", 0)):
                vwap = row[f"{kind.title()}VWAP{aggressor}Aggressor"]
                if vwap is not None:
                    low, high = trade_bounds[(row["TimeBucket"], kind, code)]
                    assert low - eps <= vwap <= high + eps


# --- contract -----------------------------------------------------------------------------------


class TestExecutionContract(AnalyticContract):
    analytic = ExecutionAnalytic
    tables = {"l3": l3_frame(FILLS), "trades": trades_frame(TRADES)}
    expected_columns = [
        *("ExecutedVolumeBid", "ExecutedVolumeAsk", "VwapBid", "VwapAsk", "TradeImbalance"),
        *(
            f"{kind}{measure}{aggressor}Aggressor"
            for kind in ("Lit", "Dark")
            for measure in ("Volume", "VWAP", "VolumeWeightedPricePlacement")
            for aggressor in ("Buy", "Sell", "Unknown")
        ),
    ]


class TestExecutionFamiliesContract(AnalyticContract):
    analytic = ExecutionAnalytic
    tables = {"l3": l3_frame(FILLS), "trades": trades_frame(TRADES)}
    config = {
        "metric_prefix": "E_",
        "l3_execution": [{"sides": "Ask", "market_states": CONTINUOUS}],
        "trade_breakdown": [{"trade_types": "LIT", "aggressor_sides": ["Buy", "Sell"]}],
    }
    expected_columns = [
        "E_ExecutedVolumeAsk",
        "E_VwapAsk",
        "E_LitVolumeBuyAggressor",
        "E_LitVolumeSellAggressor",
        "E_LitVWAPBuyAggressor",
        "E_LitVWAPSellAggressor",
        "E_LitVolumeWeightedPricePlacementBuyAggressor",
        "E_LitVolumeWeightedPricePlacementSellAggressor",
    ]


# --- oracle: a real LOBSTER message file ------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "lobster"
MESSAGES = SAMPLES / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
S = 1_000_000_000
MIDNIGHT_UTC_NS = int(dt.datetime(2012, 6, 21, tzinfo=dt.UTC).timestamp()) * S
NEW_YORK_OFFSET_NS = 4 * 3600 * S  # EDT: UTC = New York + 4 h
WIDTH_NS = 300 * S


def oracle() -> dict[dt.datetime, dict[str, float]]:
    """Per 5-minute bucket: executed sizes and values per side of the resting order (visible
    executions, type 4) and traded sizes per aggressor (types 4 and 5)."""
    sums: dict[dt.datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with MESSAGES.open(newline="") as handle:
        for time, kind, _, size_text, price, direction in csv.reader(handle):
            seconds, _, fraction = time.partition(".")
            ns = (
                MIDNIGHT_UTC_NS
                + NEW_YORK_OFFSET_NS
                + int(seconds) * S
                + int(fraction.ljust(9, "0"))
            )
            end = -(-ns // WIDTH_NS) * WIDTH_NS
            at = sums[dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=end // 1000)]
            size = int(size_text)
            if kind == "4":
                side = "Bid" if direction == "1" else "Ask"
                at[f"ExecutedVolume{side}"] += size
                at[f"_value{side}"] += size * int(price) / 10_000
            if kind in ("4", "5"):
                # Executing a resting sell order (direction -1) is a buyer-initiated trade.
                aggressor = "Buy" if direction == "-1" else "Sell"
                at[f"LitVolume{aggressor}Aggressor"] += size
    return sums


@pytest.fixture(scope="module")
def amzn(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("amzn")
    import_lobster([MESSAGES], root / "lake")
    amzn = {"name": "amzn", "time_bucket_seconds": 300, "modules": ["execution"]}
    return run_pass(root / "lake", amzn, root / "out.parquet", START_DATE="2012-06-21")


def test_lobster_executions_match_the_message_file(amzn: pl.DataFrame) -> None:
    expected = oracle()
    assert amzn.height == len(expected) > 70
    for row in amzn.to_dicts():
        sums = expected[row["TimeBucket"]]
        for side in ("Bid", "Ask"):
            volume = sums[f"ExecutedVolume{side}"]
            assert row[f"ExecutedVolume{side}"] == volume
            vwap = sums[f"_value{side}"] / volume if volume else None
            assert row[f"Vwap{side}"] == pytest.approx(vwap, rel=1e-12)
        for aggressor in ("Buy", "Sell"):
            column = f"LitVolume{aggressor}Aggressor"
            assert row[column] == sums[column]
        assert row["DarkVolumeBuyAggressor"] == row["LitVolumeUnknownAggressor"] == 0
    assert amzn["ExecutedVolumeBid"].sum() + amzn["ExecutedVolumeAsk"].sum() == sum(
        sums["ExecutedVolumeBid"] + sums["ExecutedVolumeAsk"] for sums in expected.values()
    )
