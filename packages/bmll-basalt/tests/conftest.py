"""Fixtures of the kernel tests: a tiny hand-written lake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from basalt.lake import Lake
from basalt.tables import DataTable, ReferenceTable, TradesTable

pytest_plugins = ["basalt.testing"]

WriteTable = Callable[[type[DataTable], str, dt.date, list[dict[str, object]]], str]
DAY = dt.date(2024, 3, 4)


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def write_table(lake_root: Path) -> WriteTable:
    """Write rows as the lake file of a table, MIC and day, in the table's exact schema."""

    def write(table: type[DataTable], mic: str, day: dt.date, rows: list[dict[str, object]]) -> str:
        schema = table.schema()
        frame = pl.DataFrame(
            [{c: row.get(c) for c in schema.names()} for row in rows], schema=schema
        )
        path = Path(table.path(Lake(str(lake_root)), mic, day))
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
        return str(path)

    return write


def reference_row(listing: int, mic: str, ticker: str) -> dict[str, object]:
    return {
        "ListingId": listing,
        "InstrumentId": listing * 10,
        "MIC": mic,
        "Ticker": ticker,
        "CurrencyCode": "EUR",
    }


def trade_row(
    listing: int, at: dt.datetime, side: int, size: float, price: float
) -> dict[str, object]:
    return {
        "ListingId": listing,
        "TradeTimestamp": at,
        "AggressorSide": side,
        "Size": size,
        "Price": price,
        "TradeNotional": size * price,
        "TradeNotionalEUR": size * price,
        "Classification": "LIT_CONTINUOUS",
    }


@pytest.fixture
def small_lake(write_table: WriteTable, lake_root: Path) -> Path:
    """Two MICs, one day: XLON listings 1 and 2, XPAR listing 3."""
    t = dt.datetime(2024, 3, 4, 9, 0)
    write_table(
        ReferenceTable,
        "XLON",
        DAY,
        [reference_row(1, "XLON", "AAA"), reference_row(2, "XLON", "BBB")],
    )
    write_table(ReferenceTable, "XPAR", DAY, [reference_row(3, "XPAR", "CCC")])
    write_table(
        TradesTable,
        "XLON",
        DAY,
        [
            trade_row(1, t + dt.timedelta(seconds=10), 1, 100, 10.0),
            trade_row(1, t + dt.timedelta(seconds=50), 2, 300, 10.4),
            trade_row(2, t + dt.timedelta(seconds=70), 1, 5, 20.0),
        ],
    )
    write_table(TradesTable, "XPAR", DAY, [trade_row(3, t + dt.timedelta(seconds=5), 1, 7, 30.0)])
    return lake_root
