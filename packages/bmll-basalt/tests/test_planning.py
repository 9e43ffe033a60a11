"""Planning: date batches at calendar edges, symbol batches within the memory budget,
file layouts read from Parquet footers."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from basalt.lake import Lake
from basalt.planning.dates import auto_freq, date_batches
from basalt.planning.packing import pack_listings
from basalt.planning.sizes import inspect_file, listing_bytes

D = dt.date


def keys(start: dt.date, end: dt.date, freq: str | None, **kwargs: bool) -> list[str]:
    return [b.key for b in date_batches(start, end, freq, **kwargs)]  # type: ignore[arg-type]


def test_weekly_batches_never_start_before_the_first_day() -> None:
    # 2025-01-01 is a Wednesday: the first batch starts on it, not on Monday 2024-12-30.
    assert keys(D(2025, 1, 1), D(2025, 1, 14), "W") == [
        "2025-01-01_2025-01-05",
        "2025-01-06_2025-01-12",
        "2025-01-13_2025-01-14",
    ]


def test_month_ends_and_leap_february() -> None:
    assert keys(D(2024, 1, 30), D(2024, 3, 1), "M") == [
        "2024-01-30_2024-01-31",
        "2024-02-01_2024-02-29",
        "2024-03-01_2024-03-01",
    ]
    assert keys(D(2023, 12, 29), D(2024, 1, 2), "M") == [
        "2023-12-29_2023-12-31",
        "2024-01-01_2024-01-02",
    ]


def test_fortnights_count_from_the_first_week() -> None:
    assert keys(D(2024, 3, 6), D(2024, 4, 2), "2W") == [
        "2024-03-06_2024-03-17",
        "2024-03-18_2024-03-31",
        "2024-04-01_2024-04-02",
    ]


def test_weekends_are_skipped_unless_asked() -> None:
    [batch] = date_batches(D(2024, 3, 8), D(2024, 3, 11), None)
    assert batch.days == (D(2024, 3, 8), D(2024, 3, 11))
    assert date_batches(D(2024, 3, 9), D(2024, 3, 10), "W") == []  # a weekend alone: nothing
    [weekend] = date_batches(D(2024, 3, 9), D(2024, 3, 10), "W", exclude_weekends=False)
    assert weekend.days == (D(2024, 3, 9), D(2024, 3, 10))


def test_short_range_is_one_batch_and_auto_frequency_follows_length() -> None:
    assert keys(D(2024, 3, 5), D(2024, 3, 7), "W") == ["2024-03-05_2024-03-07"]
    lengths = (1, 7, 8, 60, 61, 180, 181)
    freqs = [auto_freq(D(2024, 1, 1), D(2024, 1, 1) + dt.timedelta(days=n - 1)) for n in lengths]
    assert freqs == [None, None, "W", "W", "2W", "2W", "M"]


@given(
    start=st.dates(D(2020, 1, 1), D(2026, 12, 31)),
    length=st.integers(0, 400),
    freq=st.sampled_from([None, "W", "2W", "M"]),
)
def test_batches_partition_the_weekdays_of_the_range(
    start: dt.date, length: int, freq: str | None
) -> None:
    end = start + dt.timedelta(days=length)
    batches = date_batches(start, end, freq)  # type: ignore[arg-type]
    days = [d for b in batches for d in b.days]
    expected = [start + dt.timedelta(days=i) for i in range(length + 1)]
    assert days == [d for d in expected if d.weekday() < 5]
    for batch in batches:
        assert start <= batch.start <= batch.days[0] and batch.days[-1] <= batch.end <= end
    assert all(a.end < b.start for a, b in itertools.pairwise(batches))


def sizes(*pairs: tuple[int, float], groups: list[int] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({"ListingId": [p[0] for p in pairs], "Bytes": [p[1] for p in pairs]})
    return frame.with_columns(InstrumentId=pl.Series(groups)) if groups else frame


def test_packing_respects_the_budget() -> None:
    assert pack_listings(sizes((1, 10), (2, 10), (3, 10), (4, 50), (5, 5)), budget_bytes=25) == [
        [1, 2],
        [3],
        [4],
        [5],
    ]


def test_packing_spreads_work_over_the_workers() -> None:
    batches = pack_listings(
        sizes(*[(i, 10.0) for i in range(1, 9)]), budget_bytes=1e9, min_batches=2
    )
    assert batches == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_packing_keeps_instruments_together() -> None:
    frame = sizes((1, 10), (2, 10), (3, 10), (4, 10), groups=[7, 9, 7, 9])
    assert pack_listings(frame, budget_bytes=25, group="InstrumentId") == [[1, 3], [2, 4]]


def test_listings_without_an_instrument_are_not_grouped_together() -> None:
    frame = sizes((1, 10), (2, 10), (3, 10), groups=[None, None, None])
    assert pack_listings(frame, budget_bytes=25, group="InstrumentId") == [[1, 2], [3]]


@given(st.lists(st.floats(0, 100), min_size=1, max_size=50), st.floats(1, 300), st.integers(1, 4))
def test_packing_invariants(bytes_: list[float], budget: float, workers: int) -> None:
    frame = sizes(*enumerate(bytes_, start=1))
    batches = pack_listings(frame, budget_bytes=budget, min_batches=workers)
    assert sorted(i for b in batches for i in b) == list(range(1, len(bytes_) + 1))
    for batch in batches:
        load = sum(bytes_[i - 1] for i in batch)
        assert load <= budget or len(batch) == 1


def test_layout_of_a_file_organised_by_listing(tmp_path: Path) -> None:
    path = tmp_path / "sorted.parquet"
    frame = pl.DataFrame({"ListingId": [1] * 30 + [2] * 20 + [3] * 10, "x": range(60)})
    frame.write_parquet(path, row_group_size=10)
    layout = inspect_file(Lake(str(tmp_path)), str(path))
    assert layout.organised and layout.rows == 60
    assert sorted(layout.counts.rows()) == [(1, 30), (2, 20), (3, 10)]


def test_layout_of_a_scattered_file_counts_listings_from_the_column(tmp_path: Path) -> None:
    path = tmp_path / "scattered.parquet"
    pl.DataFrame({"ListingId": [1, 2, 3] * 20, "x": range(60)}).write_parquet(
        path, row_group_size=10
    )
    layout = inspect_file(Lake(str(tmp_path)), str(path))
    assert not layout.organised
    assert sorted(layout.counts.rows()) == [(1, 20), (2, 20), (3, 20)]
    per_listing = listing_bytes([layout, layout]).sort("ListingId")
    assert per_listing["Bytes"].to_list() == pytest.approx([2 * 20 * layout.bytes_per_row] * 3)


def test_reading_a_layout_leaves_no_garbage_cycles(tmp_path: Path) -> None:
    """Footers can be megabytes: one caught in a reference cycle would stay in memory until
    the cycle collector runs, and a long run's planning grew by that much per file."""
    path = tmp_path / "sorted.parquet"
    pl.DataFrame({"ListingId": [1] * 30 + [2] * 30, "x": range(60)}).write_parquet(
        path, row_group_size=10
    )
    inspect_file(Lake(str(tmp_path)), str(path))  # the first read imports pyarrow
    gc.collect()
    gc.disable()
    try:
        layout = inspect_file(Lake(str(tmp_path)), str(path))
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert layout.organised and sorted(layout.counts.rows()) == [(1, 30), (2, 30)]
