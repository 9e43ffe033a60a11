"""The correlation, observed_events and external_events analytics against independent
computations on small series (numpy's correlation, a hand-smoothed series, hand offsets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from basalt.analytics.correlation import CorrelationAnalytic
from basalt.analytics.external_events import ExternalEventsAnalytic, ExternalEventsConfig, offsets
from basalt.analytics.observed_events import ObservedEventsAnalytic
from basalt.testing import AnalyticContract, run_analytic

T = dt.datetime(2024, 3, 4, 10, 1)
RNG = np.random.default_rng(7)
A = RNG.normal(size=12)
B = 0.6 * A + RNG.normal(size=12)
C = RNG.normal(size=12)


def source(listings: Mapping[int, dict[str, list[float]]]) -> pl.LazyFrame:
    frames = [
        pl.DataFrame(
            {
                "ListingId": listing,
                "TimeBucket": [
                    T + dt.timedelta(minutes=i) for i in range(len(next(iter(columns.values()))))
                ],
                "MIC": "XLON",
                **columns,
            }
        )
        for listing, columns in listings.items()
    ]
    return pl.concat(frames).lazy().with_columns(pl.col("TimeBucket").cast(pl.Datetime("ns")))


SERIES = source(
    {1: {"A": list(A), "B": list(B), "C": list(C)}, 2: {"A": list(C), "B": list(A), "C": list(B)}}
)


def correlate(config: Mapping[str, object]) -> pl.DataFrame:
    return run_analytic(CorrelationAnalytic, {"p": SERIES}, {"source_pass": "p", **config})


def rank(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values)).astype(float)


def test_pearson_rows_equal_numpy() -> None:
    frame = correlate({})
    assert frame.columns == ["ListingId", "MetricX", "MetricY", "Corr"]
    assert frame.filter(pl.col("ListingId") == 1).select("MetricX", "MetricY").rows() == [
        ("A", "B"),
        ("A", "C"),
        ("B", "C"),
    ]
    got = {(r[0], r[1], r[2]): r[3] for r in frame.rows()}
    assert got[1, "A", "B"] == pytest.approx(np.corrcoef(A, B)[0, 1], rel=1e-12)
    assert got[2, "B", "C"] == pytest.approx(np.corrcoef(A, B)[0, 1], rel=1e-12)
    assert got[1, "A", "C"] == pytest.approx(np.corrcoef(A, C)[0, 1], rel=1e-12)


def test_spearman_is_the_correlation_of_ranks() -> None:
    frame = correlate({"method": "spearman", "columns": ["A", "C"]})
    [value] = frame.filter(pl.col("ListingId") == 1)["Corr"].to_list()
    assert value == pytest.approx(np.corrcoef(rank(A), rank(C))[0, 1], rel=1e-12)


def test_matrix_output() -> None:
    frame = correlate({"output_format": "matrix", "columns": ["A", "B"], "group_by": "ListingId"})
    assert frame.columns == ["ListingId", "MetricX", "A", "B"]
    one = frame.filter(pl.col("ListingId") == 1)
    r = np.corrcoef(A, B)[0, 1]
    assert one.select("MetricX", "A", "B").rows() == [
        ("A", 1.0, pytest.approx(r)),
        ("B", pytest.approx(r), 1.0),
    ]
    with pytest.raises(ValidationError, match="needs columns"):
        correlate({"output_format": "matrix"})


def test_correlation_is_bounded_and_null_for_constant_series() -> None:
    flat = source({1: {"A": [1.0, 1.0, 1.0], "B": [1.0, 2.0, 4.0]}})
    frame = run_analytic(CorrelationAnalytic, {"p": flat}, {"source_pass": "p"})
    assert frame["Corr"].to_list() == [None]
    assert correlate({})["Corr"].is_between(-1, 1).all()


# --- observed events ----------------------------------------------------------------------------

CLOSES = [10.0, 11.0, 12.0, 11.0, 10.0, 9.0, 10.0, 12.0, 13.0, 12.0]


def sma(values: list[float], window: int) -> list[float | None]:
    return [
        None if i + 1 < window else sum(values[i + 1 - window : i + 1]) / window
        for i in range(len(values))
    ]


def test_local_extrema_of_the_moving_average() -> None:
    frame = run_analytic(
        ObservedEventsAnalytic,
        {"p": source({1: {"Close": CLOSES}})},
        {"source_pass": "p", "input_col": "Close", "window": 2},
    )
    smoothed = sma(CLOSES, 2)  # 10.5 11.5 11.5 10.5 9.5 9.5 11 12.5 12.5
    assert smoothed[5] == 9.5
    # 11.5 twice is no strict maximum; 9.5 twice no strict minimum; 12.5 twice neither.
    assert frame.rows() == []
    frame = run_analytic(
        ObservedEventsAnalytic,
        {"p": source({1: {"Close": CLOSES}})},
        {"source_pass": "p", "input_col": "Close", "window": 3},
    )
    smoothed = sma(CLOSES, 3)  # _ _ 11 11.33 11 10 9.67 10.33 11.67 12.33
    assert frame.select("TimeBucket", "EventType", "IndicatorValue").rows() == [
        (T + dt.timedelta(minutes=3), "local_max", pytest.approx(smoothed[3])),
        (T + dt.timedelta(minutes=6), "local_min", pytest.approx(smoothed[6])),
    ]
    assert set(frame["Indicator"]) == {"sma"}


def test_only_the_requested_event_types_and_ewma() -> None:
    frame = run_analytic(
        ObservedEventsAnalytic,
        {"p": source({1: {"Close": CLOSES}})},
        {
            "source_pass": "p",
            "input_col": "Close",
            "window": 3,
            "indicator": "ewma",
            "event_types": "local_min",
        },
    )
    alpha = 2 / (3 + 1)
    weights = [(1 - alpha) ** k for k in range(10)]
    ewma = [
        sum(w * v for w, v in zip(weights, reversed(CLOSES[: i + 1]), strict=False))
        / sum(weights[: i + 1])
        for i in range(len(CLOSES))
    ]
    minima = [i for i in range(1, 9) if ewma[i] < ewma[i - 1] and ewma[i] < ewma[i + 1]]
    assert frame["TimeBucket"].to_list() == [T + dt.timedelta(minutes=i) for i in minima]
    assert frame["IndicatorValue"].to_list() == pytest.approx([ewma[i] for i in minima])
    assert set(frame["EventType"]) == {"local_min"}


class TestCorrelationContract(AnalyticContract):
    analytic = CorrelationAnalytic
    tables = {"p": SERIES}
    config = {"source_pass": "p"}
    expected_columns = ["Corr"]


class TestObservedEventsContract(AnalyticContract):
    analytic = ObservedEventsAnalytic
    tables = {"p": source({1: {"Close": CLOSES}})}
    config = {"source_pass": "p", "input_col": "Close", "window": 3}
    expected_columns = ["EventType", "Indicator", "IndicatorValue"]


# --- external events ------------------------------------------------------------------------------

ANCHORS = pl.LazyFrame(
    {
        "ListingId": [1, 2],
        "TimeBucket": [T, T + dt.timedelta(minutes=30)],
        "Kind": ["news", "halt"],
    },
    schema_overrides={"TimeBucket": pl.Datetime("ns")},
)


def test_offsets_even_and_geometric() -> None:
    even = ExternalEventsConfig(radius_seconds=300, extra_observations=3, directions="forward")
    assert offsets(even) == [(0, 0.0), (1, 100.0), (2, 200.0), (3, 300.0)]
    dense = ExternalEventsConfig(radius_seconds=70, extra_observations=3, scale_factor=2)
    assert offsets(dense) == [
        (-3, -70.0),
        (-2, -30.0),
        (-1, -10.0),
        (0, 0.0),
        (1, 10.0),
        (2, 30.0),
        (3, 70.0),
    ]


def test_rows_around_each_anchor_in_the_buckets_holding_them() -> None:
    config = {
        "source_pass": "events",
        "radius_seconds": 120,
        "extra_observations": 2,
        "passthrough_columns": "Kind",
    }
    frame = run_analytic(ExternalEventsAnalytic, {"events": ANCHORS}, config)
    first = frame.filter(pl.col("ListingId") == 1)
    minute = dt.timedelta(minutes=1)
    assert first.select("TimeBucket", "EventContextIndex", "EventDeltaSeconds", "Kind").rows() == [
        (T - 2 * minute, -2, -120.0, "news"),
        (T - minute, -1, -60.0, "news"),
        (T, 0, 0.0, "news"),
        (T + minute, 1, 60.0, "news"),
        (T + 2 * minute, 2, 120.0, "news"),
    ]
    assert set(first["EventAnchorTime"]) == {T}
    assert frame.height == 10


class TestExternalEventsContract(AnalyticContract):
    analytic = ExternalEventsAnalytic
    tables = {"events": ANCHORS}
    config = {"source_pass": "events", "radius_seconds": 60, "extra_observations": 1}
    expected_columns = ["EventDeltaSeconds"]
