"""Time modes: sparse, dense (adaptive and uniform sessions), daily, and forward fill."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from basalt.config.loading import validate_config
from basalt.errors import ConfigError
from basalt.tables.bmll import MarketStateTable, TradesTable
from basalt.testing import run_pass
from basalt.timebuckets import BucketSpec
from basalt.timeline import DAILY_BUCKET, DenseConfig, dense_grid, forward_fill

DAY = dt.date(2024, 3, 4)
T = dt.datetime(2024, 3, 4)
MINUTE = BucketSpec(60)


def at(clock: str) -> dt.datetime:
    hours, minutes, *seconds = (int(x) for x in clock.split(":"))
    return T.replace(hour=hours, minute=minutes, second=seconds[0] if seconds else 0)


def states(listing: int, *changes: tuple[str, str]) -> list[dict[str, object]]:
    return [
        {"ListingId": listing, "TimestampNanoseconds": at(clock), "MarketState": state}
        for clock, state in changes
    ]


XLON_DAY = (
    ("07:00", "CLOSED"),
    ("07:50", "OPENING_AUCTION"),
    ("08:00:16", "CONTINUOUS_TRADING"),
    ("16:30", "CLOSING_AUCTION"),
    ("16:35", "CLOSED"),
)


def trade_row(
    listing: int, when: dt.datetime, side: int, size: int, price: float
) -> dict[str, object]:
    notional = size * price
    return {
        "ListingId": listing,
        "TradeTimestamp": when,
        "AggressorSide": side,
        "Size": float(size),
        "Price": price,
        "TradeNotional": notional,
        "TradeNotionalEUR": notional,
        "Classification": "LIT_CONTINUOUS",
    }


def market_state(rows: list[dict[str, object]]) -> pl.LazyFrame:
    frame = pl.DataFrame(rows, schema_overrides={"TimestampNanoseconds": pl.Datetime("ns")})
    return MarketStateTable.normalise(frame.lazy())


def labels(grid: pl.LazyFrame, listing: int) -> list[dt.datetime]:
    frame = grid.filter(pl.col("ListingId") == listing).collect()
    return frame["TimeBucket"].to_list()


def test_adaptive_session_is_continuous_trading_padded() -> None:
    rows = states(1, *XLON_DAY) + states(2, ("07:00", "CLOSED"))  # 2 never trades
    rows += states(3, ("09:00", "CONTINUOUS_TRADING"), ("09:30:00", "HALTED"))
    rows += states(3, ("10:00", "CONTINUOUS_TRADING"), ("11:00:01", "CLOSED"))
    grid = dense_grid(DenseConfig(), MINUTE, DAY, [1, 2, 3], market_state(rows))
    first = labels(grid, 1)
    assert (len(first), first[0], first[-1]) == (531, at("07:50"), at("16:40"))
    assert labels(grid, 2) == []
    third = labels(grid, 3)  # from the first continuous start to the last continuous end
    assert (third[0], third[-1], len(third)) == (at("08:50"), at("11:11"), 142)


def test_uniform_session_labels_follow_the_anchor() -> None:
    config = DenseConfig(mode="uniform", time_interval=("08:00", "16:30"))
    by_end = labels(dense_grid(config, MINUTE, DAY, [5], None), 5)
    assert (len(by_end), by_end[0], by_end[-1]) == (510, at("08:01"), at("16:30"))
    by_start = labels(dense_grid(config, BucketSpec(60, "start", "left"), DAY, [5], None), 5)
    assert (len(by_start), by_start[0], by_start[-1]) == (510, at("08:00"), at("16:29"))


def test_dense_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="uniform needs a time_interval"):
        DenseConfig(mode="uniform")
    with pytest.raises(ValidationError, match="must end after it starts"):
        DenseConfig(mode="uniform", time_interval=("10:00", "09:00"))
    assert DenseConfig.model_validate({"mode": "adaptative"}).mode == "adaptive"


def test_forward_fill_of_selected_columns_per_listing() -> None:
    frame = pl.LazyFrame(
        {
            "ListingId": [1, 1, 1, 2],
            "TimeBucket": [1, 2, 3, 1],
            "BidPrice1": [10.0, None, None, None],
            "TradeTotalVolume": [5.0, None, None, None],
        }
    )
    filled = forward_fill(frame, ["*Price1"], ["ListingId", "TimeBucket"]).collect()
    assert filled["BidPrice1"].to_list() == [10.0, 10.0, 10.0, None]
    assert filled["TradeTotalVolume"].to_list() == [5.0, None, None, None]


# -- through the runner ---------------------------------------------------------------------


def run(lake: Path, out: Path, **pass_options: object) -> pl.DataFrame:
    trade = {"generic_metrics": [{"measures": ["Volume", "VWAP"]}]}
    one = {"name": "p1", "modules": ["trade"], "trade": trade, **pass_options}
    return run_pass(lake, one, out / "p1.parquet", START_DATE=DAY.isoformat(), UNIVERSE="mic=XLON")


@pytest.fixture
def session_lake(small_lake: Path, write_table: Callable[..., str]) -> Path:
    """The small lake with XLON market states and a trade before the session."""
    write_table(MarketStateTable, "XLON", DAY, states(1, *XLON_DAY) + states(2, *XLON_DAY))
    early = trade_row(1, at("07:00:30"), 1, 1, 9.0)
    write_table(
        TradesTable,
        "XLON",
        DAY,
        [
            early,
            trade_row(1, at("09:00:10"), 1, 100, 10.0),
            trade_row(1, at("09:00:50"), 2, 300, 10.4),
            trade_row(2, at("09:01:10"), 1, 5, 20.0),
        ],
    )
    return small_lake


def test_daily_mode_gives_one_bucket_per_listing_and_day(
    session_lake: Path, tmp_path: Path
) -> None:
    frame = run(session_lake, tmp_path, timeline_mode="daily_analytics")
    assert frame.select("ListingId", "TimeBucket", "TradeTotalVolume").rows() == [
        (1, T, 401.0),
        (2, T, 5.0),
    ]
    assert frame["TradeTotalVWAP"][0] == pytest.approx((9 + 1000 + 3120) / 401)


def test_dense_mode_adds_the_quiet_buckets_of_the_session(
    session_lake: Path, tmp_path: Path
) -> None:
    sparse = run(session_lake, tmp_path / "sparse")
    dense = run(session_lake, tmp_path / "dense", timeline_mode="dense", forward_fill=["*VWAP"])
    first = dense.filter(pl.col("ListingId") == 1)
    assert first.height == 531 + 1  # the session's buckets and the early trade's
    assert first["TimeBucket"][0] == at("07:01")
    assert first["TimeBucket"][1] == at("07:50") and first["TimeBucket"][-1] == at("16:40")
    # Rows with data are those of the sparse run; the others have no volume.
    with_data = dense.filter(pl.col("TradeTotalVolume").is_not_null())
    assert with_data.drop("TradeTotalVWAP").equals(sparse.drop("TradeTotalVWAP"))
    # VWAP is carried forward over the quiet buckets after 09:01 until the session's end.
    last = first.filter(pl.col("TimeBucket") == at("16:40"))
    assert last["TradeTotalVWAP"].to_list() == pytest.approx([4120 / 400])
    assert dense.filter(pl.col("ListingId") == 2).height == 531
    assert set(dense.columns) >= {"MIC", "Ticker"}
    assert dense.filter(pl.col("MIC").is_null()).is_empty()


def test_an_unknown_time_mode_is_a_config_error() -> None:
    raw = {"START_DATE": "2024-03-04", "PASSES": [{"name": "p", "modules": ["trade"]}]}
    raw["PASSES"][0]["timeline_mode"] = "hourly"  # type: ignore[index]
    with pytest.raises(ConfigError, match="timeline_mode: 'hourly' is not allowed"):
        validate_config(raw)
    daily = {**raw, "PASSES": [{"name": "p", "modules": ["trade"], "timeline_mode": "daily"}]}
    assert validate_config(daily).PASSES[0].bucket(60.0) == DAILY_BUCKET
