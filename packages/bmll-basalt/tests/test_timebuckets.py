"""TimeBucket labels for every anchor/closed combination, on and off bucket edges."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from basalt.timebuckets import BucketSpec

T0 = dt.datetime(2024, 3, 4, 10, 0)


def label(spec: BucketSpec, *times: dt.datetime) -> list[dt.datetime]:
    frame = pl.DataFrame({"t": list(times)}, schema={"t": pl.Datetime("ns")})
    return frame.select(spec.label(pl.col("t")))["TimeBucket"].to_list()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("anchor", "closed", "expected"),
    [
        # event at 10:00:30, exactly at 10:01:00, and 1 µs after 10:01:00
        ("end", "right", [at(60), at(60), at(120)]),
        ("end", "left", [at(60), at(120), at(120)]),
        ("start", "left", [at(0), at(60), at(60)]),
        ("start", "right", [at(0), at(0), at(60)]),
    ],
)
def test_labels_at_edges(anchor: str, closed: str, expected: list[dt.datetime]) -> None:
    spec = BucketSpec(60, anchor, closed)  # type: ignore[arg-type]
    assert label(spec, at(30), at(60), at(60.000001)) == expected


def test_default_is_end_anchored_right_closed() -> None:
    assert BucketSpec() == BucketSpec(60.0, "end", "right")


def test_nanosecond_precision_is_kept_at_the_edge() -> None:
    edge = pl.Series([1_709_546_460_000_000_000, 1_709_546_460_000_000_001]).cast(pl.Datetime("ns"))
    labels = pl.DataFrame({"t": edge}).select(BucketSpec(60).label(pl.col("t")))["TimeBucket"]
    assert labels.dt.epoch("ns").to_list() == [1_709_546_460_000_000_000, 1_709_546_520_000_000_000]


def test_label_dtype_is_nanoseconds_for_microsecond_input() -> None:
    frame = pl.DataFrame({"t": [at(1)]}, schema={"t": pl.Datetime("us")})
    assert frame.select(BucketSpec(300).label(pl.col("t"))).schema["TimeBucket"] == pl.Datetime(
        "ns"
    )


def test_sub_second_and_daily_widths() -> None:
    assert label(BucketSpec(0.5), at(0.2), at(0.5)) == [at(0.5), at(0.5)]
    midnight = dt.datetime(2024, 3, 5)
    assert label(BucketSpec(86400), at(0)) == [midnight]


@given(
    offset_ns=st.integers(min_value=0, max_value=10**15),
    width=st.sampled_from([1, 5, 60, 300, 3600]),
    anchor=st.sampled_from(["end", "start"]),
    closed=st.sampled_from(["right", "left"]),
)
def test_event_lies_inside_its_bucket(offset_ns: int, width: int, anchor: str, closed: str) -> None:
    ns = 1_700_000_000_000_000_000 + offset_ns
    spec = BucketSpec(width, anchor, closed)  # type: ignore[arg-type]
    frame = pl.DataFrame({"t": [ns]}).with_columns(pl.col("t").cast(pl.Datetime("ns")))
    got = frame.select(spec.label(pl.col("t")).dt.epoch("ns"))["TimeBucket"][0]
    w = spec.width_ns
    start = got - w if anchor == "end" else got
    assert start % w == 0
    if closed == "right":
        assert start < ns <= start + w
    else:
        assert start <= ns < start + w
