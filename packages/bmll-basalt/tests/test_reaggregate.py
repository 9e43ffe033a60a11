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
