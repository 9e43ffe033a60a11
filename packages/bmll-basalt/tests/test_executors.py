"""The ``local`` executor's worker processes: environment and recycling."""

from __future__ import annotations

import os

import pytest

from basalt.allocator import ALLOCATOR_ENV, prompt_release
from basalt.config.loading import validate_config
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
    # os.readlink("/proc/self") is the pid of the worker that runs the task.
    pids = results(executor, os.readlink, ["/proc/self"] * 4)
    assert not set(pids[:2]) & set(pids[2:])  # the second wave ran in a fresh pool


def test_the_configuration_sizes_the_workers() -> None:
    raw = {
        "START_DATE": "2024-03-08",
        "PASSES": [{"name": "p1", "modules": ["trade"]}],
        "NUM_WORKERS": 2,
        "THREADS_PER_WORKER": 1,
    }
    executor = make_executor(validate_config(raw), get_registry())
    assert (executor.name, executor.workers, executor.threads_per_worker) == ("local", 2, 1)


def test_the_next_pool_starts_early_and_only_when_needed(
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
    assert len(started) == 2  # the first pool, and its successor started during wave one
