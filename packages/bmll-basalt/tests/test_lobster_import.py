"""``basalt import lobster``: LOBSTER sample files and small hand-made files into a BMLL lake.

Expected values are recomputed here from the CSV files with the ``csv`` module.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result

from basalt.errors import ConfigError, DataError
from basalt.importers.lobster import ImportSummary, import_lobster
from basalt.lake import Lake
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable

TABLES: tuple[type[DataTable], ...] = (
    TradesTable,
    L2Table,
    L3Table,
    MarketStateTable,
    ReferenceTable,
)
Invoke = Callable[..., Result]
DAY = dt.date(2012, 6, 21)
UTC_1330 = dt.datetime(2012, 6, 21, 13, 30)


# Real LOBSTER samples shipped with the repository (see data/lobster/).
SAMPLES = Path(__file__).resolve().parents[3] / "data" / "lobster"


def sample(name: str) -> Path:
    return SAMPLES / name


AMZN_MESSAGE = "AMZN_2012-06-21_34200000_57600000_message_1.csv"
AMZN_BOOK = "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
AAPL = (
    "AAPL_2012-06-21_34200000_57600000_message_10_first998.csv",
    "AAPL_2012-06-21_34200000_57600000_orderbook_10_first998.csv",
)
MSFT = (
    "MSFT_2012-06-21_34200000_37800000_message_50_first1000.csv",
    "MSFT_2012-06-21_34200000_37800000_orderbook_50_first1000.csv",
)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def table(root: Path, kind: type[DataTable], day: dt.date = DAY) -> pl.DataFrame:
    return pl.read_parquet(kind.path(Lake(str(root)), "XNAS", day))


def write_lines(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def ns(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000_000 + value.microsecond * 1000


@pytest.fixture(scope="module")
def amzn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportSummary]:
    root = tmp_path_factory.mktemp("amzn")
    return root, import_lobster([sample(AMZN_MESSAGE), sample(AMZN_BOOK)], root)


def test_amzn_volume_and_vwap(amzn: tuple[Path, ImportSummary]) -> None:
    root, summary = amzn
    executions = [r for r in read_rows(sample(AMZN_MESSAGE)) if r[1] in ("4", "5")]
    volume = sum(int(r[3]) for r in executions)
    vwap = sum(int(r[3]) * int(r[4]) for r in executions) / volume / 10_000
    trades = table(root, TradesTable)
    assert summary.rows["trades"] == trades.height == len(executions) == 11_419
    assert trades["Size"].sum() == volume == 810_755
    assert trades["TradeNotional"].sum() / volume == pytest.approx(vwap, rel=1e-12)
    assert vwap == pytest.approx(222.634765, abs=1e-6)
    assert (trades["TradeNotional"] == trades["Price"] * trades["Size"]).all()
    assert trades["TradeNotionalEUR"].null_count() == trades.height
    assert set(trades["Classification"]) == {"LIT_CONTINUOUS"}


def test_amzn_aggressor_side(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    trades = table(root, TradesTable)
    # Row 1: hidden execution of a sell order -> buyer-initiated; row 3: visible execution of
    # a buy order -> seller-initiated.
    first, second = trades.row(0, named=True), trades.row(1, named=True)
    assert (first["BMLLSequenceNo"], first["AggressorSide"], first["Price"]) == (1, 1, 223.82)
    assert (second["BMLLSequenceNo"], second["AggressorSide"], second["Price"]) == (3, 2, 223.81)
    directions = [r[5] for r in read_rows(sample(AMZN_MESSAGE)) if r[1] in ("4", "5")]
    expected = [1 if d == "-1" else 2 for d in directions]
    assert trades.sort("BMLLSequenceNo")["AggressorSide"].to_list() == expected


def test_amzn_best_quotes_before_the_trade(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    books = read_rows(sample(AMZN_BOOK))
    trade = table(root, TradesTable).row(1, named=True)
    before = books[trade["BMLLSequenceNo"] - 2]
    assert trade["BestAskPrice"] == int(before[0]) / 10_000
    assert trade["BestAskSize"] == float(before[1])
    assert trade["BestBidPrice"] == int(before[2]) / 10_000 == 223.81
    assert trade["BestBidSizeAtVenue"] == float(before[3])


def test_amzn_l3_counts_per_action(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    types = Counter(r[1] for r in read_rows(sample(AMZN_MESSAGE)))
    counts = dict(table(root, L3Table).group_by("LobAction").len().iter_rows())
    assert counts == {2: types["1"], 4: types["2"], 3: types["3"], 1: types["4"]}
    assert counts == {2: 27_845, 4: 16, 3: 18_235, 1: 8_974}


def test_amzn_l2_matches_orderbook(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    books = read_rows(sample(AMZN_BOOK))
    changed = [i + 1 for i, row in enumerate(books) if i == 0 or row != books[i - 1]]
    l2 = table(root, L2Table)
    assert l2["L2EventNo"].to_list() == changed
    for row in l2.select(
        "L2EventNo", "AskPrice1", "AskQuantity1", "BidPrice1", "BidQuantity1"
    ).rows():
        book = books[row[0] - 1]
        assert (round(row[1] * 10_000), row[2], round(row[3] * 10_000), row[4]) == tuple(
            int(v) for v in book
        )
    assert l2["BidPrice2"].null_count() == l2["BidNumOrders1"].null_count() == l2.height


def test_amzn_timestamps(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    assert read_rows(sample(AMZN_MESSAGE))[0][0] == "34200.017459617"
    trade = table(root, TradesTable).row(0, named=True)
    nanos = table(root, TradesTable)["TradeTimestampNanoseconds"].cast(pl.Int64)[0]
    assert nanos == ns(UTC_1330) + 17_459_617
    assert trade["TradeTimestamp"] == dt.datetime(2012, 6, 21, 13, 30, 0, 17_459)
    assert trade["LocalTradeTimestamp"] == dt.datetime(2012, 6, 21, 9, 30, 0, 17_459)
    assert trade["TradeDate"] == dt.datetime(2012, 6, 21)
    assert trade["TZOffset"] == -240
    l2 = table(root, L2Table)
    assert l2["TimestampNanoseconds"].cast(pl.Int64)[0] == nanos


def test_written_files_have_the_bmll_schemas(amzn: tuple[Path, ImportSummary]) -> None:
    root, summary = amzn
    assert len(summary.files) == len(TABLES)
    for kind in TABLES:
        path = kind.path(Lake(str(root)), "XNAS", DAY)
        assert path in summary.files
        assert list(pl.read_parquet_schema(path).items()) == list(kind.schema().items())


def test_amzn_market_state_and_reference(amzn: tuple[Path, ImportSummary]) -> None:
    root, _ = amzn
    reference = table(root, ReferenceTable)
    assert reference.select("Ticker", "MIC", "CurrencyCode", "IsPrimary", "IsAlive").rows() == [
        ("AMZN", "XNAS", "USD", True, True)
    ]
    listing = reference["ListingId"][0]
    assert reference["InstrumentId"][0] == listing
    assert set(table(root, TradesTable)["ListingId"]) == {listing}
    states = table(root, MarketStateTable).select("TimestampNanoseconds", "MarketState").rows()
    assert states == [(UTC_1330, "CONTINUOUS_TRADING"), (dt.datetime(2012, 6, 21, 20), "CLOSED")]


def test_several_tickers_share_one_file_per_table(tmp_path: Path) -> None:
    summary = import_lobster([sample(n) for n in (*AAPL, *MSFT)], tmp_path)
    assert len(summary.files) == len(TABLES)
    reference = table(tmp_path, ReferenceTable)
    assert sorted(reference["Ticker"]) == ["AAPL", "MSFT"]
    for kind, time in (
        (TradesTable, "TradeTimestampNanoseconds"),
        (L3Table, "TimestampNanoseconds"),
    ):
        frame = table(tmp_path, kind)
        assert frame.equals(frame.sort("ListingId", time, maintain_order=True))
        assert frame["ListingId"].n_unique() == 2
    msft = table(tmp_path, L2Table).filter(pl.col("Ticker") == "MSFT")
    books = read_rows(sample(MSFT[1]))
    last = msft.row(-1, named=True)
    book = books[last["L2EventNo"] - 1]
    assert len(book) == 200
    assert last["AskPrice10"] == int(book[36]) / 10_000
    assert last["BidQuantity10"] == int(book[39])
    states = table(tmp_path, MarketStateTable).filter(pl.col("MarketState") == "CLOSED")
    assert sorted(states["TimestampNanoseconds"].dt.hour()) == [14, 20]


def test_message_file_without_orderbook(tmp_path: Path) -> None:
    name = MSFT[0]
    summary = import_lobster([sample(name)], tmp_path)
    assert summary.rows["l2"] == 0
    assert not os.path.exists(L2Table.path(Lake(str(tmp_path)), "XNAS", DAY))
    rows = read_rows(sample(name))
    trades = table(tmp_path, TradesTable)
    assert trades.height == sum(r[1] in ("4", "5") for r in rows)
    assert trades["BestBidPrice"].null_count() == trades.height
    assert table(tmp_path, L3Table).height == sum(r[1] in ("1", "2", "3", "4") for r in rows)


def test_overlapping_files_of_one_ticker_are_rejected(tmp_path: Path) -> None:
    names = [AMZN_MESSAGE, AMZN_MESSAGE.replace("message_1", "message_5")]
    (tmp_path / names[1]).write_bytes(sample(AMZN_MESSAGE).read_bytes())
    with pytest.raises(ConfigError, match="overlapping") as info:
        import_lobster([sample(names[0]), tmp_path / names[1]], tmp_path / "lake")
    assert all(n in str(info.value) for n in names)


def test_importing_again_replaces_only_the_imported_listings(tmp_path: Path) -> None:
    import_lobster([sample(n) for n in AAPL], tmp_path)
    first = table(tmp_path, TradesTable)
    import_lobster([sample(n) for n in MSFT], tmp_path)
    import_lobster([sample(n) for n in AAPL], tmp_path)
    trades = table(tmp_path, TradesTable)
    assert sorted(table(tmp_path, ReferenceTable)["Ticker"]) == ["AAPL", "MSFT"]
    assert trades.filter(pl.col("Ticker") == "AAPL").equals(first)
    assert trades.filter(pl.col("Ticker") == "MSFT").height == sum(
        r[1] in ("4", "5") for r in read_rows(sample(MSFT[0]))
    )


def test_cli_imports_files(tmp_path: Path, basalt_cli: Invoke) -> None:
    args = ["lobster", *(str(sample(n)) for n in AAPL), "--root", str(tmp_path)]
    result = basalt_cli("import", *args)
    assert result.exit_code == 0, result.output
    trades = sum(r[1] in ("4", "5") for r in read_rows(sample(AAPL[0])))
    assert re.search(rf"^trades +{trades:,} rows$", result.output, re.MULTILINE)
    assert "wrote 5 file(s)" in result.output
    assert os.path.isfile(TradesTable.path(Lake(str(tmp_path)), "XNAS", DAY))


# Hand-made files: order life cycles, halts, dummy levels, split windows, bad input.

TEST_MESSAGES = [
    "34200.1,1,100,100,1000000,1",  # insert bid 100 @ 100.00
    "34200.2,2,100,30,1000000,1",  # cancel 30 -> 70 left
    "34200.3,4,100,20,1000000,1",  # execute 20 -> 50 left
    "34200.4,3,100,50,1000000,1",  # delete the remaining 50
    "34200.5,2,7,10,1010000,-1",  # order 7 entered before the data starts
    "34200.6,4,7,5,1010000,-1",
    "34200.7,3,7,25,1010000,-1",
    "36000,7,0,0,-1,-1",  # halt
    "36300,7,0,0,0,-1",  # quoting
    "36600,7,0,0,1,-1",  # resume
    "36601.000000001,5,0,40,1005000,1",  # hidden execution of a buy order
]
EMPTY = "9999999999,0,-9999999999,0"
TEST_BOOKS = [
    f"1010000,40,1000000,100,{EMPTY}",
    f"1010000,40,1000000,70,{EMPTY}",
    f"1010000,40,1000000,50,{EMPTY}",
    f"1010000,40,-9999999999,0,{EMPTY}",
    f"1010000,30,-9999999999,0,{EMPTY}",
    f"1010000,25,-9999999999,0,{EMPTY}",
    f"{EMPTY},{EMPTY}",
    f"{EMPTY},{EMPTY}",
    f"{EMPTY},{EMPTY}",
    f"{EMPTY},{EMPTY}",
    f"{EMPTY},{EMPTY}",
]
TEST_NAME = "TEST_2012-06-21_34200000_57600000_{}_2.csv"


def write_test_files(directory: Path) -> list[Path]:
    return [
        write_lines(directory, TEST_NAME.format("message"), TEST_MESSAGES),
        write_lines(directory, TEST_NAME.format("orderbook"), TEST_BOOKS),
    ]


@pytest.fixture
def test_lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    import_lobster(write_test_files(tmp_path), root)
    return root


def test_l3_tracks_remaining_order_sizes(test_lake: Path) -> None:
    l3 = table(test_lake, L3Table)
    columns = ("EventNo", "OrderId", "Side", "LobAction", "Price", "OldSize", "Size")
    assert l3.select(columns).rows() == [
        (1, "100", 1, 2, 100.0, None, 100),
        (2, "100", 1, 4, 100.0, 100, 70),
        (3, "100", 1, 1, 100.0, 70, 50),
        (4, "100", 1, 3, 100.0, 50, 0),
        (5, "7", 2, 4, 101.0, None, None),
        (6, "7", 2, 1, 101.0, None, None),
        (7, "7", 2, 3, 101.0, 25, 0),
    ]
    executions = l3.filter(pl.col("OrderExecuted"))
    assert executions.select("ExecutionSize", "ExecutionPrice", "TradeId").rows() == [
        (20, 100.0, "TEST-20120621-3"),
        (5, 101.0, "TEST-20120621-6"),
    ]
    assert l3.filter(~pl.col("OrderExecuted"))["ExecutionSize"].null_count() == 5


def test_trades_of_hand_made_files(test_lake: Path) -> None:
    trades = table(test_lake, TradesTable)
    columns = ("TradeId", "AggressorSide", "Price", "Size", "OriginalTradeType", "MarketState")
    assert trades.select(columns).rows() == [
        ("TEST-20120621-3", 2, 100.0, 20.0, "VISIBLE_EXECUTION", "CONTINUOUS_TRADING"),
        ("TEST-20120621-6", 1, 101.0, 5.0, "VISIBLE_EXECUTION", "CONTINUOUS_TRADING"),
        ("TEST-20120621-11", 2, 100.5, 40.0, "HIDDEN_EXECUTION", "CONTINUOUS_TRADING"),
    ]
    quotes = ("BestBidPrice", "BestBidSize", "BestAskPrice", "BestAskSize")
    assert trades.select(quotes).rows() == [
        (100.0, 70.0, 101.0, 40.0),
        (None, None, 101.0, 30.0),
        (None, None, None, None),
    ]
    # At the bid of a 100.00/101.00 book; then without a bid; then without a book.
    assert trades["PricePoint"].to_list() == [0.0, None, None]
    nanos = trades["TradeTimestampNanoseconds"].cast(pl.Int64)[-1]
    assert nanos == ns(dt.datetime(2012, 6, 21, 14, 10, 1)) + 1


def test_halts_become_market_states(test_lake: Path) -> None:
    states = table(test_lake, MarketStateTable)
    assert states.select("TimestampNanoseconds", "MarketState").rows() == [
        (UTC_1330, "CONTINUOUS_TRADING"),
        (dt.datetime(2012, 6, 21, 14), "HALTED"),
        (dt.datetime(2012, 6, 21, 14, 5), "QUOTING"),
        (dt.datetime(2012, 6, 21, 14, 10), "CONTINUOUS_TRADING"),
        (dt.datetime(2012, 6, 21, 20), "CLOSED"),
    ]
    assert set(states["MIC"]) == {"XNAS"}


def test_dummy_levels_become_null_prices_and_quantities(test_lake: Path) -> None:
    l2 = table(test_lake, L2Table)
    assert l2["L2EventNo"].to_list() == [1, 2, 3, 4, 5, 6, 7]
    assert l2.select("BidPrice1", "BidQuantity1", "AskPrice1", "AskQuantity1").rows() == [
        (100.0, 100, 101.0, 40),
        (100.0, 70, 101.0, 40),
        (100.0, 50, 101.0, 40),
        (None, None, 101.0, 40),
        (None, None, 101.0, 30),
        (None, None, 101.0, 25),
        (None, None, None, None),
    ]
    for column in ("AskPrice2", "AskQuantity2", "BidQuantity2", "AskQuantity3", "BidNumOrders1"):
        assert l2[column].null_count() == 7, column


# A level-1 book: a hidden trade into an empty book, then quotes, trades and a locked book.
PLACEMENT_MESSAGES = [
    "34200.1,5,0,10,1005000,1",  # hidden execution, no book yet
    "34200.2,1,1,100,1000000,1",  # bid 100 @ 100.00
    "34200.3,1,2,50,1010000,-1",  # ask 50 @ 101.00
    "34200.4,5,0,10,1002500,1",  # hidden execution @ 100.25 inside 100.00/101.00
    "34200.5,4,2,20,1010000,-1",  # 20 of the ask executed @ 101.00
    "34200.6,4,1,100,1000000,1",  # the whole bid executed @ 100.00
    "34200.7,5,0,5,1005000,-1",  # hidden execution, no bid
    "34200.8,1,3,10,1010000,1",  # bid 10 @ 101.00: a locked book
    "34200.9,5,0,1,1010000,1",  # hidden execution in the locked book
]
PLACEMENT_BOOKS = [
    EMPTY,
    "9999999999,0,1000000,100",
    "1010000,50,1000000,100",
    "1010000,50,1000000,100",
    "1010000,30,1000000,100",
    "1010000,30,-9999999999,0",
    "1010000,30,-9999999999,0",
    "1010000,30,1010000,10",
    "1010000,30,1010000,10",
]


def test_price_point_places_trades_in_the_spread_before_them(tmp_path: Path) -> None:
    name = "TEST_2012-06-21_34200000_57600000_{}_1.csv"
    files = [
        write_lines(tmp_path, name.format("message"), PLACEMENT_MESSAGES),
        write_lines(tmp_path, name.format("orderbook"), PLACEMENT_BOOKS),
    ]
    import_lobster(files, tmp_path / "lake")
    trades = table(tmp_path / "lake", TradesTable)
    assert trades.select("BMLLSequenceNo", "Price", "BestBidPrice", "BestAskPrice").rows() == [
        (1, 100.5, None, None),
        (4, 100.25, 100.0, 101.0),
        (5, 101.0, 100.0, 101.0),
        (6, 100.0, 100.0, 101.0),
        (7, 100.5, None, 101.0),
        (9, 101.0, 101.0, 101.0),
    ]
    expected = [None, 0.25, 1.0, 0.0, None, None]
    assert trades["PricePoint"].to_list() == expected
    assert trades["PricePointAtVenue"].to_list() == expected
    assert trades["PricePointAtPrimary"].null_count() == trades.height
    # The first book is empty: it still makes an l2 row, every level null.
    l2 = table(tmp_path / "lake", L2Table)
    assert l2["L2EventNo"].to_list() == [1, 2, 3, 5, 6, 8]
    first = l2.select("BidPrice1", "BidQuantity1", "AskPrice1", "AskQuantity1").row(0)
    assert first == (None,) * 4


def test_windows_of_one_ticker_make_one_day(tmp_path: Path) -> None:
    morning = "TEST_2012-06-21_34200000_45000000_message_1.csv"
    afternoon = "TEST_2012-06-21_45000000_57600000_message_1.csv"
    files = [
        write_lines(tmp_path, afternoon, ["45001,2,100,40,1000000,1", "45002,4,100,60,1000000,1"]),
        write_lines(tmp_path, morning, ["34201,1,100,100,1000000,1"]),
        # Another ticker reusing the order number.
        write_lines(tmp_path, morning.replace("TEST", "ALT"), ["34201,1,100,500,1000000,1"]),
    ]
    import_lobster(files, tmp_path / "lake")
    l3 = table(tmp_path / "lake", L3Table).filter(pl.col("Ticker") == "TEST")
    assert l3.select("EventNo", "LobAction", "OldSize", "Size").rows() == [
        (1, 2, None, 100),
        (2, 4, 100, 60),
        (3, 1, 60, 0),
    ]
    states = table(tmp_path / "lake", MarketStateTable).group_by("ListingId").agg("MarketState")
    assert states["MarketState"].to_list() == [["CONTINUOUS_TRADING", "CLOSED"]] * 2


def test_winter_dates_use_eastern_standard_time(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path, "TEST_2012-01-05_34200000_57600000_message_1.csv", ["34200,5,0,1,1000000,1"]
    )
    import_lobster([path], tmp_path / "lake")
    trade = table(tmp_path / "lake", TradesTable, dt.date(2012, 1, 5)).row(0, named=True)
    assert trade["TradeTimestamp"] == dt.datetime(2012, 1, 5, 14, 30)
    assert trade["LocalTradeTimestamp"] == dt.datetime(2012, 1, 5, 9, 30)
    assert trade["TZOffset"] == -300


@pytest.mark.parametrize(
    "name",
    [
        "TEST_2012-06-21_message_1.csv",
        "TEST_2012-13-21_34200000_57600000_message_1.csv",
        "TEST_2012-06-21_57600000_34200000_message_1.csv",
        "TEST_2012-06-21_34200000_57600000_trades_1.csv",
    ],
)
def test_bad_file_names(tmp_path: Path, basalt_cli: Invoke, name: str) -> None:
    path = write_lines(tmp_path, name, TEST_MESSAGES)
    with pytest.raises(ConfigError, match=name):
        import_lobster([path], tmp_path / "lake")
    result = basalt_cli("import", "lobster", str(path), "--root", str(tmp_path))
    assert result.exit_code == 2
    assert name in result.output


def test_cli_missing_file(tmp_path: Path, basalt_cli: Invoke) -> None:
    missing = tmp_path / TEST_NAME.format("message")
    result = basalt_cli("import", "lobster", str(missing), "--root", str(tmp_path))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_missing_file_and_bad_mic(tmp_path: Path) -> None:
    missing = tmp_path / TEST_NAME.format("message")
    with pytest.raises(ConfigError, match=missing.name):
        import_lobster([missing], tmp_path / "lake")
    with pytest.raises(ConfigError, match="MIC"):
        import_lobster(write_test_files(tmp_path), tmp_path / "lake", mic="xnas")


def test_orderbook_with_a_different_row_count(tmp_path: Path) -> None:
    message, book = write_test_files(tmp_path)
    write_lines(tmp_path, book.name, TEST_BOOKS[:-1])
    with pytest.raises(DataError, match=f"{book.name}: 10 rows, but its message file has 11"):
        import_lobster([message, book], tmp_path / "lake")
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("34200.8,1,101,x,1000000,1", "cannot read"),
        ("34200.8,1,101,10,1000000", "missing values"),
        ("34200.8,1,101,10,1000000,1,1", "cannot read"),
        ("34200.8,6,101,10,1000000,1", "unsupported event type"),
        ("34200.8,1,101,10,1000000,0", "direction"),
        ("34200.0,1,101,10,1000000,1", "increasing order"),
        ("36700,7,0,0,2,-1", "halt message"),
        ("90000,1,101,10,1000000,1", "outside the day"),
    ],
)
def test_malformed_message_files(tmp_path: Path, line: str, problem: str) -> None:
    lines = [*TEST_MESSAGES[:7], line]
    path = write_lines(tmp_path, TEST_NAME.format("message"), lines)
    with pytest.raises(DataError, match=problem) as info:
        import_lobster([path], tmp_path / "lake")
    assert path.name in str(info.value)


def test_malformed_orderbook_file(tmp_path: Path) -> None:
    message, book = write_test_files(tmp_path)
    write_lines(tmp_path, book.name, [*TEST_BOOKS[:-1], "1010000,25,1000000"])
    with pytest.raises(DataError, match=f"{book.name}: missing values"):
        import_lobster([message, book], tmp_path / "lake")


def test_orderbook_without_message_and_duplicates(tmp_path: Path) -> None:
    message, book = write_test_files(tmp_path)
    with pytest.raises(ConfigError, match=f"without their message file: .*{book.name}"):
        import_lobster([book], tmp_path / "lake")
    copy = write_lines(tmp_path, message.name.replace("_2.csv", "_2_copy.csv"), TEST_MESSAGES)
    with pytest.raises(ConfigError, match=f"{copy.name}: same message data"):
        import_lobster([message, copy], tmp_path / "lake")
