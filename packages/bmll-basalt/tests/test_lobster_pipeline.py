"""Pipelines and analytics on real Nasdaq data imported from LOBSTER: AMZN and AAPL on
2012-06-21.

Every expectation is recomputed straight from the LOBSTER files with the csv module,
independently of the importer and of the analytics.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from basalt.analytic import Analytic
from basalt.analytics.execution import ExecutionAnalytic
from basalt.analytics.l2 import L2Analytic
from basalt.analytics.l2tw import L2TimeWeightedAnalytic
from basalt.importers.lobster import import_lobster
from basalt.lake import Lake
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, TradesTable
from basalt.testing import run_analytic, run_pass
from basalt.timebuckets import BucketSpec

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "lobster"
MESSAGES = SAMPLES / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
BOOK = SAMPLES / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
AMZN_DAY = {"START_DATE": "2012-06-21", "UNIVERSE": "ticker=AMZN"}
DAY = dt.date(2012, 6, 21)
NS = 1_000_000_000
UTC_MIDNIGHT = (dt.datetime(2012, 6, 21) - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1) * NS
EDT = 4 * 3600 * NS  # New York was 4 hours behind UTC that day
DUMMY = 9_999_999_999


def utc_ns(seconds: str) -> int:
    """A LOBSTER time (seconds after midnight, New York) in ns since the epoch, UTC."""
    return UTC_MIDNIGHT + EDT + int(Decimal(seconds) * NS)


def label(ns: int, width: int) -> int:
    """The end of the right-closed bucket of ``width`` ns holding the instant ``ns``."""
    return -(-ns // width) * width


def analyse(
    root: Path,
    analytic: type[Analytic],
    tables: Sequence[type[DataTable]],
    config: Mapping[str, object],
    seconds: int,
) -> pl.DataFrame:
    """``analytic`` over the day's ``tables`` of the lake at ``root``, in buckets of ``seconds``."""
    lake, bucket = Lake(str(root)), BucketSpec(seconds)
    frames = {table.name: table.scan(lake, ["XNAS"], [DAY], bucket=bucket) for table in tables}
    return run_analytic(analytic, frames, config, bucket=bucket)


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


def test_amzn_price_point_and_placement(tmp_path: Path) -> None:
    import_lobster([MESSAGES, BOOK], tmp_path / "lake")
    # PricePoint = (price − bid) / (ask − bid) in the book before the message, i.e. the
    # orderbook file's previous row; none for the first message or a locked book.
    fills: list[tuple[int, int, int, float | None]] = []  # time, size, direction, point
    with MESSAGES.open(newline="") as messages, BOOK.open(newline="") as books:
        before: list[str] | None = None
        for message, row in zip(csv.reader(messages), csv.reader(books), strict=True):
            if message[1] in ("4", "5"):
                point = None
                if before is not None:
                    ask, bid = int(before[0]), int(before[2])
                    if abs(ask) != DUMMY and abs(bid) != DUMMY and ask > bid:
                        point = (int(message[4]) - bid) / (ask - bid)
                fills.append((utc_ns(message[0]), int(message[3]), int(message[5]), point))
            before = row
    trades = pl.read_parquet(TradesTable.path(Lake(str(tmp_path / "lake")), "XNAS", DAY))
    points = [point for *_, point in fills]
    assert points[0] is None and sum(p is None for p in points) == 1
    assert trades["PricePoint"].to_list() == points  # exact: one rounding of integer ratios
    assert trades["PricePointAtVenue"].to_list() == points
    assert sum(p is not None and 0 < p < 1 for p in points) > 100  # hidden fills in the spread

    placement = {
        "trade_types": "LIT",
        "aggressor_sides": ["Buy", "Sell"],
        "measures": "VolumeWeightedPricePlacement",
    }
    tables = (TradesTable, L3Table)
    config = {"trade_breakdown": [placement]}
    frame = analyse(tmp_path / "lake", ExecutionAnalytic, tables, config, 300)
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for ns, size, direction, point in fills:
        if point is not None:  # a sell order executed: a buyer-initiated trade
            total = sums[label(ns, 300 * NS), "Buy" if direction == -1 else "Sell"]
            total[0] += (2 * min(max(point, 0.0), 1.0) - 1) * size
            total[1] += size
    for record in frame.iter_rows(named=True):
        end = (record["TimeBucket"] - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
        for aggressor in ("Buy", "Sell"):
            weighted, volume = sums.get((end * 1000, aggressor), (0.0, 0.0))
            value = record[f"LitVolumeWeightedPricePlacement{aggressor}Aggressor"]
            assert value == (pytest.approx(weighted / volume, rel=1e-9) if volume else None)
    assert frame.height == 78


# The real AAPL book thinned so that levels empty and refill: after message i only the first
# (i // 37) % 12 ask levels and (i // 53) % 12 bid levels are kept, the others written as
# LOBSTER's dummy levels (price ±9999999999, size 0); each side is empty at times.
AAPL = "AAPL_2012-06-21_34200000_57600000_{}_10_first998.csv"
LEVELS = list(range(1, 11))
DEPTH = ["Price", "Quantity", "NumOrders", "CumQuantity", "CumOrders", "CumNotional"]
IMBALANCES = {"Quantity": "Quantity", "CumQuantity": "CumQuantity"}
IMBALANCES |= {"CumNotional": "CumNotional", "Orders": "CumOrders"}
SOURCES = ["Mid", "WeightedMid", "Bid", "Ask"]
BAR_PARTS = ("Open", "High", "Low", "Close")
FAMILIES = {
    "liquidity": [{"levels": LEVELS, "measures": DEPTH}],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [{"levels": LEVELS, "measure": list(IMBALANCES)}],
}
Values = dict[str, float | None]
Snapshot = tuple[int, Values]


def thin(row: list[str], i: int) -> list[str]:
    """Orderbook row ``i`` with the levels beyond its depths written as dummy levels."""
    depths = {"Ask": (i // 37) % 12, "Bid": (i // 53) % 12}
    thinned = list(row)
    for level in range(len(row) // 4):
        for offset, side, sign in ((0, "Ask", 1), (2, "Bid", -1)):
            if level >= depths[side]:
                thinned[4 * level + offset : 4 * level + offset + 2] = [str(sign * DUMMY), "0"]
    return thinned


def thinned_aapl(directory: Path) -> list[Path]:
    """The AAPL sample's message file and its thinned orderbook file, in ``directory``."""
    message, book = (directory / AAPL.format(kind) for kind in ("message", "orderbook"))
    message.write_bytes((SAMPLES / message.name).read_bytes())
    with (SAMPLES / book.name).open(newline="") as source, book.open("w", newline="") as target:
        rows = [thin(row, i) for i, row in enumerate(csv.reader(source))]
        csv.writer(target).writerows(rows)
    return [message, book]


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def imbalance(bid: float | None, ask: float | None) -> float | None:
    return None if bid is None or ask is None else ratio(bid - ask, bid + ask)


def book_values(row: list[str]) -> Values:
    """Every metric of FAMILIES and every price source of one orderbook row, by the
    documented rules: a dummy level is empty, all its values null; cumulative values sum the
    levels that exist; imbalances need both sides and a non-zero sum."""
    values: Values = {}
    for offset, side in ((0, "Ask"), (2, "Bid")):
        quantity: float | None = None
        notional: float | None = None
        for level in LEVELS:
            price, size = (int(v) for v in row[4 * level - 4 + offset : 4 * level - 2 + offset])
            empty = abs(price) == DUMMY
            if not empty:
                quantity = (quantity or 0) + size
                notional = (notional or 0) + price / 10_000 * size
            values[f"{side}Price{level}"] = None if empty else price / 10_000
            values[f"{side}Quantity{level}"] = None if empty else size
            values[f"{side}CumQuantity{level}"] = quantity
            values[f"{side}CumNotional{level}"] = notional
            values[f"{side}NumOrders{level}"] = values[f"{side}CumOrders{level}"] = None
    for level in LEVELS:
        for measure, depth in IMBALANCES.items():
            bid, ask = values[f"Bid{depth}{level}"], values[f"Ask{depth}{level}"]
            values[f"Imbalance{measure}{level}"] = imbalance(bid, ask)
    bid, ask = values["BidPrice1"], values["AskPrice1"]
    bid_size, ask_size = values["BidQuantity1"], values["AskQuantity1"]
    values |= {"Bid": bid, "Ask": ask, "SpreadAbs": None, "SpreadBps": None}
    values |= {"Mid": None, "WeightedMid": None}
    if bid is not None and ask is not None:
        values["SpreadAbs"], values["Mid"] = ask - bid, (ask + bid) / 2
        values["SpreadBps"] = 20_000 * (ask - bid) / (ask + bid)
        if bid_size is not None and ask_size is not None:
            weighted = bid * ask_size + ask * bid_size
            values["WeightedMid"] = ratio(weighted, ask_size + bid_size)
    return values


def snapshots(files: Sequence[Path]) -> list[Snapshot]:
    """(time, values) of the first book and of every book whose first 10 levels changed."""
    found: list[Snapshot] = []
    previous = None
    with files[0].open(newline="") as messages, files[1].open(newline="") as books:
        for message, row in zip(csv.reader(messages), csv.reader(books), strict=True):
            if row[:40] != previous:
                found.append((utc_ns(message[0]), book_values(row)))
            previous = row[:40]
    return found


def bucket_frame(records: dict[int, Values], names: list[str]) -> pl.DataFrame:
    """``records`` by bucket end (ns) as a frame of ``TimeBucket`` and ``names``."""
    labels = sorted(records)
    columns = {name: [records[t][name] for t in labels] for name in names}
    schema = {"TimeBucket": pl.Int64, **dict.fromkeys(names, pl.Float64)}
    data = pl.DataFrame({"TimeBucket": labels, **columns}, schema=schema)
    return data.with_columns(pl.from_epoch("TimeBucket", time_unit="ns"))


def last_snapshots(books: list[Snapshot], width: int, names: list[str]) -> pl.DataFrame:
    """Per bucket, the names' values of its last snapshot and the price bars of SOURCES."""
    buckets: dict[int, list[Values]] = defaultdict(list)
    for ns, values in books:
        buckets[label(ns, width)].append(values)
    records = {}
    for end, series in buckets.items():
        record = {name: series[-1][name] for name in names}
        for source in SOURCES:
            known = [v for values in series if (v := values[source]) is not None]
            bar = (known[0], max(known), min(known), known[-1]) if known else (None,) * 4
            record |= dict(zip((f"{source}{p}" for p in BAR_PARTS), bar, strict=True))
        records[end] = record
    bars = [f"{source}{part}" for source in SOURCES for part in BAR_PARTS]
    return bucket_frame(records, [*names, *bars])


def pieces(books: list[Snapshot], width: int) -> Iterator[tuple[int, int, Values]]:
    """(bucket end, ns, values) of every stretch a book holds: until the next snapshot, the
    last one until the end of its bucket, cut at bucket edges."""
    ends = [ns for ns, _ in books[1:]] + [label(books[-1][0], width)]
    for (start, values), end in zip(books, ends, strict=True):
        at = start
        while at < end:
            bucket = at // width * width + width
            yield bucket, min(end, bucket) - at, values
            at = min(end, bucket)


def time_weighted(books: list[Snapshot], width: int, names: list[str]) -> pl.DataFrame:
    """Per bucket, each name's mean weighted by the time it holds, over the time it is defined."""
    area: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    time: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bucket, piece, values in pieces(books, width):
        time[bucket]["_"] += piece
        for name in names:
            if (value := values[name]) is not None:
                area[bucket][name] += piece * value
                time[bucket][name] += piece
    records = {
        bucket: {f"{n}TWA": ratio(area[bucket][n], spent[n]) for n in names}
        for bucket, spent in time.items()
        if spent["_"]
    }
    return bucket_frame(records, [f"{n}TWA" for n in names])


def test_thinned_aapl_book_levels_empty_and_refill(tmp_path: Path) -> None:
    files = thinned_aapl(tmp_path)
    import_lobster(files, tmp_path / "lake")
    books = snapshots(files)
    names = [name for name in books[0][1] if name not in SOURCES]
    empty = sum(values["AskPrice1"] is None for _, values in books)
    assert 0 < empty < len(books) and sum(v["BidPrice10"] is None for _, v in books) > empty

    l2 = {**FAMILIES, "ohlc": [{"source": SOURCES}]}
    result = analyse(tmp_path / "lake", L2Analytic, [L2Table], l2, 1)
    expected = last_snapshots(books, NS, names)
    assert result.height == expected.height > 20
    assert_frame_equal(result.select(expected.columns), expected, check_dtypes=False, rel_tol=1e-9)

    l2tw = {**FAMILIES, "prices": [{"source": SOURCES}]}
    result = analyse(tmp_path / "lake", L2TimeWeightedAnalytic, [L2Table], l2tw, 1)
    expected = time_weighted(books, NS, [*names, *SOURCES])
    assert result.height == expected.height
    assert_frame_equal(result.select(expected.columns), expected, check_dtypes=False, rel_tol=1e-9)
