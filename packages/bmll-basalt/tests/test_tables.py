"""Tables: lake paths, lazy scans of only the requested files, normalisation, schema checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from basalt.errors import TableSchemaError
from basalt.lake import Lake
from basalt.tables import (
    L2Table,
    L3Table,
    MarketStateTable,
    ReferenceTable,
    TradesTable,
    bmll_schema,
)
from basalt.timebuckets import BucketSpec

DAY = dt.date(2024, 3, 4)


def test_lake_paths_follow_the_bmll_layout() -> None:
    lake = Lake("/lake")
    assert (
        TradesTable.path(lake, "XLON", DAY)
        == "/lake/Trades-Plus/XLON/2024/03/04/trades-plus-XLON-20240304.parquet"
    )
    assert L2Table.path(lake, "XPAR", DAY) == "/lake/Equity/XPAR/2024/03/04/XPAR-20240304.parquet"
    assert (
        L3Table.path(lake, "XLON", DAY)
        == "/lake/Equity-L3/XLON/2024/03/04/l3-XLON-20240304.parquet"
    )
    assert MarketStateTable.path(lake, "XLON", DAY).endswith(
        "MarketState/XLON/2024/03/04/market-state-XLON-20240304.parquet"
    )
    assert ReferenceTable.path(lake, "XLON", DAY).endswith(
        "Reference/XLON/2024/03/04/reference-XLON-20240304.parquet"
    )


def test_shipped_schemas_match_bmll() -> None:
    assert len(bmll_schema("trades-plus")) == 152
    assert bmll_schema("l2")["EventTimestamp"] == pl.Datetime("us")
    assert bmll_schema("l3")["TimestampNanoseconds"] == pl.Datetime("ns")
    assert bmll_schema("trades-plus")["BrokerIdBuyer"] == pl.Null


def test_scan_normalises_timestamps_and_adds_buckets(small_lake: Path) -> None:
    frame = TradesTable.scan(
        Lake(str(small_lake)), ["XLON"], [DAY], bucket=BucketSpec(60)
    ).collect()
    assert frame.schema["TradeTimestamp"] == pl.Datetime("ns")
    assert frame.schema["TimeBucket"] == pl.Datetime("ns")
    assert frame["LocalPrice"].to_list() == [10.0, 10.4, 20.0]
    assert frame["TimeBucket"].to_list() == [dt.datetime(2024, 3, 4, 9, 1)] * 2 + [
        dt.datetime(2024, 3, 4, 9, 2)
    ]


def test_scan_filters_listings_and_is_lazy(small_lake: Path) -> None:
    lazy = TradesTable.scan(Lake(str(small_lake)), ["XLON", "XPAR"], [DAY], listing_ids=[1, 3])
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.select("ListingId").collect()["ListingId"].to_list() == [1, 1, 3]


def test_only_requested_files_are_touched(small_lake: Path) -> None:
    lake = Lake(str(small_lake))
    Path(TradesTable.path(lake, "XPAR", DAY)).write_bytes(b"corrupt, but never read")
    other_day = Path(TradesTable.path(lake, "XLON", DAY + dt.timedelta(days=1)))
    other_day.parent.mkdir(parents=True)
    other_day.write_bytes(b"corrupt too")
    assert TradesTable.scan(lake, ["XLON"], [DAY]).collect().height == 3


def test_missing_days_and_mics_give_an_empty_frame_with_the_schema(small_lake: Path) -> None:
    frame = TradesTable.scan(Lake(str(small_lake)), ["XAMS"], [DAY], bucket=BucketSpec()).collect()
    assert frame.is_empty() and {"LocalPrice", "TimeBucket", "TradeNotionalEUR"} <= set(
        frame.columns
    )


def test_missing_required_columns_name_the_file(small_lake: Path) -> None:
    path = TradesTable.path(Lake(str(small_lake)), "XLON", DAY)
    pl.read_parquet(path).drop("Price", "TradeTimestamp").write_parquet(path)
    with pytest.raises(TableSchemaError) as info:
        TradesTable.scan(Lake(str(small_lake)), ["XLON"], [DAY])
    expected = "the trades table requires column(s) TradeTimestamp, Price, which this file"
    assert str(info.value) == f"{path}: {expected} does not have"


def test_optional_columns_are_added_and_drifted_dtypes_cast(small_lake: Path) -> None:
    path = TradesTable.path(Lake(str(small_lake)), "XLON", DAY)
    frame = pl.read_parquet(path)
    frame.select(
        "ListingId", "TradeTimestamp", "Price", pl.col("Size").cast(pl.Int64), "TradeNotional"
    ).write_parquet(path)
    scanned = TradesTable.scan(Lake(str(small_lake)), ["XLON"], [DAY]).collect()
    assert scanned.schema["Size"] == pl.Float64
    assert (
        scanned["Classification"].null_count() == 3
        and scanned.schema["Classification"] == pl.String
    )


def test_nanosecond_timestamps_keep_their_precision(small_lake: Path) -> None:
    path = TradesTable.path(Lake(str(small_lake)), "XLON", DAY)
    exact = pl.col("TradeTimestamp").cast(pl.Datetime("ns")) + pl.duration(nanoseconds=789)
    pl.read_parquet(path).with_columns(exact.alias("TradeTimestampNanoseconds")).write_parquet(path)
    expected = pl.read_parquet(path)["TradeTimestampNanoseconds"].dt.epoch("ns")
    scanned = TradesTable.scan(Lake(str(small_lake)), ["XLON"], [DAY]).collect()
    assert scanned["TradeTimestamp"].dt.epoch("ns").to_list() == expected.to_list()
    assert all(ns % 1000 == 789 for ns in expected)
