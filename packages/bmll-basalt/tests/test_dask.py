"""The ``dask`` executor on real local clusters of worker processes."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster, Scheduler

from basalt.config.loading import Pipeline, validate_config
from basalt.errors import ConfigError
from basalt.executors.dask import DaskExecutor
from basalt.runner import RunSummary, run_pipeline
from basalt.sampledata import generate_lake

FRIDAY, MONDAY = dt.date(2024, 3, 8), dt.date(2024, 3, 11)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FRIDAY, MONDAY, ["XLON", "XPAR"], listings=4, trades_per_listing=300)
    return root


def raw_config(lake: Path, out: Path, **extra: Any) -> dict[str, Any]:
    return {
        "START_DATE": str(FRIDAY),
        "END_DATE": str(MONDAY),
        "DATA_ROOT": str(lake),
        "BATCH_FREQ": "W",
        "NUM_WORKERS": 2,
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "OUTPUT_TARGET": {"path_template": f"{out}/{{pass}}/{{start_date}}_{{end_date}}.parquet"},
        **extra,
    }


def run(lake: Path, out: Path, **extra: Any) -> RunSummary:
    return run_pipeline(Pipeline(validate_config(raw_config(lake, out, **extra)), "test"))


def output_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "p1").glob("*.parquet"))}


@pytest.fixture(scope="module")
def serial(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of the ``serial`` executor: the reference."""
    out = tmp_path_factory.mktemp("serial")
    assert run(lake, out, EXECUTOR="serial").ok
    return output_bytes(out)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[Scheduler]:
    """An existing cluster of two worker processes of one thread; its scheduler runs here."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        assert isinstance(cluster.scheduler, Scheduler)
        yield cluster.scheduler


def test_dask_matches_the_serial_and_local_executors_byte_for_byte(
    lake: Path, tmp_path: Path, serial: dict[str, bytes]
) -> None:
    summary = run(lake, tmp_path / "dask", EXECUTOR="dask")
    assert summary.ok and summary.passes[0].tasks == 7  # up to two batches per worker and day
    assert run(lake, tmp_path / "local", EXECUTOR="local").ok
    assert len(serial) == 2
    assert output_bytes(tmp_path / "dask") == serial == output_bytes(tmp_path / "local")


def test_tasks_run_on_an_existing_cluster(
    lake: Path, tmp_path: Path, serial: dict[str, bytes], scheduler: Scheduler
) -> None:
    options = {"scheduler_address": scheduler.address}
    assert run(lake, tmp_path, EXECUTOR="dask", EXECUTOR_OPTIONS=options).ok
    assert output_bytes(tmp_path) == serial
    assert scheduler.task_prefixes["execute_task"].state_counts["forgotten"] == 7


# Task functions are defined inside the tests: dask ships those by value, whereas the workers
# cannot import this module for a module-level function.


def test_a_failing_task_is_isolated_and_reported(scheduler: Scheduler) -> None:
    def square_unless_three(n: int) -> int:
        if n == 3:
            raise ValueError("three is not allowed")
        return n * n

    with DaskExecutor(2, {"scheduler_address": scheduler.address}) as executor:
        outcomes = {o.task: o for o in executor.run(square_unless_three, range(6))}
    assert {n: o.result for n, o in outcomes.items() if o.ok} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
    error = outcomes[3].error
    assert isinstance(error, ValueError) and str(error) == "three is not allowed"


def test_closing_the_outcomes_early_cancels_the_pending_tasks(
    scheduler: Scheduler, tmp_path: Path
) -> None:
    def mark(n: int) -> int:
        time.sleep(0.1)
        (tmp_path / str(n)).touch()
        return n

    with DaskExecutor(2, {"scheduler_address": scheduler.address}) as executor:
        started = time.monotonic()
        outcomes = executor.run(mark, range(20))
        assert isinstance(outcomes, Generator) and next(outcomes).ok
        outcomes.close()
        while scheduler.tasks and time.monotonic() < started + 10:
            time.sleep(0.02)
        assert not scheduler.tasks, "every future was released"
    time.sleep(max(0.0, started + 2.5 - time.monotonic()))  # 20 tasks would be done by now
    assert 1 <= len(list(tmp_path.iterdir())) <= 10


def test_unknown_options_fail_validation(lake: Path, tmp_path: Path) -> None:
    for options, problem in [
        ({"bogus": 1}, "bogus: unknown key"),
        ({"scheduler_address": "tcp://h:8786", "memory_limit": "4GB"}, "only for a local cluster"),
    ]:
        with pytest.raises(ConfigError, match=problem) as caught:
            validate_config(raw_config(lake, tmp_path, EXECUTOR="dask", EXECUTOR_OPTIONS=options))
        assert caught.value.exit_code == 2


def test_an_unreachable_scheduler_is_a_config_error() -> None:
    options = {"scheduler_address": "tcp://127.0.0.1:1", "timeout": 0.5}
    with pytest.raises(ConfigError, match="cannot connect to the dask scheduler"):
        DaskExecutor(2, options).__enter__()


def test_without_distributed_the_executor_asks_for_the_extra(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"install bmll-basalt\[dask\]"):
        run(lake, tmp_path, EXECUTOR="dask")
