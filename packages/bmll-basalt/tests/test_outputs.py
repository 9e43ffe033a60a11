"""Output targets written and read back for real: Parquet files, Delta tables (deltalake),
SQLite files and a PostgreSQL server; re-written partitions replace their rows, failed writes
leave the previous content, bad configurations fail validation."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import deltalake
import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from basalt.config.loading import Pipeline, validate_config
from basalt.config.models import OutputConfig
from basalt.errors import ConfigError, DataError, TransientError
from basalt.outputs.base import OutputTarget, Partition
from basalt.outputs.delta import DeltaOutput
from basalt.outputs.parquet import ParquetOutput
from basalt.outputs.sql import SqlOutput
from basalt.runner import run_pipeline
from basalt.timebuckets import BucketSpec

MONDAY, TUESDAY = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
MINUTE = BucketSpec(60)
KEYS = ["TimeBucket", "ListingId"]


def rows(day: dt.date, listings: dict[int, str], value: float) -> pl.LazyFrame:
    """Two buckets of ``day`` per listing (the second labelled midnight: still ``day``)."""
    stamps = [dt.datetime.combine(day, dt.time(10, 1)), dt.datetime.combine(day, dt.time())]
    stamps[1] += dt.timedelta(days=1)
    return pl.LazyFrame(
        {
            "ListingId": [i for i in listings for _ in stamps],
            "TimeBucket": stamps * len(listings),
            "MIC": [mic for mic in listings.values() for _ in stamps],
            "Value": [value] * 2 * len(listings),
        },
        schema_overrides={"TimeBucket": pl.Datetime("ns")},
    )


def partition(day: dt.date) -> Partition:
    return Partition(day, day, MINUTE)


Target = tuple[OutputTarget, str]
MakeTarget = Callable[..., Target]


@pytest.fixture(params=["delta", "sqlite", "postgresql"])
def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> MakeTarget:
    """A target of each kind and the location its partitions go to."""

    def make(**options: Any) -> Target:
        if request.param == "delta":
            config = OutputConfig(type="delta", path_template=str(tmp_path / "t"), **options)
            return DeltaOutput(config), str(tmp_path / "t")
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'out.db'}"
        else:
            url = request.getfixturevalue("postgres_url")
        table = f"t_{tmp_path.name[-20:].replace('-', '_')}"  # one table per test
        config = OutputConfig(type="sql", sql_connection=url, sql_table=table, **options)
        return SqlOutput(config), table

    return make


def read(target: OutputTarget, location: str) -> pl.DataFrame:
    return target.scan(location).collect().sort(KEYS)


def expected(*frames: pl.LazyFrame) -> pl.DataFrame:
    return pl.concat(frames).collect().sort(KEYS)


def test_partitions_round_trip_and_a_rewrite_replaces_only_its_own(
    make_target: MakeTarget,
) -> None:
    target, location = make_target()
    monday, tuesday = rows(MONDAY, {1: "XLON", 2: "XPAR"}, 1.0), rows(TUESDAY, {1: "XLON"}, 2.0)
    target.write(monday, location, partition(MONDAY))
    target.write(tuesday, location, partition(TUESDAY))
    assert_frame_equal(read(target, location), expected(monday, tuesday), check_dtypes=False)
    assert target.is_complete(location, partition(TUESDAY))
    assert not target.is_complete(location, partition(dt.date(2024, 3, 6)))
    again = rows(MONDAY, {1: "XLON"}, 3.0)  # listing 2 is gone from Monday's new content
    target.write(again, location, partition(MONDAY))
    assert_frame_equal(read(target, location), expected(again, tuesday), check_dtypes=False)


def test_a_failed_write_leaves_the_partition_as_it_was(make_target: MakeTarget) -> None:
    target, location = make_target()
    monday = rows(MONDAY, {1: "XLON"}, 1.0)
    target.write(monday, location, partition(MONDAY))

    def fail(series: pl.Series) -> pl.Series:
        raise RuntimeError("the computation failed")

    broken = rows(MONDAY, {1: "XLON"}, 9.0).with_columns(
        pl.col("Value").map_batches(fail, return_dtype=pl.Float64)
    )
    with pytest.raises(Exception, match="the computation failed"):
        target.write(broken, location, partition(MONDAY))
    assert_frame_equal(read(target, location), expected(monday), check_dtypes=False)


def test_a_write_failing_after_the_delete_is_rolled_back(postgres_url: str, tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'out.db'}", postgres_url):
        config = OutputConfig(type="sql", sql_connection=url, sql_table="rollback_test")
        target = SqlOutput(config)
        monday = rows(MONDAY, {1: "XLON"}, 1.0)
        target.write(monday, "rollback_test", partition(MONDAY))
        extra = rows(MONDAY, {1: "XLON"}, 2.0).with_columns(Unknown=pl.lit(1))
        with pytest.raises(DataError, match="Unknown"):  # the table has no such column
            target.write(extra, "rollback_test", partition(MONDAY))
        assert_frame_equal(read(target, "rollback_test"), expected(monday), check_dtypes=False)
        with target.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE rollback_test"))


def test_partition_columns_keep_other_values_of_the_same_days(make_target: MakeTarget) -> None:
    target, location = make_target(partition_columns=["MIC"])
    london, paris = rows(MONDAY, {1: "XLON"}, 1.0), rows(MONDAY, {3: "XPAR"}, 2.0)
    target.write(london, location, partition(MONDAY))
    target.write(paris, location, partition(MONDAY))
    again = rows(MONDAY, {2: "XLON"}, 3.0)
    target.write(again, location, partition(MONDAY))
    got = read(target, location).select("ListingId", "TimeBucket", "MIC", "Value")
    assert_frame_equal(got, expected(again, paris), check_dtypes=False)


def test_without_dedupe_a_rewrite_adds_rows(make_target: MakeTarget) -> None:
    target, location = make_target(dedupe_on_partition=False)
    monday = rows(MONDAY, {1: "XLON"}, 1.0)
    target.write(monday, location, partition(MONDAY))
    target.write(monday, location, partition(MONDAY))
    assert read(target, location).height == 4


def test_preserve_index_adds_the_row_number(make_target: MakeTarget) -> None:
    target, location = make_target(preserve_index=True, index_name="Row")
    target.write(rows(MONDAY, {1: "XLON", 2: "XPAR"}, 1.0), location, partition(MONDAY))
    assert sorted(read(target, location)["Row"].to_list()) == [0, 1, 2, 3]


def test_the_first_write_of_a_run_can_replace_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    SqlOutput(OutputConfig(type="sql", sql_connection=url, sql_table="t")).write(
        rows(MONDAY, {1: "XLON"}, 1.0), "t", partition(MONDAY)
    )
    replace = SqlOutput(
        OutputConfig(type="sql", sql_connection=url, sql_table="t", sql_if_exists="replace")
    )
    tuesday = rows(TUESDAY, {2: "XLON"}, 2.0)
    replace.write(tuesday, "t", partition(TUESDAY))
    assert_frame_equal(read(replace, "t"), expected(tuesday), check_dtypes=False)
    fail = SqlOutput(
        OutputConfig(type="sql", sql_connection=url, sql_table="t", sql_if_exists="fail")
    )
    with pytest.raises(ConfigError, match="exists"):
        fail.write(tuesday, "t", partition(TUESDAY))
    delta = DeltaOutput(
        OutputConfig(type="delta", path_template=str(tmp_path / "d"), delta_mode="overwrite")
    )
    delta.write(rows(MONDAY, {1: "XLON"}, 1.0), str(tmp_path / "d"), partition(MONDAY))
    fresh = DeltaOutput(
        OutputConfig(type="delta", path_template=str(tmp_path / "d"), delta_mode="overwrite")
    )
    fresh.write(tuesday, str(tmp_path / "d"), partition(TUESDAY))
    monday = rows(MONDAY, {3: "XLON"}, 3.0)
    fresh.write(monday, str(tmp_path / "d"), partition(MONDAY))  # later partitions add
    assert_frame_equal(read(fresh, str(tmp_path / "d")), expected(tuesday, monday))


def test_parquet_partition_columns_write_hive_directories(tmp_path: Path) -> None:
    location = str(tmp_path / "out")
    target = ParquetOutput(OutputConfig(path_template=location, partition_columns=["MIC"]))
    target.write(rows(MONDAY, {1: "XLON", 3: "XPAR"}, 1.0), location, partition(MONDAY))
    assert sorted(p.name for p in Path(location).iterdir()) == ["MIC=XLON", "MIC=XPAR"]
    again = rows(MONDAY, {2: "XLON"}, 2.0)
    target.write(again, location, partition(MONDAY))  # the file is the partition: replaced
    assert_frame_equal(
        read(target, location).select(again.collect_schema().names()), expected(again)
    )
    assert [p.name for p in Path(location).iterdir()] == ["MIC=XLON"]


def test_delta_tables_are_real_delta_tables(tmp_path: Path) -> None:
    target = DeltaOutput(OutputConfig(type="delta", path_template=str(tmp_path / "d")))
    target.write(rows(MONDAY, {1: "XLON"}, 1.0), str(tmp_path / "d"), partition(MONDAY))
    target.write(rows(MONDAY, {1: "XLON"}, 2.0), str(tmp_path / "d"), partition(MONDAY))
    table = deltalake.DeltaTable(str(tmp_path / "d"))
    assert table.version() == 1  # one commit per partition write
    assert pl.from_arrow(table.to_pyarrow_table())["Value"].to_list() == [2.0, 2.0]


def test_a_pipeline_rerun_into_sql_leaves_no_duplicates(small_lake: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    output = {"type": "sql", "sql_connection": url, "sql_table": "{pass}_metrics"}
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade"], "output": output}],
    }
    for _ in range(2):
        assert run_pipeline(Pipeline(validate_config(raw), "test")).ok
    with sa.create_engine(url, poolclass=sa.NullPool).connect() as connection:
        written = pl.read_database("SELECT * FROM p1_metrics", connection)
    assert written.select("ListingId", "TimeBucket").sort(pl.all()).rows() == [
        (1, "2024-03-04 09:01:00.000000"),
        (2, "2024-03-04 09:02:00.000000"),
        (3, "2024-03-04 09:01:00.000000"),
    ]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"type": "sql", "sql_table": "t"}, "needs sql_connection"),
        ({"type": "sql", "sql_connection": "sqlite:///x.db"}, "needs sql_table"),
        ({"type": "sql", "sql_connection": "sqlite:///x.db", "sql_table": "x; drop"}, "identifier"),
        ({"type": "sql", "sql_connection": "no url", "sql_table": "t"}, "not a database URL"),
        ({"type": "delta", "path_template": "d/{start_date}"}, "one table"),
        ({"type": "delta", "delta_mode": "merge"}, "delta_mode"),
        ({"partition_columns": ["bad col"]}, "partition_columns"),
        ({"partition_columns": ["MIC"], "path_template": "s3://b/x"}, "local path_template"),
        ({"index_name": "1st"}, "index_name"),
        (
            {"type": "delta", "path_template": "d/{pass}", "delta_mode": "overwrite"}
            | {"RESUME": True},
            "RESUME keeps",
        ),
        (
            {"type": "sql", "sql_connection": "sqlite:///x.db", "sql_table": "t", "RESUME": True}
            | {"sql_if_exists": "replace"},
            "RESUME keeps",
        ),
        ({"path_template": "out.parquet", "SECOND": True}, "would share 'out.parquet'"),
    ],
)
def test_bad_output_configurations_fail_validation(output: dict[str, Any], message: str) -> None:
    passes = [{"name": "p", "modules": ["trade"]}]
    if output.pop("SECOND", False):
        passes.append({"name": "q", "modules": ["trade"]})
    raw = {"START_DATE": "2024-03-04", "RESUME": output.pop("RESUME", False), "PASSES": passes}
    with pytest.raises(ConfigError, match=message):
        validate_config({**raw, "OUTPUT_TARGET": output})


def test_a_partition_that_cannot_be_written_fails_the_run_and_is_reported(
    small_lake: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    with sqlite3.connect(tmp_path / "out.db") as connection:  # a table of other columns
        connection.execute("CREATE TABLE taken (x INTEGER)")
    output = {"type": "sql", "sql_connection": url, "sql_table": "taken"}
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade"], "output": output}],
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "test"))
    assert not summary.ok
    [failure] = summary.failures
    assert failure.label == "pass p1, writing partition 2024-03-04_2024-03-04"
    assert failure.error == f"{url}: no such column: taken.TimeBucket"


@pytest.mark.parametrize("kind", ["delta", "sql"])
def test_a_later_pass_reads_an_earlier_one_back_from_its_target(
    small_lake: Path, tmp_path: Path, kind: str
) -> None:
    first: dict[str, Any] = {"type": "delta", "path_template": str(tmp_path / "first")}
    if kind == "sql":
        first = {
            "type": "sql",
            "sql_connection": f"sqlite:///{tmp_path / 'o.db'}",
            "sql_table": "first",
        }
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(small_lake),
        "EXECUTOR": "serial",
        "PASSES": [
            {"name": "minute", "modules": ["trade"], "output": first},
            {"name": "copy", "modules": ["generic"], "generic": {"source_pass": "minute"}},
        ],
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
    }
    assert run_pipeline(Pipeline(validate_config(raw), "test")).ok
    copy = pl.read_parquet(tmp_path / "copy.parquet")
    assert copy.select("ListingId", "TradeTotalVolume").rows() == [(1, 400.0), (2, 5.0), (3, 7.0)]
    assert copy.schema["TimeBucket"] == pl.Datetime("ns")


@pytest.mark.parametrize("explicit", [False, True], ids=["aws-variables", "storage-options"])
def test_delta_tables_on_s3(
    s3_bucket: str, s3_options: dict[str, str], explicit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the standard AWS variables (set by ``s3_bucket``) or S3_STORAGE_OPTIONS alone."""
    location = f"s3://{s3_bucket}/tables/t"
    options = tuple(sorted(s3_options.items())) if explicit else ()
    if explicit:
        for name in ("AWS_ENDPOINT_URL", "AWS_ALLOW_HTTP", "AWS_ACCESS_KEY_ID"):
            monkeypatch.delenv(name)
    target = DeltaOutput(OutputConfig(type="delta", path_template=location), options)
    monday, again = rows(MONDAY, {1: "XLON"}, 1.0), rows(MONDAY, {1: "XLON"}, 2.0)
    target.write(monday, location, partition(MONDAY))
    target.write(again, location, partition(MONDAY))
    assert target.exists(location) and target.is_complete(location, partition(MONDAY))
    assert_frame_equal(read(target, location), expected(again))


def test_edge_partitions_replace_exactly_their_rows(make_target: MakeTarget) -> None:
    """Null partition values, an empty re-write; the next day's rows are never touched."""
    target, location = make_target(partition_columns=["MIC"])
    unknown = rows(MONDAY, {1: "XLON"}, 1.0).with_columns(pl.lit(None, pl.String).alias("MIC"))
    tuesday = rows(TUESDAY, {1: "XLON"}, 2.0).with_columns(pl.lit(None, pl.String).alias("MIC"))
    target.write(unknown, location, partition(MONDAY))
    target.write(tuesday, location, partition(TUESDAY))
    again = rows(MONDAY, {1: "XLON"}, 3.0).with_columns(pl.lit(None, pl.String).alias("MIC"))
    target.write(again, location, partition(MONDAY))
    assert_frame_equal(read(target, location), expected(again, tuesday), check_dtypes=False)
    target.write(again.clear(), location, partition(MONDAY))  # nothing of MIC values: no change
    assert read(target, location).height == 4


def test_sql_table_names_take_placeholder_values_made_safe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    config = OutputConfig(type="sql", sql_connection=url, sql_table="m_{start_date}")
    target = SqlOutput(config)
    written = target.write(rows(MONDAY, {1: "XLON"}, 1.0), "m_2024-03-04", partition(MONDAY))
    assert written.endswith("#m_2024_03_04") and target.exists("m_2024-03-04")


def test_parquet_directories_survive_an_empty_rewrite(tmp_path: Path) -> None:
    location = str(tmp_path / "out")
    target = ParquetOutput(OutputConfig(path_template=location, partition_columns=["MIC"]))
    target.write(rows(MONDAY, {1: "XLON"}, 1.0), location, partition(MONDAY))
    target.write(rows(MONDAY, {1: "XLON"}, 1.0).clear(), location, partition(MONDAY))
    assert Path(location).is_dir() and list(Path(location).iterdir()) == []


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "out.db"
    target = SqlOutput(OutputConfig(type="sql", sql_connection=f"sqlite:///{path}", sql_table="m"))
    target.write(rows(MONDAY, {1: "XLON"}, 1.0), "m", partition(MONDAY))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another run holds the write lock
    try:
        assert read(target, "m").height == 2 and target.is_complete("m", partition(MONDAY))
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_database_that_cannot_be_reached_is_a_transient_error_naming_it() -> None:
    """Retried by the runner; a missing column is not (above)."""
    url = "postgresql://basalt@127.0.0.1:1/postgres"  # nothing listens on port 1
    target = SqlOutput(OutputConfig(type="sql", sql_connection=url, sql_table="m"))
    with pytest.raises(
        TransientError, match=r"^postgresql\+psycopg://basalt@127.0.0.1:1/postgres: "
    ):
        target.write(rows(MONDAY, {1: "XLON"}, 1.0), "m", partition(MONDAY))
