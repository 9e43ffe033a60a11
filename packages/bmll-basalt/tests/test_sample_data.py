"""The synthetic lake: layout, exact BMLL schemas, determinism and market-data invariants."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result

from basalt.errors import ConfigError
from basalt.lake import Lake
from basalt.sampledata import SampleSummary, generate_lake
from basalt.sampledata.venues import FX_TO_EUR, FX_TO_USD, VENUES, tick_size
from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable

Invoke = Callable[..., Result]

FRIDAY, MONDAY = dt.date(2024, 3, 8), dt.date(2024, 3, 11)  # US clocks change on the Sunday
TABLES: tuple[type[DataTable], ...] = (
    TradesTable,
    L2Table,
    L3Table,
    MarketStateTable,
    ReferenceTable,
)
STATES = [
    "CLOSED",
    "OPENING_AUCTION",
    "CONTINUOUS_TRADING",
    "CLOSING_AUCTION",
    "POST_TRADE",
    "CLOSED",
]


def _small(root: Path, seed: int = 7) -> SampleSummary:
    return generate_lake(
        root, FRIDAY, MONDAY, ["XLON", "XNAS"], 4, trades_per_listing=300, seed=seed
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    """2 MICs × 4 listings × Friday..Monday (weekend skipped), ~300 trades per listing."""
    return _small(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def moderate(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    """One XPAR day with 3 busy listings, for intraday shape and row ratios."""
    root = tmp_path_factory.mktemp("moderate")
    return generate_lake(root, FRIDAY, FRIDAY, ["XPAR"], 3, trades_per_listing=6000, seed=3)


def _read(summary: SampleSummary, table: type[DataTable]) -> pl.DataFrame:
    """All files of ``table``, with the file's ``Day``."""
    lake = Lake(str(summary.root))
    return pl.concat(
        [
            pl.read_parquet(table.path(lake, mic, day)).with_columns(Day=pl.lit(day))
            for day in summary.days
            for mic in summary.mics
        ]
    )


def _continuous(summary: SampleSummary) -> pl.DataFrame:
    """Per listing and date: continuous-trading start and end (ns, naive UTC)."""
    states = _read(summary, MarketStateTable)
    return (
        states.sort("ListingId", "TimestampNanoseconds")
        .with_columns(
            pl.col("TimestampNanoseconds").shift(-1).over("ListingId", "Day").alias("End")
        )
        .filter(pl.col("MarketState") == "CONTINUOUS_TRADING")
        .select("ListingId", "Day", pl.col("TimestampNanoseconds").alias("Start"), "End")
    )


# --- layout and schemas ---------------------------------------------------------------------


def test_files_are_at_table_paths_with_exact_bmll_schemas(small: SampleSummary) -> None:
    lake = Lake(str(small.root))
    expected = {
        t.path(lake, mic, day) for t in TABLES for mic in ("XLON", "XNAS") for day in small.days
    }
    assert set(small.files) == expected
    for path in small.files:
        table = next(
            t
            for t in TABLES
            if path in {t.path(lake, m, d) for m in small.mics for d in small.days}
        )
        written = pl.read_parquet_schema(path)
        assert list(written.items()) == list(table.schema().items()), path


def test_weekends_are_skipped_unless_included(small: SampleSummary, tmp_path: Path) -> None:
    assert small.days == (FRIDAY, MONDAY)
    saturday = FRIDAY + dt.timedelta(days=1)
    assert not Path(TradesTable.path(Lake(str(small.root)), "XLON", saturday)).exists()
    summary = generate_lake(
        tmp_path, saturday, saturday, ["XPAR"], 1, trades_per_listing=50, exclude_weekends=False
    )
    assert summary.days == (saturday,)
    assert len(summary.files) == len(TABLES)


def test_summary_counts_rows_per_table(small: SampleSummary) -> None:
    for table in TABLES:
        assert small.rows[table.name] == _read(small, table).height
    assert small.rows["reference"] == 2 * 2 * 4  # days × MICs × listings
    assert small.rows["marketstate"] == 2 * 2 * 4 * len(STATES)


def test_kernel_tables_scan_the_lake(small: SampleSummary) -> None:
    lake = Lake(str(small.root))
    trades = TradesTable.scan(lake, ["XLON"], [FRIDAY]).collect()
    assert trades.height > 0
    assert trades["LocalPrice"].to_list() == pytest.approx(trades["Price"].to_list())


# --- determinism -----------------------------------------------------------------------------


def test_same_arguments_give_identical_bytes(small: SampleSummary, tmp_path: Path) -> None:
    again = _small(tmp_path / "again")
    other = _small(tmp_path / "other", seed=8)
    for first, second, third in zip(small.files, again.files, other.files, strict=True):
        assert Path(first).read_bytes() == Path(second).read_bytes(), first
        if "Reference" not in first and "MarketState" not in first:
            assert Path(first).read_bytes() != Path(third).read_bytes(), first


# --- market state and sessions ---------------------------------------------------------------


def test_market_state_schedule_follows_venue_time_zones(small: SampleSummary) -> None:
    states = _read(small, MarketStateTable)
    for _, rows in states.group_by("ListingId", "Day"):
        assert rows["MarketState"].to_list() == STATES
        assert rows["TimestampNanoseconds"].is_sorted()
        assert rows["TimestampNanoseconds"].n_unique() == len(STATES)
    opens = (
        states.filter(pl.col("MarketState") == "CONTINUOUS_TRADING")
        .group_by("MIC", "Day")
        .agg(pl.col("TimestampNanoseconds").unique())
        .sort("MIC", "Day")
    )
    # London is on GMT in March; New York moves from EST to EDT on 2024-03-10.
    assert opens["TimestampNanoseconds"].to_list() == [
        [dt.datetime(2024, 3, 8, 8, 0)],
        [dt.datetime(2024, 3, 11, 8, 0)],
        [dt.datetime(2024, 3, 8, 14, 30)],
        [dt.datetime(2024, 3, 11, 13, 30)],
    ]


def test_local_timestamps_are_utc_plus_offset(small: SampleSummary) -> None:
    trades = _read(small, TradesTable)
    shift = pl.duration(minutes=pl.col("TZOffset"))
    assert (
        trades["LocalTradeTimestamp"] == trades.select(pl.col("TradeTimestamp") + shift).to_series()
    ).all()
    offsets = (
        trades.group_by("MIC", "TradeDate")
        .agg(pl.col("TZOffset").unique())
        .sort("MIC", "TradeDate")
    )
    assert offsets["TZOffset"].to_list() == [[0], [0], [-300], [-240]]
    l2 = _read(small, L2Table)
    assert (l2["LocalTimestamp"] == l2.select(pl.col("EventTimestamp") + shift).to_series()).all()
    assert (l2["EventTimestamp"] == l2["TimestampNanoseconds"].dt.cast_time_unit("us")).all()


def test_trades_fall_in_their_session_phase(small: SampleSummary) -> None:
    states = _read(small, MarketStateTable).sort("TimestampNanoseconds")
    trades = _read(small, TradesTable).sort("TradeTimestampNanoseconds")
    joined = trades.join_asof(
        states.select(
            "ListingId", "Day", "TimestampNanoseconds", pl.col("MarketState").alias("Phase")
        ),
        left_on="TradeTimestampNanoseconds",
        right_on="TimestampNanoseconds",
        by=["ListingId", "Day"],
    )
    assert (joined["MarketState"] == joined["Phase"]).all()
    assert set(joined["Phase"].unique()) == {
        "OPENING_AUCTION",
        "CONTINUOUS_TRADING",
        "CLOSING_AUCTION",
    }


# --- trades ----------------------------------------------------------------------------------


def test_trade_notionals_and_codes(small: SampleSummary) -> None:
    trades = _read(small, TradesTable)
    assert trades["TradeNotional"].to_list() == pytest.approx(
        (trades["Price"] * trades["Size"]).to_list()
    )
    for mic, currency in (("XLON", "GBX"), ("XNAS", "USD")):
        mine = trades.filter(pl.col("MIC") == mic)
        assert mine["CurrencyCode"].unique().to_list() == [currency]
        assert mine["TradeNotionalEUR"].to_list() == pytest.approx(
            (mine["TradeNotional"] * FX_TO_EUR[currency]).to_list()
        )
        assert mine["TradeNotionalUSD"].to_list() == pytest.approx(
            (mine["TradeNotional"] * FX_TO_USD[currency]).to_list()
        )
    counts = dict(trades["Classification"].value_counts().iter_rows())
    assert counts["LIT_CONTINUOUS"] > 0.8 * trades.height
    assert {"LIT_AUCTION", "DARK", "OFF_BOOK_ON_EXCHANGE"} <= set(counts)
    lit = trades.filter(pl.col("Classification") == "LIT_CONTINUOUS")
    assert set(lit["AggressorSide"].unique()) == {1, 2}
    assert set(trades.filter(pl.col("Classification") != "LIT_CONTINUOUS")["AggressorSide"]) == {0}
    assert set(trades["BMLLTradeType"].unique()) == {"LIT", "DARK", "OTC"}
    assert trades.select("Day", "TradeId").n_unique() == trades.height
    assert (
        trades.group_by("ListingId")
        .agg(pl.col("TradeTimestampNanoseconds").is_sorted())["TradeTimestampNanoseconds"]
        .all()
    )


def test_lit_trades_hit_the_prevailing_book(small: SampleSummary) -> None:
    l2 = _read(small, L2Table).sort("TimestampNanoseconds")
    trades = (
        _read(small, TradesTable)
        .filter(pl.col("Classification") == "LIT_CONTINUOUS")
        .sort("TradeTimestampNanoseconds")
    )
    book = trades.join_asof(
        l2.select(
            "ListingId", "Day", "TimestampNanoseconds", "BidPrice1", "AskPrice1", "AskQuantity1"
        ),
        left_on="TradeTimestampNanoseconds",
        right_on="TimestampNanoseconds",
        by=["ListingId", "Day"],
        allow_exact_matches=False,
    )
    buys = book.filter(pl.col("AggressorSide") == 1)
    sells = book.filter(pl.col("AggressorSide") == 2)
    assert buys.height > 0 and sells.height > 0
    assert (buys["Price"] == buys["AskPrice1"]).all()
    assert (sells["Price"] == sells["BidPrice1"]).all()
    assert (book["BestBidPrice"] == book["BidPrice1"]).all()
    assert (book["BestAskPrice"] == book["AskPrice1"]).all()
    assert (buys["Size"] <= buys["AskQuantity1"]).all()
    assert ((book["PricePoint"] - (3 - 2 * book["AggressorSide"])).abs() < 1e-9).all()


def test_pre_and_post_trade_mids_come_from_the_book(small: SampleSummary) -> None:
    l2 = (
        _read(small, L2Table)
        .select(
            "ListingId",
            "Day",
            "TimestampNanoseconds",
            ((pl.col("BidPrice1") + pl.col("AskPrice1")) / 2).alias("Mid"),
        )
        .sort("TimestampNanoseconds")
    )
    trades = _read(small, TradesTable).sort("TradeTimestampNanoseconds")
    for column, shift in (("PreTradeMid1000ms", -1), ("PostTradeMid5000ms", 5)):
        at = trades.select(
            "ListingId",
            "Day",
            column,
            (pl.col("TradeTimestampNanoseconds") + pl.duration(seconds=shift))
            .dt.cast_time_unit("ns")
            .alias("At"),
        ).sort("At")
        joined = at.join_asof(
            l2, left_on="At", right_on="TimestampNanoseconds", by=["ListingId", "Day"]
        )
        assert joined[column].is_not_null().sum() > 0.9 * trades.height
        assert ((joined[column] - joined["Mid"]).abs() < 1e-9).all(), column


def test_prices_sit_on_the_tick_grid(small: SampleSummary) -> None:
    trades = _read(small, TradesTable).filter(pl.col("Classification") != "DARK")
    l2 = _read(small, L2Table).filter(pl.col("MarketState") == "CONTINUOUS_TRADING")
    ticks = l2.group_by("ListingId", "MIC").agg(
        (pl.col("AskPrice2") - pl.col("AskPrice1")).min().alias("Tick"),
        pl.col("AskPrice1").first(),
    )
    for listing, mic, tick, price in ticks.iter_rows():
        assert tick == pytest.approx(tick_size(price, VENUES[mic].us_market))
        for column in (
            trades.filter(pl.col("ListingId") == listing)["Price"],
            l2.filter(pl.col("ListingId") == listing)["BidPrice10"],
        ):
            steps = column / tick
            assert ((steps - steps.round()).abs() < 1e-6).all(), listing


# --- L2 --------------------------------------------------------------------------------------


def test_l2_books_are_ordered_and_never_crossed(small: SampleSummary) -> None:
    l2 = _read(small, L2Table).filter(pl.col("MarketState") == "CONTINUOUS_TRADING")
    assert (l2["BidPrice1"] < l2["AskPrice1"]).all()
    for k in range(1, 10):
        assert (l2[f"BidPrice{k}"] > l2[f"BidPrice{k + 1}"]).all()
        assert (l2[f"AskPrice{k}"] < l2[f"AskPrice{k + 1}"]).all()
    for k in range(1, 11):
        for side in ("Bid", "Ask"):
            assert (l2[f"{side}Quantity{k}"] > 0).all()
            assert (l2[f"{side}NumOrders{k}"] >= 1).all()
    assert (l2["BidLevelCount"] == 10).all() and (l2["AskLevelCount"] == 10).all()


def test_l2_rows_stay_in_the_session(small: SampleSummary) -> None:
    l2 = _read(small, L2Table).join(_continuous(small), on=["ListingId", "Day"])
    continuous = l2.filter(pl.col("MarketState") == "CONTINUOUS_TRADING")
    assert (
        continuous["TimestampNanoseconds"]
        .is_between(continuous["Start"], continuous["End"], closed="left")
        .all()
    )
    auction = l2.filter(pl.col("MarketState") == "OPENING_AUCTION")
    assert (auction["TimestampNanoseconds"] < auction["Start"]).all()


# --- L3 --------------------------------------------------------------------------------------


def test_l3_order_lifecycles(small: SampleSummary) -> None:
    l3 = _read(small, L3Table).with_row_index("Row")
    assert set(l3["LobAction"].unique()) == {1, 2, 3, 4}
    assert set(l3["Side"].unique()) == {1, 2}
    lives = l3.group_by("Day", "OrderId").agg(
        pl.col("LobAction").first().alias("First"),
        (pl.col("LobAction") == 2).sum().alias("Inserts"),
        (pl.col("Size") == 0).sum().alias("Ends"),
        pl.col("Size").last().alias("LastSize"),
        pl.col("TimestampNanoseconds").is_sorted().alias("Ordered"),
        pl.col("Row").is_sorted().alias("FileOrder"),
        pl.col("Side").n_unique().alias("Sides"),
    )
    assert (lives["First"] == 2).all()
    assert (lives["Inserts"] == 1).all()
    assert (lives["Ends"] <= 1).all()
    assert lives.filter(pl.col("Ends") == 1)["LastSize"].to_list() == [0] * int(lives["Ends"].sum())
    assert lives["Ordered"].all() and lives["FileOrder"].all() and (lives["Sides"] == 1).all()
    assert (l3["SizeAhead"] >= 0).all() and (l3["OrdersAhead"] >= 0).all()
    execs = l3.filter(pl.col("LobAction") == 1)
    assert (execs["OrdersAhead"] == 0).all() and (execs["PriceLevel"] == 1).all()


def test_l3_executions_are_the_lit_trades(small: SampleSummary) -> None:
    execs = _read(small, L3Table).filter(pl.col("LobAction") == 1)
    lit = _read(small, TradesTable).filter(pl.col("Classification") == "LIT_CONTINUOUS")
    lit = lit.select(
        "Day", "ListingId", "TradeId", "Price", "Size", "AggressorSide", "TradeTimestampNanoseconds"
    )
    joined = execs.drop("Price", "Size").join(
        lit, on=["Day", "ListingId", "TradeId"], how="full", coalesce=True
    )
    assert joined.height == execs.height == lit.height
    assert (joined["ExecutionPrice"] == joined["Price"]).all()
    assert (joined["ExecutionSize"].cast(pl.Float64) == joined["Size"]).all()
    assert (joined["TimestampNanoseconds"] == joined["TradeTimestampNanoseconds"]).all()
    # The resting order is on the opposite side of the aggressor.
    assert (joined["Side"] + joined["AggressorSide"] == 3).all()


def test_replaying_l3_reproduces_every_l2_snapshot(small: SampleSummary) -> None:
    listing = _read(small, ReferenceTable)["ListingId"][0]
    mine = (pl.col("ListingId") == listing) & (pl.col("Day") == FRIDAY)
    l3 = _read(small, L3Table).filter(mine)
    l2 = _read(small, L2Table).filter(mine)
    snapshots = {row["L2EventNo"]: row for row in l2.iter_rows(named=True)}
    orders: dict[str, tuple[int, float, int]] = {}
    checked = 0
    for row in l3.iter_rows(named=True):
        if row["LobAction"] != 2:
            assert orders[row["OrderId"]][2] == row["OldSize"]
        orders[row["OrderId"]] = (row["Side"], row["Price"], row["Size"])
        if row["Size"] == 0:
            del orders[row["OrderId"]]
        if not row["EndOfEvent"] or row["EventNo"] not in snapshots:
            continue
        levels: dict[tuple[int, float], list[int]] = defaultdict(lambda: [0, 0])
        for side, price, size in orders.values():
            levels[side, price][0] += size
            levels[side, price][1] += 1
        snapshot = snapshots[row["EventNo"]]
        for side, name, best_first in ((1, "Bid", True), (2, "Ask", False)):
            prices = sorted((p for s, p in levels if s == side), reverse=best_first)[:10]
            expected = [(p, *levels[side, p]) for p in prices]
            shown = [
                (
                    snapshot[f"{name}Price{k}"],
                    snapshot[f"{name}Quantity{k}"],
                    snapshot[f"{name}NumOrders{k}"],
                )
                for k in range(1, 11)
                if snapshot[f"{name}NumOrders{k}"] > 0
            ]
            assert shown == expected, (row["EventNo"], name)
        checked += 1
    assert checked == l2.height


# --- activity and sizes ----------------------------------------------------------------------


def test_activity_is_u_shaped(moderate: SampleSummary) -> None:
    trades = _read(moderate, TradesTable).filter(pl.col("Classification") == "LIT_CONTINUOUS")
    start, end = _continuous(moderate).select("Start", "End").row(0)
    half_hour = dt.timedelta(minutes=30)
    middle = start + (end - start) / 2

    def count(lo: dt.datetime, hi: dt.datetime) -> int:
        return trades.filter(
            pl.col("TradeTimestampNanoseconds").is_between(lo, hi, closed="left")
        ).height

    midday = count(middle - half_hour / 2, middle + half_hour / 2)
    assert count(start, start + half_hour) > 2 * midday
    assert count(end - half_hour, end) > 2 * midday


def test_row_ratios_follow_the_parameters(moderate: SampleSummary) -> None:
    rows = moderate.rows
    assert 0.5 * 3 * 6000 < rows["trades"] < 1.5 * 3 * 6000
    assert rows["l2"] / rows["trades"] == pytest.approx(4.0, rel=0.25)
    assert rows["l3"] / rows["trades"] == pytest.approx(8.0, rel=0.25)


# --- reference -------------------------------------------------------------------------------


def test_reference_rows(small: SampleSummary) -> None:
    ref = _read(small, ReferenceTable).filter(pl.col("Day") == FRIDAY)
    assert (ref["Date"].dt.date() == FRIDAY).all()
    assert ref.height == 8
    assert ref["ListingId"].n_unique() == 8
    assert dict(ref.select("MIC", "CurrencyCode").unique().iter_rows()) == {
        "XLON": "GBX",
        "XNAS": "USD",
    }
    # The fourth XNAS listing is a secondary listing of the fourth XLON instrument.
    shared = ref.group_by("InstrumentId").agg(
        pl.len(), pl.col("IsPrimary").sum(), pl.col("Ticker").n_unique()
    )
    assert shared.filter(pl.col("len") == 2).rows() == [
        (shared.filter(pl.col("len") == 2)["InstrumentId"][0], 2, 1, 1)
    ]
    assert ref["IsPrimary"].sum() == 7
    assert ref["ISIN"].str.len_chars().unique().to_list() == [12]


# --- errors and CLI --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mics": ["XLON", "XXXX"]}, "known MICs: XLON, XPAR"),
        ({"end_date": FRIDAY - dt.timedelta(days=1)}, "before start date"),
        ({"listings": 0}, "listings must be at least 1"),
        ({"mics": ["XLON", "xlon"]}, "duplicate MICs"),
    ],
)
def test_bad_arguments_raise_config_errors(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "root": tmp_path,
        "start_date": FRIDAY,
        "end_date": FRIDAY,
        "mics": ["XLON"],
        "listings": 1,
    }
    with pytest.raises(ConfigError, match=message):
        generate_lake(**(args | kwargs))  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


def test_cli_writes_a_lake_and_prints_a_summary(tmp_path: Path, basalt_cli: Invoke) -> None:
    result = basalt_cli(
        "sample-data",
        *["--root", str(tmp_path), "--start-date", "2024-03-08", "--mics", "xpar,XETR",
         "--listings", "2", "--trades-per-listing", "100", "--seed", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 10 files for 1 day(s)" in result.output
    assert "l3" in result.output and "reference" in result.output
    assert Path(L3Table.path(Lake(str(tmp_path)), "XETR", FRIDAY)).is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mics", "XLON,NOPE"], "unknown MIC 'NOPE'"),
        (["--mics", "XLON", "--end-date", "2024-03-01"], "before start date"),
        (["--mics", "XLON", "--listings", "0"], "listings must be at least 1"),
        (["--mics", "XLON", "--start-date", "08/03/2024"], "--start-date"),
    ],
)
def test_cli_errors_exit_with_code_2(
    tmp_path: Path, basalt_cli: Invoke, extra: list[str], message: str
) -> None:
    args = ["--root", str(tmp_path), "--start-date", "2024-03-08", "--listings", "1"]
    result = basalt_cli("sample-data", *args, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
