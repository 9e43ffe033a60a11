"""The ``local`` executor's worker processes: environment and recycling."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from basalt.allocator import ALLOCATOR_ENV, prompt_release
from basalt.config.loading import validate_config
from basalt.errors import ConfigError
from basalt.executors.base import THREADS_ENV
from basalt.executors.local import LocalExecutor
from basalt.plugins import get_registry
from basalt.runner import make_executor


def results(executor: LocalExecutor, fn: object, tasks: list[str]) -> list[str]:
    with executor:
        outcomes = list(executor.run(fn, tasks))  # type: ignore[arg-type]
    assert all(outcome.ok for outcome in outcomes)
    return [str(outcome.result) for outcome in outcomes]


@pytest.mark.parametrize(
    ("threads", "expected"), [(None, str(max(1, (os.cpu_count() or 1) // 2))), (3, "3")]
)
def test_workers_get_the_configured_or_an_even_share_of_threads(
    threads: int | None, expected: str
) -> None:
    before = dict(os.environ)
    executor = LocalExecutor(2, threads_per_worker=threads)
    assert results(executor, os.getenv, [THREADS_ENV] * 2) == [expected] * 2
    assert os.environ == before


def test_workers_hand_freed_memory_back_promptly() -> None:
    # polars put its own defaults in the variable when this process imported it; the
    # workers' polars puts them first again, then the options they inherit.
    inherited = prompt_release(os.environ["_RJEM_MALLOC_CONF"])
    assert inherited.endswith(",muzzy_decay_ms:0")
    [found] = results(LocalExecutor(1), os.getenv, [ALLOCATOR_ENV])
    assert found.endswith(inherited) and found != inherited


def test_prompt_release_comes_last_and_once() -> None:
    assert prompt_release(None) == "muzzy_decay_ms:0"
    assert prompt_release("narenas:1") == "narenas:1,muzzy_decay_ms:0"
    assert prompt_release("narenas:1,muzzy_decay_ms:0") == "narenas:1,muzzy_decay_ms:0"


def test_workers_are_replaced_after_their_share_of_tasks() -> None:
    executor = LocalExecutor(2, {"max_tasks_per_worker": 1})
    # realpath of /proc/self (with any number of "/.") is the pid directory of the worker
    # that runs the task; the tasks differ so that each outcome tells which task it was.
    tasks = ["/proc/self" + "/." * i for i in range(4)]
    with executor:
        pid = {o.task: o.result for o in executor.run(os.path.realpath, tasks)}
    assert not {pid[tasks[0]], pid[tasks[1]]} & {pid[tasks[2]], pid[tasks[3]]}


def test_tasks_are_taken_only_as_workers_can_start_them() -> None:
    taken: list[int] = []

    def tasks() -> Iterator[str]:
        for i in range(10):
            taken.append(i)
            yield "/proc/self"

    executor = LocalExecutor(2)
    with executor:
        outcomes = executor.run(os.readlink, tasks())
        assert next(outcomes).ok and len(taken) == executor.window == 4
        assert len(list(outcomes)) == 9 and len(taken) == 10


def test_the_configuration_sizes_the_workers() -> None:
    raw = {
        "START_DATE": "2024-03-08",
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "NUM_WORKERS": 2,
        "THREADS_PER_WORKER": 1,
    }
    executor = make_executor(validate_config(raw), get_registry())
    assert (executor.name, executor.workers, executor.threads_per_worker) == ("local", 2, 1)


def test_a_fresh_pool_starts_only_when_a_task_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = []
    start_pool = LocalExecutor._start_pool

    def counted(self: LocalExecutor) -> object:
        started.append(self)
        return start_pool(self)

    monkeypatch.setattr(LocalExecutor, "_start_pool", counted)
    executor = LocalExecutor(2, {"max_tasks_per_worker": 1})
    results(executor, os.readlink, ["/proc/self"] * 4)
    assert len(started) == 2  # the first pool, and the one taking tasks 3 and 4


def test_threads_per_worker_must_be_positive() -> None:
    raw = {"START_DATE": "2024-03-08", "PASSES": [{"name": "p1"}], "THREADS_PER_WORKER": 0}
    with pytest.raises(ConfigError, match="THREADS_PER_WORKER"):
        validate_config(raw)


def test_the_basalt_command_hands_freed_memory_back_promptly() -> None:
    code = (
        "import os, sys; import basalt.cli.main as m; sys.argv = ['basalt', '--help']\n"
        "m.end_process = sys.exit  # a plain exit, so that the test can look afterwards\n"
        "try:\n    m.main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ['_RJEM_MALLOC_CONF'])"
    )
    environment = {k: v for k, v in os.environ.items() if k != ALLOCATOR_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    )
    assert done.stdout.strip().endswith("muzzy_decay_ms:0")


def test_a_full_pool_ends_before_the_next_one_starts() -> None:
    """At most ``workers`` worker processes hold memory at any time, pool changes included."""
    count_workers = (
        "import glob, time; time.sleep(0.3); "
        f"children = [c for f in glob.glob('/proc/{os.getpid()}/task/*/children') "
        "for c in open(f).read().split()]; "
        "print(sum(b'spawn_main' in open(f'/proc/{c}/cmdline', 'rb').read() for c in children))"
    )
    command = [sys.executable, "-c", count_workers]
    with LocalExecutor(2, {"max_tasks_per_worker": 1}) as executor:
        outcomes = list(executor.run(subprocess.check_output, [command] * 6))
    assert [int(outcome.result or 0) for outcome in outcomes] == [2] * 6
