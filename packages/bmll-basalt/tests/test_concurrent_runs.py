"""Concurrent writers of one target: two ``basalt pipeline run`` processes started at once
leave exactly the rows (and manifest) of a run made alone, in Parquet files and directories,
SQLite, PostgreSQL and Delta; a failed first SQL write leaves no table; temporary files of
dead writers are removed by the next writer and those of live ones kept."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import deltalake
import polars as pl
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml
from polars.testing import assert_frame_equal

from basalt.config.loading import load_pipeline
from basalt.config.models import OutputConfig
from basalt.errors import ConfigError
from basalt.files import locked
from basalt.outputs.base import Partition
from basalt.outputs.delta import manifest_entries
from basalt.outputs.parquet import ParquetOutput
from basalt.outputs.sql import MANIFEST_TABLE, SqlOutput, _lock_key
from basalt.runner import run_pipeline
from basalt.sampledata import generate_lake
from basalt.timebuckets import BucketSpec

FIRST, LAST = dt.date(2024, 3, 7), dt.date(2024, 3, 13)  # Thursday to Wednesday: two weeks
DAYS = {"2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12", "2024-03-13"}
PARTITIONS = ["2024-03-07_2024-03-10", "2024-03-11_2024-03-13"]  # BATCH_FREQ: W
KEYS = ["ListingId", "TimeBucket"]
ROUNDS = 3
KINDS = ["parquet", "parquet-mic", "sqlite", "postgresql", "delta"]

Hold = Callable[[], contextlib.AbstractContextManager[Callable[[], int]]]
"""A write lock the test holds: entering it yields how many processes wait for it."""
Manifest = list[tuple[str, str, str]]
"""(file, day, universe) entries of a written target; the file is empty for tables."""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two MICs × three listings, five trading days over two calendar weeks."""
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FIRST, LAST, ["XLON", "XPAR"], listings=3, trades_per_listing=100)
    return root


def engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.NullPool
    )


@dataclass(frozen=True)
class Target:
    """An output configuration of one kind and how to read back what was written."""

    kind: str
    root: Path
    output: dict[str, Any]

    def read(self) -> pl.DataFrame:
        if self.kind.startswith("parquet"):
            return pl.read_parquet([str(p) for p in self.parquet_files()])
        if self.kind == "delta":
            return pl.read_delta(str(self.root / "p1"))
        with engine(self.output["sql_connection"]).connect() as connection:
            table = sa.Table(self.output["sql_table"], sa.MetaData(), autoload_with=connection)
            return pl.read_database(sa.select(table), connection)

    def manifest(self) -> Manifest:
        if self.kind.startswith("parquet"):
            return sorted(
                (str(path.relative_to(self.root)), day, universe)
                for path in self.parquet_files()
                for day, universe in parquet_manifest(path)
            )
        if self.kind == "delta":
            history = deltalake.DeltaTable(str(self.root / "p1")).history()
            return sorted(("", str(day), scope) for day, scope in manifest_entries(history))
        query = sa.text(f"SELECT day, universe FROM {MANIFEST_TABLE} WHERE table_name = :t")
        with engine(self.output["sql_connection"]).connect() as connection:
            rows = connection.execute(query, {"t": self.output["sql_table"]}).all()
        return sorted(("", str(day), universe) for day, universe in rows)

    def parquet_files(self) -> list[Path]:
        return sorted(self.root.rglob("*.parquet"))

    def leftovers(self) -> list[str]:
        """Temporary files or directories left anywhere under the target's root."""
        return sorted(str(p) for p in self.root.rglob("*") if ".tmp" in p.name)


def parquet_manifest(path: Path) -> list[tuple[str, str]]:
    metadata = pq.read_metadata(path).metadata
    days = metadata[b"basalt.days"].decode().split(",")
    return [(day, metadata[b"basalt.universe"].decode()) for day in days]


def make_target(kind: str, root: Path, request: pytest.FixtureRequest) -> Target:
    root.mkdir(parents=True)
    output: dict[str, Any]
    if kind == "parquet":
        output = {"path_template": f"{root}/{{pass}}/{{start_date}}_{{end_date}}.parquet"}
    elif kind == "parquet-mic":
        template = f"{root}/{{pass}}/{{start_date}}_{{end_date}}"
        output = {"path_template": template, "partition_columns": ["MIC"]}
    elif kind == "delta":
        output = {"type": "delta", "path_template": f"{root}/{{pass}}"}
    else:
        url = f"sqlite:///{root}/out.db"
        if kind == "postgresql":
            url = request.getfixturevalue("postgres_url")
        table = f"concurrent_{uuid.uuid4().hex[:12]}"
        output = {"type": "sql", "sql_connection": url, "sql_table": table}
    return Target(kind, root, output)


def write_pipeline(path: Path, lake: Path, output: dict[str, Any], scratch: Path) -> Path:
    raw = {
        "START_DATE": str(FIRST),
        "END_DATE": str(LAST),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "NUM_WORKERS": 1,
        "TEMP_DIR": str(scratch),
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "OUTPUT_TARGET": output,
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def start(pipeline: Path, *flags: str) -> subprocess.Popen[str]:
    basalt = Path(sys.executable).with_name("basalt")
    command = [str(basalt), "pipeline", "run", "--pipeline", str(pipeline), "--no-progress"]
    return subprocess.Popen(
        [*command, *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_pair(pipeline: Path, *flags: str, hold: Hold | None = None) -> None:
    """Run two processes of ``pipeline`` started together; both must succeed. With
    ``hold``, the test holds that write lock until both processes wait for it."""
    processes: list[subprocess.Popen[str]] = []
    try:
        with hold() if hold else contextlib.nullcontext() as waiting:
            processes = [start(pipeline, *flags), start(pipeline, *flags)]
            if waiting is not None:
                wait_for_writers(waiting, processes)
        results = [(p.communicate(timeout=120), p.returncode) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for (out, err), code in results:
        assert code == 0, f"exit {code}\n{out}\n{err}"
        assert "2 written, 0 skipped, 0 failed" in out, out


def wait_for_writers(waiting: Callable[[], int], processes: list[subprocess.Popen[str]]) -> None:
    """Wait until every process waits for the lock the test holds; fail if one ends first."""
    deadline = time.monotonic() + 60
    while waiting() < len(processes):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            outputs = [p.communicate() if p.poll() is not None else ("", "") for p in processes]
            pytest.fail(f"the writers did not both wait for the write lock: {outputs}")
        time.sleep(0.02)


def flock_waiters() -> int:
    """Processes waiting for a flock that this process holds (from /proc/locks)."""
    entries = [line.split() for line in Path("/proc/locks").read_text().splitlines()]
    flocks = [e for e in entries if "FLOCK" in e]
    held = {e[-3] for e in flocks if "->" not in e and e[-4] == str(os.getpid())}
    return sum(1 for e in flocks if "->" in e and e[-3] in held)


@contextlib.contextmanager
def lock_file_held(path: Path) -> Iterator[Callable[[], int]]:
    """Hold the lock file of ``path`` (Delta tables, Parquet directories); yields how many
    processes wait for it."""
    with locked(str(path)):
        yield flock_waiters


@contextlib.contextmanager
def advisory_lock_held(url: str, table: str) -> Iterator[Callable[[], int]]:
    """Hold the PostgreSQL advisory lock of ``table``; yields how many sessions wait for an
    advisory lock."""
    waiters = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with engine(url).connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _lock_key(table)})
        yield lambda: int(connection.execute(waiters).scalar_one())


def write_lock(target: Target) -> Hold | None:
    """The lock the writers of ``target``'s first partition take, if the test can see them
    wait for it."""
    if target.kind == "postgresql":
        url, table = target.output["sql_connection"], target.output["sql_table"]
        return lambda: advisory_lock_held(url, table)
    if target.kind == "delta":
        return lambda: lock_file_held(target.root / "p1")
    if target.kind == "parquet-mic":
        return lambda: lock_file_held(target.root / "p1" / PARTITIONS[0])
    return None


def reference(lake: Path, target: Target, scratch: Path) -> tuple[pl.DataFrame, Manifest]:
    """The rows and manifest of ``target`` written by one run alone."""
    pipeline = write_pipeline(target.root / "pipeline.yaml", lake, target.output, scratch)
    assert run_pipeline(load_pipeline(pipeline, {"EXECUTOR": "serial"})).ok
    return target.read().sort(KEYS), target.manifest()


@pytest.mark.parametrize("kind", KINDS)
def test_two_runs_at_once_leave_exactly_the_rows_of_one_run(
    kind: str, lake: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    scratch = tmp_path / "scratch"
    alone = make_target(kind, tmp_path / "alone", request)
    expected, expected_manifest = reference(lake, alone, scratch)
    assert expected.height > 0 and not expected.select(KEYS).is_duplicated().any()
    assert {day for _, day, _ in expected_manifest} == DAYS
    assert {universe for _, _, universe in expected_manifest} == {"all"}
    for round_ in range(ROUNDS):
        target = make_target(kind, tmp_path / f"round{round_}", request)
        pipeline = write_pipeline(target.root / "pipeline.yaml", lake, target.output, scratch)
        if round_ == 0:  # worker processes, started at once
            run_pair(pipeline)
        else:  # in-process tasks; both writers queued on the lock where it can be seen
            run_pair(pipeline, "--executor", "serial", hold=write_lock(target))
        written = target.read().sort(KEYS)
        assert written.height == expected.height
        assert not written.select(KEYS).is_duplicated().any()
        assert_frame_equal(written, expected)
        assert target.manifest() == expected_manifest
        assert target.leftovers() == []
    assert os.listdir(scratch) == []


def sqlite_tables(url: str) -> list[str]:
    return sorted(sa.inspect(engine(url)).get_table_names())


@contextlib.contextmanager
def inserts_failing(monkeypatch: pytest.MonkeyPatch, table: str) -> Iterator[list[bool]]:
    """Within the block every INSERT into ``table`` raises; yields, per failed INSERT,
    whether ``table`` existed inside its transaction."""
    created: list[bool] = []
    execute = sa.Connection.execute

    def failing(self: sa.Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, sa.Insert) and statement.table.name == table:
            created.append(sa.inspect(self).has_table(table))
            raise RuntimeError("killed during the insert")
        return execute(self, statement, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(sa.Connection, "execute", failing)
        yield created


def minute_rows(day: dt.date, value: float) -> pl.LazyFrame:
    """Two one-minute buckets of ``day`` for an XLON and an XPAR listing."""
    stamps = [dt.datetime.combine(day, dt.time(9, m)) for m in (1, 2)]
    return pl.LazyFrame(
        {
            "ListingId": [1, 1, 3, 3],
            "TimeBucket": stamps * 2,
            "MIC": ["XLON", "XLON", "XPAR", "XPAR"],
            "Value": [value] * 4,
        },
        schema_overrides={"TimeBucket": pl.Datetime("ns")},
    )


def minute_partition(day: dt.date) -> Partition:
    return Partition(day, day, BucketSpec(60), scope="all")


def sql_pipeline(lake: Path, root: Path) -> Path:
    """A pipeline writing table ``metrics`` of a fresh SQLite file under ``root``, failing
    if the table exists when it starts."""
    root.mkdir()
    url = f"sqlite:///{root / 'out.db'}"
    output = {"type": "sql", "sql_connection": url, "sql_table": "metrics", "sql_if_exists": "fail"}
    return write_pipeline(root / "pipeline.yaml", lake, output, root / "scratch")


def read_table(root: Path, table: str) -> pl.DataFrame:
    target = Target(
        "sqlite", root, {"sql_connection": f"sqlite:///{root / 'out.db'}", "sql_table": table}
    )
    return target.read().sort(KEYS)


def test_a_failed_first_sql_write_leaves_no_table_and_a_fail_rerun_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    config = OutputConfig(type="sql", sql_connection=url, sql_table="metrics", sql_if_exists="fail")
    partition = minute_partition(FIRST)
    with (
        inserts_failing(monkeypatch, "metrics") as created,
        pytest.raises(RuntimeError, match="killed during the insert"),
    ):
        SqlOutput(config).write(minute_rows(FIRST, 1.0), "metrics", partition)
    assert created == [True]  # CREATE TABLE ran in the transaction the insert broke
    assert sqlite_tables(url) == []
    rows = minute_rows(FIRST, 2.0)
    target = SqlOutput(config)
    target.write(rows, "metrics", partition)
    assert_frame_equal(target.scan("metrics").collect().sort(KEYS), rows.collect().sort(KEYS))
    assert target.is_complete("metrics", partition)
    with pytest.raises(ConfigError, match="exists"):  # a later run finds the table now
        SqlOutput(config).write(rows, "metrics", partition)


def test_a_failed_first_sql_run_leaves_no_table_and_a_fail_rerun_writes_it_all(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = sql_pipeline(lake, tmp_path / "alone")
    assert run_pipeline(load_pipeline(alone, {"EXECUTOR": "serial"})).ok
    expected = read_table(tmp_path / "alone", "metrics")
    pipeline = sql_pipeline(lake, tmp_path / "killed")
    with inserts_failing(monkeypatch, "metrics") as created:
        summary = run_pipeline(load_pipeline(pipeline, {"EXECUTOR": "serial"}))
    assert created == [True, True]
    assert [(f.partition, f.writing) for f in summary.failures] == [(p, True) for p in PARTITIONS]
    assert sqlite_tables(f"sqlite:///{tmp_path / 'killed' / 'out.db'}") == []
    assert run_pipeline(load_pipeline(pipeline, {"EXECUTOR": "serial"})).ok
    assert_frame_equal(read_table(tmp_path / "killed", "metrics"), expected)


def dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    while True:
        child = subprocess.Popen(["true"])
        child.wait()
        try:
            os.kill(child.pid, 0)
        except ProcessLookupError:
            return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The id of a running process (a concurrent writer), stopped afterwards."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def leave_temporary(location: Path, pid: int, suffixes: list[str], directory: bool) -> list[Path]:
    """Temporary files (or directories holding a file) of process ``pid`` beside
    ``location``."""
    made = []
    for suffix in suffixes:
        path = location.with_name(f".{location.name}.{pid}-abc.tmp{suffix}")
        if directory:
            (path / "MIC=XLON").mkdir(parents=True)
            (path / "MIC=XLON" / "00000000.parquet").write_bytes(b"partial")
        else:
            path.write_bytes(b"partial")
        made.append(path)
    return made


@pytest.mark.parametrize("columns", [None, ["MIC"]], ids=["file", "partition-columns"])
def test_the_next_writer_removes_temporary_files_of_dead_writers_only(
    columns: list[str] | None, tmp_path: Path, live_pid: int
) -> None:
    directory = columns is not None
    name = "2024-03-07_2024-03-07" + ("" if directory else ".parquet")
    location = tmp_path / "p1" / name
    location.parent.mkdir()
    suffixes = ["", ".old"] if directory else [""]
    dead = leave_temporary(location, dead_pid(), suffixes, directory)
    live = leave_temporary(location, live_pid, suffixes, directory)
    rows = minute_rows(FIRST, 1.0)
    target = ParquetOutput(OutputConfig(path_template=str(location), partition_columns=columns))
    target.write(rows, str(location), minute_partition(FIRST))
    assert not any(path.exists() for path in dead)
    lock = [f".{name}.lock"] if directory else [".basalt.lock"]
    assert sorted(os.listdir(location.parent)) == sorted([name, *lock, *(p.name for p in live)])
    for path in live:
        kept = path / "MIC=XLON" / "00000000.parquet" if directory else path
        assert kept.read_bytes() == b"partial"
    written = target.scan(str(location)).collect().select(rows.collect_schema().names())
    assert_frame_equal(written.sort(KEYS), rows.collect().sort(KEYS))
