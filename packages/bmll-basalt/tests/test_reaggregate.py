"""The reaggregate analytic: listing metrics combined into groups, by hand-computed values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from basalt.analytics.reaggregate import ReaggregateAnalytic, ReaggregateConfig, default_rule
from basalt.catalog import pipeline_columns
from basalt.config.loading import validate_config
from basalt.errors import ConfigError
from basalt.plugins import get_registry
from basalt.testing import AnalyticContract, run_analytic
from basalt.timebuckets import BucketSpec

T = dt.datetime(2024, 3, 4, 10, 1)
LATER = T + dt.timedelta(minutes=1)
SOURCE = pl.LazyFrame(
    {
        "ListingId": [1, 2, 3, 1, 2],
        "TimeBucket": [T, T, T, LATER, LATER],
        "MIC": ["XLON", "XPAR", "XLON", "XLON", "XPAR"],
        "TradeTotalVolume": [10.0, 30.0, 5.0, 20.0, 10.0],
        "TradeTotalNotionalEUR": [100.0, 300.0, 50.0, 220.0, 100.0],
        "TradeTotalVWAP": [10.0, 10.0, 10.0, 11.0, None],
        "Other": [1.0, 3.0, 7.0, 2.0, 2.0],
    },
    schema_overrides={"TimeBucket": pl.Datetime("ns")},
)
MEMBERS = pl.LazyFrame({"ListingId": [1, 2, 3, 1], "IndexId": ["A", "A", "B", "B"]})


def compute(config: Mapping[str, object]) -> pl.DataFrame:
    return run_analytic(
        ReaggregateAnalytic,
        {"minute": SOURCE, "members": MEMBERS},
        {"source_pass": "minute", "group_pass": "members", **config},
        input_buckets={"minute": BucketSpec(60)},
    )


def group_rows(frame: pl.DataFrame, column: str, value: str, at: dt.datetime) -> dict[str, object]:
    [row] = frame.filter(pl.col(column) == value, pl.col("TimeBucket") == at).to_dicts()
    return row


def group(frame: pl.DataFrame, index: str, at: dt.datetime) -> dict[str, object]:
    return group_rows(frame, "IndexId", index, at)


def test_sums_weighted_means_and_means_per_group_and_bucket() -> None:
    frame = compute({"weight_mode": "bucket"})
    assert frame.columns == [
        "IndexId",
        "TimeBucket",
        "TradeTotalVolume",
        "TradeTotalNotionalEUR",
        "TradeTotalVWAP",
        "Other",
    ]
    a = group(frame, "A", T)
    assert (a["TradeTotalVolume"], a["TradeTotalNotionalEUR"], a["Other"]) == (40.0, 400.0, 2.0)
    assert a["TradeTotalVWAP"] == pytest.approx(10.0)
    # Listing 2's VWAP is unknown at 10:02: only listing 1 weighs in.
    assert group(frame, "A", LATER)["TradeTotalVWAP"] == pytest.approx(11.0)
    # Listing 1 is in A and B: it counts in both.
    b = group(frame, "B", T)
    assert b["TradeTotalVolume"] == 15.0
    assert b["TradeTotalVWAP"] == pytest.approx((10 * 100 + 10 * 50) / 150)


def test_daily_weights_are_each_listings_day_total() -> None:
    source = SOURCE.with_columns(
        pl.when(pl.col("ListingId") == 2)
        .then(12.0)
        .otherwise(pl.col("TradeTotalVWAP"))
        .alias("TradeTotalVWAP")
    )
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": source, "members": MEMBERS},
        {"source_pass": "minute", "group_pass": "members"},
        input_buckets={"minute": BucketSpec(60)},
    )
    # Day totals: listing 1 320, listing 2 400 (bucket notionals 100 / 300 at 10:01).
    assert group(frame, "A", T)["TradeTotalVWAP"] == pytest.approx((10 * 320 + 12 * 400) / 720)


DAY2 = T + dt.timedelta(days=1)
MIDNIGHT = dt.datetime(2024, 3, 5)  # the minute (23:59, 00:00] of 2024-03-04
TWO_DAYS = pl.LazyFrame(
    {
        "ListingId": [1, 1, 2, 2, 1, 2],
        "TimeBucket": [T, LATER, T, MIDNIGHT, DAY2, DAY2],
        "TradeTotalNotionalEUR": [100.0, 300.0, 100.0, 400.0, 50.0, 450.0],
        "TradeTotalVWAP": [10.0, 11.0, 20.0, 21.0, 12.0, 22.0],
    },
    schema_overrides={"TimeBucket": pl.Datetime("ns")},
)


@pytest.mark.parametrize("mode", ["daily", "bucket"])
def test_weights_of_several_days(mode: str) -> None:
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": TWO_DAYS, "members": pl.LazyFrame({"ListingId": [1, 2], "IndexId": "A"})},
        {"source_pass": "minute", "group_pass": "members", "weight_mode": mode},
        input_buckets={"minute": BucketSpec(60)},
    )
    day1, day2 = group(frame, "A", T), group(frame, "A", DAY2)
    assert (day1["TradeTotalNotionalEUR"], day2["TradeTotalNotionalEUR"]) == (200.0, 500.0)
    if mode == "daily":
        # Day totals: 2024-03-04 listing 1 400, listing 2 500 (its midnight bucket included);
        # 2024-03-05 listing 1 50, listing 2 450.
        assert day1["TradeTotalVWAP"] == pytest.approx((10 * 400 + 20 * 500) / 900, rel=1e-12)
    else:
        assert day1["TradeTotalVWAP"] == pytest.approx((10 * 100 + 20 * 100) / 200, rel=1e-12)
    assert day2["TradeTotalVWAP"] == pytest.approx((12 * 50 + 22 * 450) / 500, rel=1e-12)
    assert group(frame, "A", MIDNIGHT)["TradeTotalVWAP"] == pytest.approx(21.0, rel=1e-12)


def test_resampling_and_explicit_rules(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    MEMBERS.collect().write_csv(members)
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": SOURCE},
        {
            "source_pass": "minute",
            "group_file": str(members),
            "resample_rule": "5m",
            "aggregations": {"Other": "max", "TradeTotalVolume": "last"},
        },
        input_buckets={"minute": BucketSpec(60)},
    )
    a = group(frame, "A", T.replace(minute=5))
    assert (a["Other"], a["TradeTotalVolume"]) == (3.0, 10.0)  # last: 10:02, listing 2


QUOTED = pl.DataFrame({"ListingId": [1, 2, 3], "CurrencyCode": ["GBX", "EUR", "GBX"]})
"""Listing 2 quotes in euros, the others in pence: index A (1, 2) mixes them, B (3, 1) not."""


def test_combining_prices_of_listings_in_different_currencies_warns() -> None:
    config = {"source_pass": "minute", "group_pass": "members"}
    tables = {"minute": SOURCE, "members": MEMBERS}
    with pytest.warns(UserWarning) as caught:
        run_analytic(
            ReaggregateAnalytic,
            tables,
            config,
            universe=QUOTED,
            input_buckets={"minute": BucketSpec(60)},
        )
    [warning] = caught
    assert str(warning.message).startswith(
        "reaggregate: combining TradeTotalVWAP mixes currencies, in IndexId=A (EUR/GBX); "
    )


@pytest.mark.parametrize(
    ("universe", "members"),
    [
        (QUOTED, pl.LazyFrame({"ListingId": [1, 3], "IndexId": ["A", "A"]})),  # pence only
        (QUOTED.with_columns(CurrencyCode=pl.lit("EUR")), MEMBERS),
        (QUOTED.drop("CurrencyCode"), MEMBERS),
    ],
)
def test_combining_prices_in_one_currency_does_not_warn(
    universe: pl.DataFrame, members: pl.LazyFrame
) -> None:
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": SOURCE, "members": members},
        {"source_pass": "minute", "group_pass": "members"},
        universe=universe,
        input_buckets={"minute": BucketSpec(60)},
    )
    assert frame.height > 0


def test_combining_volumes_of_listings_in_different_currencies_does_not_warn() -> None:
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": SOURCE.drop("TradeTotalVWAP"), "members": MEMBERS},
        {"source_pass": "minute", "group_pass": "members"},
        universe=QUOTED,
        input_buckets={"minute": BucketSpec(60)},
    )
    assert group(frame, "A", T)["TradeTotalVolume"] == 40.0


def test_default_rules() -> None:
    rules = {
        c: default_rule(c)
        for c in ("TradeTotalVWAP", "SpreadBps", "ImbalanceOrders5", "TradeTotalCount", "X")
    }
    assert rules == {
        "TradeTotalVWAP": "weighted_mean",
        "SpreadBps": "weighted_mean",
        "ImbalanceOrders5": "weighted_mean",
        "TradeTotalCount": "sum",
        "X": "mean",
    }


def test_exactly_one_membership_map() -> None:
    with pytest.raises(ValidationError, match="one of group_pass, group_file"):
        ReaggregateConfig.model_validate({"group_pass": "m", "group_file": "m.csv"})
    passes = [
        {"name": "minute", "modules": ["trade"]},
        {"name": "index", "modules": ["reaggregate"], "reaggregate": {"source_pass": "minute"}},
    ]
    with pytest.raises(
        ConfigError, match=r"PASSES\[1\].reaggregate: the membership map is missing"
    ):
        validate_config({"START_DATE": "2024-03-04", "PASSES": passes})


class TestReaggregateContract(AnalyticContract):
    analytic = ReaggregateAnalytic
    tables = {"minute": SOURCE, "members": MEMBERS}
    input_buckets = {"minute": BucketSpec(60)}
    config = {"source_pass": "minute", "group_pass": "members"}
    expected_columns = ["TradeTotalVolume", "TradeTotalNotionalEUR", "TradeTotalVWAP", "Other"]


def test_columns_keep_the_earlier_pass_documentation(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    MEMBERS.collect().write_csv(members)
    config = validate_config(
        {
            "START_DATE": "2024-03-04",
            "PASSES": [
                {"name": "minute", "modules": ["trade"]},
                {
                    "name": "index",
                    "modules": ["reaggregate"],
                    "reaggregate": {"source_pass": "minute", "group_file": str(members)},
                },
            ],
        }
    )
    entries = [e for e in pipeline_columns(config, get_registry()) if e.pass_name == "index"]
    assert [e.column.name for e in entries][:3] == ["IndexId", "TimeBucket", "TradeTotalVolume"]
    assert [e.column.name for e in entries if e.column.doc is None] == ["IndexId"]
    volume = next(e for e in entries if e.column.name == "TradeTotalVolume")
    assert volume.column.definition == "Σ Size of the bucket's Total trades"


def test_a_membership_map_by_ticker() -> None:
    source = SOURCE.with_columns(pl.format("T{}", pl.col("ListingId")).alias("Ticker"))
    members = pl.LazyFrame({"Ticker": ["T1", "T2"], "Sector": ["S", "S"]})
    frame = run_analytic(
        ReaggregateAnalytic,
        {"minute": source, "members": members},
        {
            "source_pass": "minute",
            "group_pass": "members",
            "join_column": "Ticker",
            "group_column": "Sector",
        },
        input_buckets={"minute": BucketSpec(60)},
    )
    assert group_rows(frame, "Sector", "S", T)["TradeTotalVolume"] == 40.0
