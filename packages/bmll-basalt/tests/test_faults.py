"""Faults inside a run: errors that travel back from workers, workers that die, files that
are corrupt or drift from the schema — each named, each failing only what it touches."""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from basalt import errors
from basalt.config.loading import Pipeline, validate_config
from basalt.errors import BasaltError, TableSchemaError, WorkerError, portable
from basalt.executors.local import WORKER_DIED, LocalExecutor
from basalt.lake import Lake
from basalt.runner import RunSummary, run_pipeline
from basalt.sampledata import generate_lake
from basalt.tables import TradesTable

FRIDAY, MONDAY = dt.date(2024, 3, 8), dt.date(2024, 3, 11)

# One instance of every error class, with the arguments its constructor takes.
ERRORS: dict[type[BasaltError], tuple[Any, ...]] = {
    errors.BasaltError: ("a",),
    errors.ConfigError: ("b",),
    errors.PluginError: ("c",),
    errors.DataError: ("d",),
    errors.TransientError: ("e",),
    errors.QualityCheckError: ("f",),
    errors.ExpectationError: ("g",),
    errors.TableSchemaError: ("/lake/t.parquet", "trades", ["Size", "Price"]),
    errors.RunFailedError: ("h",),
    errors.WorkerError: ("i",),
}


def subclasses(kind: type) -> set[type]:
    return {kind} | {c for sub in kind.__subclasses__() for c in subclasses(sub)}


def test_every_error_survives_pickling() -> None:
    own = {c for c in subclasses(BasaltError) if c.__module__ == "basalt.errors"}
    assert own == set(ERRORS), "add the new error classes to ERRORS"
    for kind, args in ERRORS.items():
        error = kind(*args)
        again = pickle.loads(pickle.dumps(error))
        assert (type(again), str(again), vars(again)) == (kind, str(error), vars(error))
        assert again.exit_code == error.exit_code


class UnpicklableError(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a} and {b}")


def test_an_error_that_cannot_travel_is_sent_as_a_worker_error() -> None:
    error = portable(UnpicklableError(1, 2))
    assert isinstance(error, WorkerError) and str(error) == "UnpicklableError: 1 and 2"
    schema = TableSchemaError("/x.parquet", "trades", ["Size"])
    assert portable(schema) is schema


def test_a_dead_worker_fails_only_the_task_that_killed_it() -> None:
    """The tasks that shared the broken pool run again, each alone, and succeed."""
    tasks = [f"__import__('time').sleep(0.3) or {i}" for i in range(5)]
    tasks[2] = "__import__('os')._exit(3)"
    with LocalExecutor(2) as executor:
        outcomes = {o.task: o for o in executor.run(eval, tasks)}
    assert [outcomes[t].result for t in tasks] == [0, 1, None, 3, 4]
    failed = outcomes[tasks[2]].error
    assert isinstance(failed, WorkerError) and str(failed) == WORKER_DIED


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FRIDAY, MONDAY, ["XLON"], listings=2, trades_per_listing=150)
    return root


@pytest.fixture
def lake(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "lake"))


def run(lake: Path, out: Path, **extra: Any) -> RunSummary:
    raw = {
        "START_DATE": str(FRIDAY),
        "END_DATE": str(MONDAY),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "OUTPUT_TARGET": {"path_template": f"{out}/{{start_date}}.parquet"},
        **extra,
    }
    return run_pipeline(Pipeline(validate_config(raw), "test"))


def friday_trades(lake: Path) -> Path:
    return Path(TradesTable.path(Lake(str(lake)), "XLON", FRIDAY))


def test_a_missing_column_fails_its_partition_across_processes(lake: Path, tmp_path: Path) -> None:
    path = friday_trades(lake)
    pl.read_parquet(path).drop("Size").write_parquet(path)
    summary = run(lake, tmp_path / "out", EXECUTOR="local", NUM_WORKERS=2)
    assert {f.day for f in summary.failures} == {FRIDAY}
    assert all(
        f.error
        == f"{path}: the trades table requires column(s) Size, which this file does not have"
        for f in summary.failures
    )
    assert [p.name for p in (tmp_path / "out").glob("*.parquet")] == ["2024-03-11.parquet"]


def test_a_corrupt_data_page_is_named(lake: Path, tmp_path: Path) -> None:
    """The footer is intact (the file plans), a page in the middle is not."""
    import pyarrow.parquet as pq

    path = friday_trades(lake)
    pl.read_parquet(path).write_parquet(path, compression="zstd")
    group = pq.read_metadata(path).row_group(0)
    [size] = [
        group.column(i)
        for i in range(group.num_columns)
        if group.column(i).path_in_schema == "Size"
    ]
    start = size.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 8 : start + size.total_compressed_size] = b"\xff" * (
        size.total_compressed_size - 8
    )
    path.write_bytes(bytes(data))
    summary = run(lake, tmp_path / "out", EXECUTOR="serial")
    [failure] = summary.failures
    assert failure.day == FRIDAY and failure.error.startswith(
        f"{path}: cannot be read as the trades table ("
    )
    assert [p.name for p in (tmp_path / "out").glob("*.parquet")] == ["2024-03-11.parquet"]


def test_a_failed_cast_is_named(lake: Path, tmp_path: Path) -> None:
    path = friday_trades(lake)
    trades = pl.read_parquet(path)
    bad = pl.int_range(pl.len()) == 5
    trades.with_columns(
        pl.when(bad).then(pl.lit("n/a")).otherwise(pl.col("Price").cast(pl.String)).alias("Price")
    ).write_parquet(path)
    summary = run(lake, tmp_path / "out", EXECUTOR="serial", PREPARE_DATA_MODE="shred")
    [failure] = summary.failures
    assert failure.error.startswith(f"{path}: cannot be read as the trades table (")
    assert "n/a" in failure.error or "conversion" in failure.error
