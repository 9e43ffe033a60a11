"""The cbbo_analytics analytic against hand-computed values and a second-by-second oracle on
random books, end to end through a pipeline, and the cbbo and imbalance tables."""

from __future__ import annotations

import calendar
import datetime as dt
import operator
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from basalt.analytics.cbbo import CbboAnalytic, CbboConfig
from basalt.config.loading import Pipeline, validate_config
from basalt.errors import TableSchemaError
from basalt.lake import Lake
from basalt.runner import run_pipeline
from basalt.tables import DataTable
from basalt.tables.bmll import CbboTable, ImbalanceTable, L2Table, ReferenceTable
from basalt.testing import AnalyticContract, bmll_frame, l2_frame, run_analytic, table_frame
from basalt.timebuckets import BucketSpec

DAY = dt.date(2024, 3, 4)
MINUTES = BucketSpec(60)
T = dt.datetime(2024, 3, 4, 10, 0)
EPOCH = dt.datetime(1970, 1, 1)
CONTINUOUS, AUCTION = "CONTINUOUS_TRADING", "CLOSING_AUCTION"
DEFAULT_COLUMNS = [
    "TimeAtCBB",
    "TimeAtCBO",
    "QuantityAtCBB",
    "QuantityAtCBBMin",
    "QuantityAtCBBMax",
    "QuantityAtCBBMedian",
    "QuantityAtCBO",
    "QuantityAtCBOMin",
    "QuantityAtCBOMax",
    "QuantityAtCBOMedian",
]
# Listing 1 (XLON, primary) and listing 2 (BATE) of instrument 100.
UNIVERSE = pl.DataFrame(
    {
        "ListingId": [1, 2],
        "MIC": ["XLON", "BATE"],
        "InstrumentId": [100, 100],
        "IsPrimary": [True, False],
    }
)


def at(seconds: float) -> dt.datetime:
    return T + dt.timedelta(seconds=seconds)


def book(
    seconds: float,
    bid: float | None,
    ask: float | None,
    bid_quantity: int | None = 100,
    ask_quantity: int | None = 100,
    *,
    listing: int = 1,
    state: str = CONTINUOUS,
) -> dict[str, object]:
    return {
        "ListingId": listing,
        "EventTimestamp": at(seconds),
        "MarketState": state,
        "BidPrice1": bid,
        "AskPrice1": ask,
        "BidQuantity1": None if bid is None else bid_quantity,
        "AskQuantity1": None if ask is None else ask_quantity,
    }


def quote(
    seconds: float, bid: float | None, ask: float | None, *, listing: int = 1
) -> dict[str, object]:
    return {"ListingId": listing, "EventTimestamp": at(seconds), "BidPrice1": bid, "AskPrice1": ask}


def compute(
    books: Sequence[Mapping[str, object]],
    quotes: Sequence[Mapping[str, object]],
    config: Mapping[str, object] | None = None,
    *,
    universe: pl.DataFrame = UNIVERSE,
    bucket: BucketSpec = MINUTES,
) -> pl.DataFrame:
    tables = {"l2": l2_frame(books), "cbbo": table_frame(CbboTable, quotes)}
    return run_analytic(CbboAnalytic, tables, config, universe=universe, bucket=bucket)


def row(frame: pl.DataFrame, listing: int, minute: int) -> dict[str, Any]:
    label = T + dt.timedelta(minutes=minute)
    rows = frame.filter(pl.col("ListingId") == listing, pl.col("TimeBucket") == label).to_dicts()
    assert len(rows) == 1, (listing, minute, frame)
    return rows[0]


def write(root: Path, table: type[DataTable], mic: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` written as the lake file of ``table`` for ``mic`` on :data:`DAY`."""
    path = Path(table.path(Lake(str(root)), mic, DAY))
    path.parent.mkdir(parents=True, exist_ok=True)
    bmll_frame(table, rows).write_parquet(path)
    return str(path)


def metrics(frame: pl.DataFrame, listing: int, minute: int) -> dict[str, Any]:
    values = row(frame, listing, minute)
    return {k: values[k] for k in DEFAULT_COLUMNS}


# Two venues of one instrument. The consolidated quote changes between L2 updates (30 s, 45 s)
# and lags listing 1's new ask by half a second (70 s → 70.5 s).
BOOKS = [
    book(10, 10.00, 10.05, 100, 200, listing=1),
    book(70, 10.00, 10.04, 300, 50, listing=1),
    book(20, 9.99, 10.05, 400, 100, listing=2),
    book(100, 10.01, 10.06, 150, 100, listing=2),
]
QUOTES = [
    quote(0, 10.00, 10.05),
    quote(30, 10.00, 10.04),
    quote(45, 10.00, 10.05),
    quote(70.5, 10.00, 10.04),
    quote(100, 10.01, 10.04),
]


def test_two_venues_of_one_instrument() -> None:
    frame = compute(BOOKS, QUOTES)
    assert frame.columns == ["ListingId", "TimeBucket", *DEFAULT_COLUMNS]
    # Rows for buckets (10:00, 10:01] and (10:01, 10:02], labelled by their end.
    assert frame.select("ListingId", "TimeBucket").rows() == [
        (listing, T + dt.timedelta(minutes=m)) for listing in (1, 2) for m in (1, 2)
    ]
    # Listing 1, 10:01: counted from its first snapshot at 10 s: 50 s. The bid is always at
    # the CBB; the ask is at the CBO for 20 s + 15 s (not while the CBO is 10.04).
    assert metrics(frame, 1, 1) == pytest.approx(
        {
            "TimeAtCBB": 1.0,
            "TimeAtCBO": 35 / 50,
            "QuantityAtCBB": 100.0,
            "QuantityAtCBBMin": 100.0,
            "QuantityAtCBBMax": 100.0,
            "QuantityAtCBBMedian": 100.0,
            "QuantityAtCBO": 200 * 35 / 50,
            "QuantityAtCBOMin": 0.0,
            "QuantityAtCBOMax": 200.0,
            "QuantityAtCBOMedian": 200.0,  # 200 for 35 s of 50
        }
    )
    # Listing 1, 10:02: 60..70 carried in (100 at the CBB), 70..100 at 300, then the CBB
    # moves to 10.01. The ask of 10.04 is below the lagging CBO of 10.05 for 0.5 s: at it.
    assert metrics(frame, 1, 2) == pytest.approx(
        {
            "TimeAtCBB": 40 / 60,
            "TimeAtCBO": 1.0,
            "QuantityAtCBB": (100 * 10 + 300 * 30) / 60,
            "QuantityAtCBBMin": 0.0,
            "QuantityAtCBBMax": 300.0,
            "QuantityAtCBBMedian": 100.0,  # 0 for 20 s, 100 for 10 s, 300 for 30 s
            "QuantityAtCBO": (200 * 10 + 50 * 50) / 60,
            "QuantityAtCBOMin": 50.0,
            "QuantityAtCBOMax": 200.0,
            "QuantityAtCBOMedian": 50.0,
        }
    )
    # Listing 2 is compared with the same consolidated quote, from its first snapshot (20 s).
    assert metrics(frame, 2, 1) == pytest.approx(
        {
            "TimeAtCBB": 0.0,
            "TimeAtCBO": 25 / 40,
            "QuantityAtCBB": 0.0,
            "QuantityAtCBBMin": 0.0,
            "QuantityAtCBBMax": 0.0,
            "QuantityAtCBBMedian": 0.0,
            "QuantityAtCBO": 100 * 25 / 40,
            "QuantityAtCBOMin": 0.0,
            "QuantityAtCBOMax": 100.0,
            "QuantityAtCBOMedian": 100.0,
        }
    )
    assert metrics(frame, 2, 2) == pytest.approx(
        {
            "TimeAtCBB": 20 / 60,
            "TimeAtCBO": 10.5 / 60,
            "QuantityAtCBB": 150 * 20 / 60,
            "QuantityAtCBBMin": 0.0,
            "QuantityAtCBBMax": 150.0,
            "QuantityAtCBBMedian": 0.0,
            "QuantityAtCBO": 100 * 10.5 / 60,
            "QuantityAtCBOMin": 0.0,
            "QuantityAtCBOMax": 100.0,
            "QuantityAtCBOMedian": 0.0,
        }
    )


def test_the_primary_listings_copy_of_the_consolidated_quote_is_used() -> None:
    expected = compute(BOOKS, QUOTES)
    # A different copy under listing 2 (BATE) is ignored while the primary's exists.
    stale = [quote(0, 9.00, 11.00, listing=2)]
    assert_frame_equal(compute(BOOKS, QUOTES + stale), expected)
    # Without IsPrimary, the lowest ListingId's copy wins; with only listing 2's copy, it is used.
    unknown = UNIVERSE.drop("IsPrimary")
    assert_frame_equal(compute(BOOKS, stale + QUOTES, universe=unknown), expected)
    moved = [{**q, "ListingId": 2} for q in QUOTES]
    assert_frame_equal(compute(BOOKS, moved), expected)


def test_instruments_are_kept_apart() -> None:
    universe = pl.DataFrame(
        {"ListingId": [1, 2], "MIC": ["XLON", "BATE"], "InstrumentId": [100, 200]}
    )
    frame = compute(BOOKS, QUOTES, universe=universe)
    assert row(frame, 1, 1)["TimeAtCBB"] == 1.0
    # Instrument 200 has no consolidated quote: its listing's metrics are null.
    assert all(value is None for value in metrics(frame, 2, 1).values())


def test_without_instrument_a_listing_uses_its_own_rows() -> None:
    universe = pl.DataFrame(
        {"ListingId": [1, 2], "MIC": ["XLON", "BATE"], "InstrumentId": [None, 100]}
    )
    own = [quote(0, 9.99, 10.05, listing=2)]
    frame = compute(BOOKS, QUOTES + own, universe=universe)
    assert metrics(frame, 1, 1) == metrics(compute(BOOKS, QUOTES), 1, 1)
    assert row(frame, 2, 1)["TimeAtCBB"] == 1.0  # 9.99 is listing 2's own consolidated bid


def test_the_quote_in_force_is_matched_as_of_the_nanosecond() -> None:
    # The consolidated bid reaches 10.00 1 ns before the snapshot, on another millisecond,
    # and leaves it 30 s + 1 ns later.
    second = 10**9
    start = calendar.timegm(T.timetuple()) * second

    def exact(event: dict[str, object], ns: int) -> dict[str, object]:
        return {**event, "EventTimestamp": ns, "TimestampNanoseconds": ns}

    books = [exact(book(0, 10.00, None, 7), start + 10 * second)]
    quotes = [
        exact(quote(0, 10.00, 10.10), start + 10 * second - 1),
        exact(quote(0, 10.01, 10.10), start + 40 * second + 1),
    ]
    values = row(compute(books, quotes), 1, 1)
    assert values["TimeAtCBB"] == (30 * second + 1) / (50 * second)
    assert values["QuantityAtCBB"] == 7 * (30 * second + 1) / (50 * second)
    assert values["TimeAtCBO"] == 0.0  # the listing has no ask


def test_quiet_buckets_carry_the_state_in() -> None:
    books = [book(50, 10.00, 10.10, 100, 100)]
    quotes = [quote(0, 10.00, 10.10), quote(150, 10.01, 10.10)]
    frame = compute(books, quotes)
    # 10:02 has no event: the state from 50 s holds for all of it.
    assert frame["TimeBucket"].to_list() == [T + dt.timedelta(minutes=m) for m in (1, 2, 3)]
    assert frame["TimeAtCBB"].to_list() == pytest.approx([1.0, 1.0, 30 / 60])
    assert frame["QuantityAtCBB"].to_list() == pytest.approx([100.0, 100.0, 50.0])
    assert frame["QuantityAtCBBMedian"].to_list() == [100.0, 100.0, 0.0]  # lower median at ½


def test_events_on_bucket_edges() -> None:
    # Right-closed buckets: a snapshot at 60 s closes (10:00, 10:01]; its state starts 10:02.
    books = [book(30, 10.00, 10.10), book(60, 9.99, 10.10), book(120, 10.00, 10.10)]
    quotes = [quote(0, 10.00, 10.10)]
    frame = compute(books, quotes)
    assert frame["TimeBucket"].to_list() == [T + dt.timedelta(minutes=m) for m in (1, 2)]
    assert frame["TimeAtCBB"].to_list() == [1.0, 0.0]  # the timeline ends at 120 s
    # Left-closed buckets labelled by their start: [10:01, 10:02) holds 9.99, [10:02, 10:03)
    # 10.00 again, and the timeline runs to the end of the last snapshot's bucket.
    left = compute(books, quotes, bucket=BucketSpec(60, anchor="start", closed="left"))
    assert left["TimeBucket"].to_list() == [T + dt.timedelta(minutes=m) for m in (0, 1, 2)]
    assert left["TimeAtCBB"].to_list() == [1.0, 0.0, 1.0]


def test_market_states_count_only_time_in_those_states() -> None:
    books = [
        book(10, 10.00, 10.10, listing=1),
        book(40, 10.00, 10.10, 500, 500, listing=1, state=AUCTION),
        book(70, 10.00, 10.10, 500, 500, listing=1, state=AUCTION),
    ]
    quotes = [quote(0, 10.00, 10.10), quote(20, 10.01, 10.10)]
    config = {"market_states": CONTINUOUS}
    frame = compute(books, quotes, config)
    # Only 10..40 s counts: at the CBB for 10 s of 30; no row for the auction-only bucket.
    assert frame["TimeBucket"].to_list() == [T + dt.timedelta(minutes=1)]
    assert row(frame, 1, 1)["TimeAtCBB"] == pytest.approx(10 / 30)
    assert row(frame, 1, 1)["QuantityAtCBBMax"] == 100.0
    assert compute(books, quotes)["TimeBucket"].len() == 2


def test_empty_sides() -> None:
    books = [book(10, None, 10.10), book(40, 10.00, None)]
    quotes = [quote(0, 10.00, None), quote(30, 10.00, 10.10)]
    values = row(compute(books, quotes), 1, 1)
    # An empty listing side is not at the consolidated one; time without a consolidated
    # price on a side (the CBO before 30 s) counts for neither part of that side's share.
    assert values["TimeAtCBB"] == pytest.approx(20 / 50)
    assert values["QuantityAtCBBMin"] == 0.0
    assert values["TimeAtCBO"] == pytest.approx(10 / 30)
    assert values["QuantityAtCBO"] == pytest.approx(100 * 10 / 30)


def test_equal_timestamps_go_to_the_later_row() -> None:
    books = [book(10, 9.99, 10.10), book(10, 10.00, 10.10)]
    quotes = [quote(0, 10.00, 10.10), quote(30, 10.01, 10.10), quote(30, 10.00, 10.10)]
    assert compute(books, quotes)["TimeAtCBB"].to_list() == [1.0]
    assert compute(books[::-1], quotes[:1])["TimeAtCBB"].to_list() == [0.0]


def test_options() -> None:
    assert CbboConfig().metrics()[0] == ("TimeAtCBB", "CBB", "TimeAt")
    assert [c.name for c in CbboConfig().columns()] == DEFAULT_COLUMNS
    config = {
        "metric_prefix": "C_",
        "measures": ["QuantityAtCBO", "TimeAtCBB"],
        "quantity_aggregations": ["Median", "TWMean"],
    }
    frame = compute(BOOKS, QUOTES, config)
    assert frame.columns[2:] == ["C_QuantityAtCBOMedian", "C_QuantityAtCBO", "C_TimeAtCBB"]
    assert row(frame, 1, 1)["C_QuantityAtCBO"] == pytest.approx(140.0)
    assert CbboConfig.model_validate({"measures": "TimeAtCBO"}).measures == ["TimeAtCBO"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"measures": ["TimeAtCBB", "TimeAtCBB"]}, "'TimeAtCBB' would be produced twice"),
        ({"quantity_aggregations": ["Min", "Min"]}, "'QuantityAtCBBMin' would be produced twice"),
        ({"measures": ["TimeAtNBB"]}, "TimeAtCBB"),
        ({"quantity_aggregations": ["Mean"]}, "TWMean"),
        ({"measures": []}, "at least 1 item"),
        ({"market_states": []}, "at least 1 item"),
        ({"ENABLED": True}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_options(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        CbboConfig.model_validate(config)


# --- random books against a second-by-second oracle --------------------------------------------

BUCKETS = [
    BucketSpec(60),
    BucketSpec(45, anchor="start"),
    BucketSpec(30, closed="left"),
    BucketSpec(60, anchor="start", closed="left"),
]
prices = st.one_of(st.none(), st.integers(998, 1002))  # cents: equal prices are frequent
book_rows = st.lists(
    st.tuples(
        st.integers(0, 200),  # seconds after 10:00
        st.sampled_from([1, 2]),
        prices,
        prices,
        st.integers(0, 500),
        st.integers(0, 500),
        st.sampled_from([CONTINUOUS, AUCTION]),
    ),
    min_size=1,
    max_size=15,
)
quote_rows = st.lists(
    st.tuples(st.integers(0, 240), prices, prices, st.sampled_from([1, 2])), max_size=15
)


Sample = dict[str, tuple[bool | None, int | None]]
"""Per quote (CBB, CBO): whether the listing is at it (None: no consolidated price), and the
quantity it shows there."""


def sample(book: Mapping[str, Any], consolidated: Mapping[str, Any]) -> Sample:
    """The state of one second, per quote."""
    out: Sample = {}
    for name, side, better in (("CBB", "Bid", operator.ge), ("CBO", "Ask", operator.le)):
        price, best = book[f"{side}Price1"], consolidated[f"{side}Price1"]
        if best is None:
            out[name] = (None, None)
        elif price is not None and better(price, best):
            out[name] = (True, book[f"{side}Quantity1"])
        else:
            out[name] = (False, 0)
    return out


def summary(samples: list[Sample]) -> dict[str, Any]:
    """The metrics of a bucket from its samples, one per counted second."""
    values: dict[str, Any] = {}
    for name in ("CBB", "CBO"):
        hits = [hit for hit, _ in (s[name] for s in samples) if hit is not None]
        quantities = sorted(q for _, q in (s[name] for s in samples) if q is not None)
        values[f"TimeAt{name}"] = sum(hits) / len(hits) if hits else None
        values[f"QuantityAt{name}"] = sum(quantities) / len(quantities) if quantities else None
        values[f"QuantityAt{name}Min"] = quantities[0] if quantities else None
        values[f"QuantityAt{name}Max"] = quantities[-1] if quantities else None
        lower_median = quantities[(len(quantities) - 1) // 2] if quantities else None
        values[f"QuantityAt{name}Median"] = lower_median
    return values


def oracle(
    books: list[dict[str, Any]],
    quotes: list[dict[str, Any]],
    bucket: BucketSpec,
    states: list[str] | None,
) -> dict[tuple[int, dt.datetime], dict[str, Any]]:
    """The metrics from the state at every whole second (events are on whole seconds, so
    the state is constant from one to the next). Quotes of listing 1 (the primary) are used
    while it has any."""
    width = int(bucket.seconds)
    base = calendar.timegm(T.timetuple())
    source = 1 if any(q["ListingId"] == 1 for q in quotes) else 2
    quoted = [q for q in quotes if q["ListingId"] == source]
    no_quote = {"BidPrice1": None, "AskPrice1": None}

    def seconds(event: Mapping[str, Any]) -> int:
        return int((event["EventTimestamp"] - T).total_seconds())

    def in_force(events: list[dict[str, Any]], second: int) -> dict[str, Any] | None:
        """The latest event at or before ``second``; of equal times, the later in the list."""
        past = [(seconds(e), n, e) for n, e in enumerate(events) if seconds(e) <= second]
        return max(past, key=lambda item: item[:2])[2] if past else None

    out: dict[tuple[int, dt.datetime], dict[str, Any]] = {}
    for listing in (1, 2):
        own = [b for b in books if b["ListingId"] == listing]
        if not own:
            continue
        start = min(seconds(b) for b in own)
        last = base + max(seconds(e) for e in own + quoted if seconds(e) >= start)
        closing_edge = -(-last // width) if bucket.closed == "right" else last // width + 1
        samples: dict[dt.datetime, list[Sample]] = {}
        for second in range(start, closing_edge * width - base):
            state = in_force(own, second)
            assert state is not None
            if states is not None and state["MarketState"] not in states:
                continue
            floor = (base + second) // width * width
            label = EPOCH + dt.timedelta(seconds=floor + width if bucket.anchor == "end" else floor)
            consolidated = in_force(quoted, second) or no_quote
            samples.setdefault(label, []).append(sample(state, consolidated))
        out |= {(listing, label): summary(values) for label, values in samples.items()}
    return out


@settings(max_examples=60, deadline=None)
@given(book_rows, quote_rows, st.sampled_from(BUCKETS), st.sampled_from([None, [CONTINUOUS]]))
def test_random_books_against_an_oracle(
    book_data: list[tuple[int, int, int | None, int | None, int, int, str]],
    quote_data: list[tuple[int, int | None, int | None, int]],
    bucket: BucketSpec,
    states: list[str] | None,
) -> None:
    books = [
        book(
            s,
            None if bid is None else bid / 100,
            None if ask is None else ask / 100,
            bq,
            aq,
            listing=listing,
            state=state,
        )
        for s, listing, bid, ask, bq, aq, state in book_data
    ]
    quotes = [
        quote(s, None if b is None else b / 100, None if a is None else a / 100, listing=listing)
        for s, b, a, listing in quote_data
    ]
    frame = compute(books, quotes, {"market_states": states}, bucket=bucket)
    for name in ("TimeAtCBB", "TimeAtCBO"):
        assert frame[name].drop_nulls().is_between(0, 1).all()
    for quote_name in ("CBB", "CBO"):
        mean, low, high, median = (
            frame[f"QuantityAt{quote_name}{suffix}"] for suffix in ("", "Min", "Max", "Median")
        )
        assert ((low <= mean + 1e-9) & (mean <= high + 1e-9) | mean.is_null()).all()
        assert ((low <= median) & (median <= high) | median.is_null()).all()
    expected = oracle(books, quotes, bucket, states)
    assert {(r["ListingId"], r["TimeBucket"]) for r in frame.to_dicts()} == set(expected)
    for values in frame.to_dicts():
        want = expected[(values["ListingId"], values["TimeBucket"])]
        assert {k: values[k] for k in want} == pytest.approx(want)


class TestCbboContract(AnalyticContract):
    analytic = CbboAnalytic
    tables = {"l2": l2_frame(BOOKS), "cbbo": table_frame(CbboTable, QUOTES)}
    expected_columns = DEFAULT_COLUMNS


class TestCbboOptionsContract(AnalyticContract):
    analytic = CbboAnalytic
    tables = {"l2": l2_frame(BOOKS), "cbbo": table_frame(CbboTable, QUOTES)}
    config = {
        "metric_prefix": "C_",
        "measures": "QuantityAtCBB",
        "quantity_aggregations": ["Max", "TWMean"],
        "market_states": [CONTINUOUS],
    }
    expected_columns = ["C_QuantityAtCBBMax", "C_QuantityAtCBB"]


# --- end to end: two venues in the lake, CBBO files per MIC ------------------------------------


def test_pipeline_over_a_lake(tmp_path: Path) -> None:
    reference = [
        {"ListingId": 1, "InstrumentId": 100, "MIC": "XLON", "Ticker": "AAA", "IsPrimary": True},
        {"ListingId": 3, "InstrumentId": 300, "MIC": "XLON", "Ticker": "CCC", "IsPrimary": True},
        {"ListingId": 2, "InstrumentId": 100, "MIC": "BATE", "Ticker": "AAA", "IsPrimary": False},
    ]
    lake = tmp_path / "lake"
    write(lake, ReferenceTable, "XLON", reference[:2])
    write(lake, ReferenceTable, "BATE", reference[2:])
    other = [book(5, 20.00, 20.30, listing=3)]
    other_quotes = [quote(0, 20.00, 20.20, listing=3)]
    write(lake, L2Table, "XLON", [b for b in BOOKS if b["ListingId"] == 1] + other)
    write(lake, L2Table, "BATE", [b for b in BOOKS if b["ListingId"] == 2])
    write(lake, CbboTable, "XLON", QUOTES + other_quotes)
    raw = {
        "START_DATE": DAY.isoformat(),
        "DATA_ROOT": str(lake),
        "PASSES": [{"name": "quotes", "modules": ["cbbo_analytics"]}],
        "OUTPUT_TARGET": {"path_template": f"{tmp_path}/out/{{pass}}/{{start_date}}.parquet"},
        "EXECUTOR": "serial",
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "test"))
    assert summary.ok
    frame = pl.read_parquet(summary.passes[0].outputs[0])
    assert_frame_equal(
        frame.filter(pl.col("ListingId") != 3).select("ListingId", "TimeBucket", *DEFAULT_COLUMNS),
        compute(BOOKS, QUOTES),
    )
    assert row(frame, 3, 1)["TimeAtCBB"] == 1.0 and row(frame, 3, 1)["TimeAtCBO"] == 0.0


# --- the cbbo and imbalance tables -------------------------------------------------------------


def test_lake_paths() -> None:
    lake = Lake("/lake")
    assert (
        CbboTable.path(lake, "XLON", DAY) == "/lake/CBBO/XLON/2024/03/04/cbbo-XLON-20240304.parquet"
    )
    assert (
        ImbalanceTable.path(lake, "XPAR", DAY)
        == "/lake/Imbalance/XPAR/2024/03/04/imbalance-XPAR-20240304.parquet"
    )


def test_cbbo_scan(tmp_path: Path) -> None:
    exact = calendar.timegm(at(59).timetuple()) * 10**9 + 999_999_999  # 10:00:59.999999999
    rows = [
        {**quote(10, 10.0, 10.1), "BidQuantity1": 5, "MIC": "XLON"},
        {**quote(0, 20.0, 20.2, listing=2), "TimestampNanoseconds": exact},
        {**quote(61, 10.0, 10.2), "TimestampNanoseconds": None},
        {**quote(30, 30.0, 30.3, listing=3)},
    ]
    write(tmp_path, CbboTable, "XLON", rows)
    frame = CbboTable.scan(
        Lake(str(tmp_path)), ["XLON", "XPAR"], [DAY], listing_ids=[1, 2], bucket=BucketSpec(60)
    ).collect()
    assert frame.schema["EventTimestamp"] == pl.Datetime("ns")
    assert frame.schema["TimeBucket"] == pl.Datetime("ns")
    assert frame["ListingId"].to_list() == [1, 2, 1]
    assert frame["EventTimestamp"].dt.epoch("ns").to_list()[1] == exact
    assert frame["EventTimestamp"].to_list()[::2] == [at(10), at(61)]
    assert frame["TimeBucket"].to_list() == [at(60), at(60), at(120)]
    assert frame["BidQuantity1"].to_list() == [5, None, None]
    assert set(CbboTable.schema().names()) <= set(frame.columns)


def test_imbalance_scan(tmp_path: Path) -> None:
    exact = calendar.timegm(at(60).timetuple()) * 10**9 + 1  # just after 10:01
    rows = [
        {"ListingId": 1, "Timestamp": at(30), "MarketState": AUCTION, "ImbalanceSide": 1},
        {"ListingId": 1, "Timestamp": at(60), "TimestampNanoseconds": exact},
        {"ListingId": 2, "Timestamp": at(45), "PairedQuantity": 1000.0, "IsCrossed": False},
    ]
    path = write(tmp_path, ImbalanceTable, "XLON", rows)
    lake = Lake(str(tmp_path))
    frame = ImbalanceTable.scan(lake, ["XLON"], [DAY], bucket=BucketSpec(60)).collect()
    assert frame.schema["EventTimestamp"] == pl.Datetime("ns")
    assert frame["EventTimestamp"].dt.epoch("ns").to_list()[1] == exact
    assert frame["EventTimestamp"].to_list()[::2] == [at(30), at(45)]
    assert frame["TimeBucket"].to_list() == [at(60), at(120), at(60)]
    assert frame["PairedQuantity"].to_list() == [None, None, 1000.0]
    assert ImbalanceTable.scan(lake, ["XLON"], [DAY], listing_ids=[2]).collect().height == 1
    assert ImbalanceTable.scan(lake, ["XPAR"], [DAY]).collect().is_empty()
    assert path == ImbalanceTable.path(lake, "XLON", DAY)


@pytest.mark.parametrize(
    ("table", "row_", "dropped", "missing"),
    [
        (
            CbboTable,
            quote(10, 10.0, 10.1),
            ["AskPrice1", "EventTimestamp"],
            "EventTimestamp, AskPrice1",
        ),
        (ImbalanceTable, {"ListingId": 1, "Timestamp": at(1)}, ["ListingId"], "ListingId"),
    ],
)
def test_missing_required_columns_name_the_file(
    tmp_path: Path,
    table: type[DataTable],
    row_: dict[str, object],
    dropped: list[str],
    missing: str,
) -> None:
    path = write(tmp_path, table, "XLON", [row_])
    pl.read_parquet(path).drop(dropped).write_parquet(path)
    with pytest.raises(TableSchemaError) as info:
        table.scan(Lake(str(tmp_path)), ["XLON"], [DAY])
    expected = f"the {table.name} table requires column(s) {missing}, which this file"
    assert str(info.value) == f"{path}: {expected} does not have"
