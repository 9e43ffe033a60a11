"""A partition replaces exactly its own days in every target, rows stamped outside their
file's day are dropped and counted, parquet partitions never overwrite each other, and
``RESUME`` skips a partition only when every one of its days was written."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from basalt.config.loading import Pipeline, validate_config
from basalt.config.models import OutputConfig
from basalt.errors import ConfigError
from basalt.lake import Lake
from basalt.plugins import get_registry
from basalt.runner import RunSummary, run_pipeline
from basalt.sampledata import generate_lake
from basalt.tables import TradesTable

FIRST, LAST = dt.date(2024, 3, 4), dt.date(2024, 3, 15)  # two weeks
MISDATED_DAY = dt.date(2024, 3, 5)
KEYS = ["ListingId", "TimeBucket"]
TRADE = {"generic_metrics": [{"sides": ["Total"], "measures": ["Volume", "Count"]}]}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks of two XLON listings; Tuesday of week 1 holds one lit continuous trade
    stamped eight days later (a Wednesday of week 2)."""
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FIRST, LAST, ["XLON"], listings=2, trades_per_listing=200)
    path = Path(TradesTable.path(Lake(str(root)), "XLON", MISDATED_DAY))
    trades = pl.read_parquet(path)
    late = dt.timedelta(days=8)
    misdated = pl.int_range(pl.len()) == misdated_row(trades)["index"]
    trades.with_columns(
        pl.when(misdated).then(pl.col(c) + late).otherwise(pl.col(c)).alias(c)
        for c in ("TradeTimestamp", "TradeTimestampNanoseconds")
    ).write_parquet(path)
    return root


def misdated_row(trades: pl.DataFrame) -> dict[str, Any]:
    """The first lit continuous trade of ``trades``, with its ``index``."""
    lit = trades.with_row_index().filter(pl.col("Classification") == "LIT_CONTINUOUS")
    return lit.row(0, named=True)


def lake_volumes(lake: Path, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Lit continuous volume per listing and day, straight from the lake's files of those
    days (each row counted on its file's day)."""
    frames = [
        pl.read_parquet(p)
        .filter(pl.col("Classification") == "LIT_CONTINUOUS")
        .select("ListingId", "Size")
        .with_columns(pl.lit(day).alias("Day"))
        for day in (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        if (p := Path(TradesTable.path(Lake(str(lake)), "XLON", day))).is_file()
    ]
    return (
        pl.concat(frames).group_by("ListingId", "Day").agg(pl.sum("Size")).sort("ListingId", "Day")
    )


Output = Callable[[Path], dict[str, Any]]


@pytest.fixture(params=["parquet", "sqlite", "postgresql", "delta"])
def output(request: pytest.FixtureRequest) -> Output:
    """The OUTPUT_TARGET of each kind, given a directory."""
    kind = request.param

    def make(directory: Path) -> dict[str, Any]:
        if kind == "parquet":  # a file per week, named by its first day
            return {"path_template": f"{directory}/{{pass}}/{{start_date}}.parquet"}
        if kind == "delta":
            return {"type": "delta", "path_template": f"{directory}/{{pass}}"}
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'out.db'}"
        else:
            url = request.getfixturevalue("postgres_url")
        return {"type": "sql", "sql_connection": url, "sql_table": f"t_{uuid.uuid4().hex[:8]}"}

    return make


def run(
    lake: Path, output: dict[str, Any], first: dt.date, last: dt.date, **extra: Any
) -> RunSummary:
    raw = {
        "START_DATE": str(first),
        "END_DATE": str(last),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade"], "trade": TRADE}],
        "OUTPUT_TARGET": output,
        **extra,
    }
    return run_pipeline(Pipeline(validate_config(raw), "test"))


def written(output: dict[str, Any], directory: Path) -> pl.DataFrame:
    """Every row the target holds, sorted."""
    kind = output.get("type", "parquet")
    if kind == "parquet":
        frame = pl.read_parquet(sorted((directory / "p1").glob("*.parquet")))
    else:
        target = get_registry().outputs[kind](OutputConfig(**output))
        frame = target.scan(output.get("sql_table") or str(directory / "p1")).collect()
    return frame.with_columns(pl.col("TimeBucket").cast(pl.Datetime("us"))).sort(KEYS)


def daily(frame: pl.DataFrame) -> pl.DataFrame:
    """Volume per listing and day of bucket (the day of a bucket's middle)."""
    day = (pl.col("TimeBucket") - pl.duration(seconds=30)).dt.date().alias("Day")
    return (
        frame.group_by("ListingId", day)
        .agg(pl.col("TradeTotalVolume").sum().alias("Size"))
        .sort("ListingId", "Day")
    )


def test_a_rewrite_replaces_exactly_its_days_and_misdated_rows_are_dropped(
    lake: Path, output: Output, tmp_path: Path
) -> None:
    target = output(tmp_path)
    both = run(lake, target, FIRST, LAST)
    assert both.ok and both.passes[0].out_of_range == 1
    before = written(target, tmp_path)
    week_two = before.filter(pl.col("TimeBucket").dt.date() > dt.date(2024, 3, 8))
    assert week_two.height > 1000
    again = run(lake, target, FIRST, dt.date(2024, 3, 8))  # week 1 only
    assert again.ok and again.passes[0].out_of_range == 1
    after = written(target, tmp_path)
    assert_frame_equal(after, before)  # week 2 untouched, week 1 replaced by the same rows
    expected = lake_volumes(lake, FIRST, LAST)
    misdated = misdated_row(
        pl.read_parquet(TradesTable.path(Lake(str(lake)), "XLON", MISDATED_DAY))
    )
    expected = expected.with_columns(
        pl.when((pl.col("ListingId") == misdated["ListingId"]) & (pl.col("Day") == MISDATED_DAY))
        .then(pl.col("Size") - misdated["Size"])
        .otherwise(pl.col("Size"))
    )
    assert_frame_equal(daily(after), expected, check_dtypes=False)


def test_the_summary_names_the_dropped_rows(lake: Path, tmp_path: Path) -> None:
    from basalt.cli.progress import format_summary

    summary = run(lake, {"path_template": f"{tmp_path}/{{start_date}}.parquet"}, FIRST, FIRST)
    assert summary.passes[0].out_of_range == 0 and "DROPPED" not in format_summary(summary)
    summary = run(lake, {"path_template": f"{tmp_path}/{{start_date}}.parquet"}, FIRST, LAST)
    assert "DROPPED pass p1: 1 input row(s) stamped outside the day" in format_summary(summary)


def test_parquet_partitions_sharing_one_file_are_rejected(lake: Path, tmp_path: Path) -> None:
    fixed = {"path_template": f"{tmp_path}/out.parquet"}
    with pytest.raises(ConfigError, match=r"its 2 partitions \(date batches\) would overwrite"):
        run(lake, fixed, FIRST, LAST)
    one_partition = run(lake, fixed, FIRST, dt.date(2024, 3, 8))  # one week: one partition
    assert one_partition.ok and pl.read_parquet(tmp_path / "out.parquet").height > 0


def test_resume_reruns_a_partly_written_partition(
    lake: Path, output: Output, tmp_path: Path
) -> None:
    """A run over Monday and Tuesday, then a resumed run over the week: the week's
    partition holds two of its five days, so it is computed again, whole."""
    target = output(tmp_path)
    assert run(lake, target, FIRST, dt.date(2024, 3, 5)).ok
    resumed = run(lake, target, FIRST, dt.date(2024, 3, 8), RESUME=True)
    assert resumed.ok and resumed.passes[0].skipped == [] and resumed.passes[0].tasks == 5
    days = daily(written(target, tmp_path))["Day"].unique().sort().to_list()
    assert days == [FIRST + dt.timedelta(days=i) for i in range(5)]
    again = run(lake, target, FIRST, dt.date(2024, 3, 8), RESUME=True)  # now complete
    assert again.ok and len(again.passes[0].skipped) == 1 and again.passes[0].tasks == 0


def test_resume_with_another_universe_computes_its_own_rows(lake: Path, tmp_path: Path) -> None:
    """The manifest records the universe: a partition written for one universe is not
    complete for another."""
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    assert run(lake, target, FIRST, dt.date(2024, 3, 8), UNIVERSE="mic=XLON").ok
    other = run(lake, target, FIRST, dt.date(2024, 3, 8), RESUME=True)  # universe: all
    assert other.passes[0].skipped == [] and other.passes[0].tasks == 5


def test_parquet_files_of_other_ranges_give_up_their_days(lake: Path, tmp_path: Path) -> None:
    """With the default naming (a partition's clipped bounds), runs over other ranges write
    other files: each new partition takes its days from them, so no row is read twice."""
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}_{{end_date}}.parquet"}
    whole = run(lake, target, FIRST, dt.date(2024, 3, 8))
    reference = written(target, tmp_path)
    assert whole.ok and reference.height > 1000
    wednesday = run(lake, target, dt.date(2024, 3, 6), dt.date(2024, 3, 6))  # inside the week
    assert wednesday.ok
    files = sorted(p.name for p in (tmp_path / "p1").glob("*.parquet"))
    assert files == ["2024-03-04_2024-03-08.parquet", "2024-03-06_2024-03-06.parquet"]
    assert_frame_equal(written(target, tmp_path), reference)  # every row once
    trimmed = pl.read_parquet(tmp_path / "p1" / "2024-03-04_2024-03-08.parquet")
    assert dt.date(2024, 3, 6) not in daily(trimmed)["Day"].to_list()
    again = run(lake, target, FIRST, dt.date(2024, 3, 8))  # the week again: one file
    assert again.ok and [p.name for p in (tmp_path / "p1").glob("*.parquet")] == [
        "2024-03-04_2024-03-08.parquet"
    ]
    assert_frame_equal(written(target, tmp_path), reference)


def test_resume_over_a_longer_range_replaces_the_shorter_files(lake: Path, tmp_path: Path) -> None:
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}_{{end_date}}.parquet"}
    assert run(lake, target, FIRST, dt.date(2024, 3, 5)).ok
    resumed = run(lake, target, FIRST, dt.date(2024, 3, 8), RESUME=True)
    assert resumed.ok and resumed.passes[0].tasks == 5
    assert [p.name for p in (tmp_path / "p1").glob("*.parquet")] == [
        "2024-03-04_2024-03-08.parquet"
    ]
    frame = written(target, tmp_path)
    assert frame.select(KEYS).is_duplicated().sum() == 0
    assert daily(frame)["Day"].unique().len() == 5


def test_resume_looks_again_at_days_that_had_no_data(lake: Path, tmp_path: Path) -> None:
    """Tuesday's files arrive after the first run: the resumed run computes them."""
    copy = Path(shutil.copytree(lake, tmp_path / "lake"))
    tuesday = list(copy.rglob("*-20240305.parquet"))
    moved = tmp_path / "late"
    moved.mkdir()
    for path in tuesday:
        path.rename(moved / path.name)
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    first = run(copy, target, FIRST, dt.date(2024, 3, 5))
    assert first.ok and first.passes[0].no_data == [(dt.date(2024, 3, 5), "XLON")]
    for path in tuesday:
        (moved / path.name).rename(path)
    resumed = run(copy, target, FIRST, dt.date(2024, 3, 5), RESUME=True)
    assert resumed.ok and resumed.passes[0].skipped == [] and resumed.passes[0].tasks == 2
    assert daily(written(target, tmp_path))["Day"].unique().sort().to_list() == [
        FIRST,
        dt.date(2024, 3, 5),
    ]


def test_a_holiday_with_reference_and_market_state_files_is_still_a_holiday(
    lake: Path, tmp_path: Path
) -> None:
    """Venues may publish reference and market-state files on a holiday: no trades and no
    book that day is still a holiday, not missing files."""
    copy = Path(shutil.copytree(lake, tmp_path / "lake"))
    for folder in ("Trades-Plus", "Equity"):
        next(copy.glob(f"{folder}/XLON/2024/03/05/*.parquet")).unlink()
    raw = {"PASSES": [{"name": "p1", "modules": ["trade", "l2"]}]}
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    summary = run(copy, target, FIRST, dt.date(2024, 3, 5), **raw)
    assert summary.ok and summary.passes[0].no_data == [(dt.date(2024, 3, 5), "XLON")]


def test_resume_recomputes_a_derived_partition_whose_input_was_written_again(
    lake: Path, tmp_path: Path
) -> None:
    copy = {"name": "copy", "modules": ["generic"], "generic": {"source_pass": "p1"}}
    passes = {"PASSES": [{"name": "p1", "modules": ["trade"], "trade": TRADE}, copy]}
    target = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    week = (FIRST, dt.date(2024, 3, 8))
    assert run(lake, target, *week, **passes).ok
    kept = run(lake, target, *week, RESUME=True, **passes)
    assert [len(p.skipped) for p in kept.passes] == [1, 1]  # nothing new: both kept
    (tmp_path / "p1" / "2024-03-04.parquet").unlink()
    resumed = run(lake, target, *week, RESUME=True, **passes)
    assert [len(p.skipped) for p in resumed.passes] == [0, 0]  # p1 written again: copy too
    assert resumed.passes[1].tasks == 1
