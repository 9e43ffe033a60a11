"""A pipeline on real Nasdaq data: AMZN 2012-06-21 imported from LOBSTER.

The expected day volume and VWAP are recomputed straight from the message file with the
csv module, independently of the importer and of the trade analytic.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from basalt.importers.lobster import import_lobster
from basalt.testing import run_pass

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "lobster"
MESSAGES = SAMPLES / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
BOOK = SAMPLES / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
AMZN_DAY = {"START_DATE": "2012-06-21", "UNIVERSE": "ticker=AMZN"}


def executions() -> list[tuple[int, float]]:
    with MESSAGES.open(newline="") as handle:
        return [(int(r[3]), int(r[4]) / 10_000) for r in csv.reader(handle) if r[1] in ("4", "5")]


def test_amzn_day_volume_vwap_and_range(tmp_path: Path) -> None:
    import_lobster([MESSAGES, BOOK], tmp_path / "lake")
    amzn = {
        "name": "amzn",
        "time_bucket_seconds": 300,
        "modules": ["trade"],
        "trade": {"generic_metrics": [{"measures": ["Volume", "Notional", "Count", "OHLC"]}]},
    }
    frame = run_pass(tmp_path / "lake", amzn, tmp_path / "out.parquet", **AMZN_DAY)
    fills = executions()
    volume = sum(size for size, _ in fills)
    vwap = sum(size * price for size, price in fills) / volume
    assert volume == 810_755
    assert frame["TradeTotalVolume"].sum() == volume
    assert frame["TradeTotalCount"].sum() == len(fills)
    assert frame["TradeTotalNotional"].sum() / frame["TradeTotalVolume"].sum() == pytest.approx(
        vwap, rel=1e-12
    )
    assert frame["TradeTotalHigh"].max() == max(p for _, p in fills)
    assert frame["TradeTotalLow"].min() == min(p for _, p in fills)
    assert (
        frame["TradeTotalOpen"][0] == fills[0][1] and frame["TradeTotalClose"][-1] == fills[-1][1]
    )
    # 09:30-16:00 New York is 13:30-20:00 UTC: 78 five-minute buckets at most.
    assert frame["TimeBucket"].dt.hour().min() >= 13 and frame.height <= 78


def book_at_bucket_ends(seconds: int) -> dict[int, tuple[float | None, float | None, int, int]]:
    """Per bucket (its end in ns after midnight, New York), the orderbook row in force at the
    bucket's last message: best ask, best bid (None for LOBSTER's dummy prices) and sizes."""
    width = seconds * 1_000_000_000
    last: dict[int, tuple[float | None, float | None, int, int]] = {}
    with MESSAGES.open(newline="") as messages, BOOK.open(newline="") as book:
        for message, row in zip(csv.reader(messages), csv.reader(book), strict=True):
            ns = int(Decimal(message[0]) * 1_000_000_000)
            end = -(-ns // width) * width  # right-closed buckets labelled by their end
            ask, ask_size, bid, bid_size = (int(v) for v in row[:4])
            last[end] = (
                ask / 10_000 if abs(ask) < 9_999_999_999 else None,
                bid / 10_000 if abs(bid) < 9_999_999_999 else None,
                ask_size,
                bid_size,
            )
    return last


def test_amzn_last_snapshot_spread_and_imbalance(tmp_path: Path) -> None:
    import_lobster([MESSAGES, BOOK], tmp_path / "lake")
    l2 = {
        "spreads": [{"variant": ["Abs", "BPS"]}],
        "imbalances": [{"levels": 1, "measure": "Quantity"}],
    }
    book = {"name": "book", "time_bucket_seconds": 300, "modules": ["l2"], "l2": l2}
    frame = run_pass(tmp_path / "lake", book, tmp_path / "book.parquet", **AMZN_DAY)
    expected = book_at_bucket_ends(300)
    midnight = frame["TimeBucket"][0].replace(hour=0, minute=0, second=0, microsecond=0)
    utc_offset_ns = 4 * 3600 * 1_000_000_000  # New York is UTC-4 in June
    assert frame.height == len(expected)
    for row in frame.iter_rows(named=True):
        end = int((row["TimeBucket"] - midnight).total_seconds() * 1e9) - utc_offset_ns
        ask, bid, ask_size, bid_size = expected[end]
        assert ask is not None and bid is not None
        assert row["SpreadAbs"] == pytest.approx(ask - bid, abs=1e-9)
        assert row["SpreadBps"] == pytest.approx(20_000 * (ask - bid) / (ask + bid), rel=1e-9)
        imbalance = (bid_size - ask_size) / (bid_size + ask_size)
        assert row["ImbalanceQuantity1"] == pytest.approx(imbalance, rel=1e-12)
