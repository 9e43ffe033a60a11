"""The ``dask`` executor: tasks run on a dask.distributed cluster (docs/execution.md).

Needs ``pip install "bmll-basalt[dask]"``; ``distributed`` is imported only when the executor
is used. Without ``scheduler_address`` a ``LocalCluster`` of ``NUM_WORKERS`` worker
processes, one thread each, lives for the run; each worker's polars uses an even share of the
CPUs (``POLARS_MAX_THREADS``), as with the ``local`` executor. With ``scheduler_address`` the
tasks go to an existing cluster, whose workers rebuild each task's configuration against their
own plugins: they need the same version of Basalt and the same plugins installed as this
machine, and must reach ``DATA_ROOT`` and ``TEMP_DIR`` at the same paths.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import logging
from collections.abc import Callable, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from basalt.errors import ConfigError
from basalt.executors.base import Executor, TaskOutcome

if TYPE_CHECKING:
    from dask.typing import Key
    from distributed import Client, Future, LocalCluster

__all__ = ["DaskExecutor", "DaskOptions"]

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)
LOCAL_ONLY = frozenset({"memory_limit", "dashboard"})
DISTRIBUTION = "bmll-basalt"
DASK_LOG_ENV = "DASK_LOGGING__DISTRIBUTED"


class DaskOptions(BaseModel):
    """Options of the ``dask`` executor."""

    model_config = ConfigDict(extra="forbid")

    scheduler_address: str | None = Field(
        default=None,
        description="Scheduler of an existing cluster, e.g. tcp://10.0.0.5:8786; "
        "default: a local cluster of NUM_WORKERS processes for the run.",
    )
    memory_limit: int | str = Field(
        default="auto",
        description="Memory of each local worker: bytes, a size such as '4GB', "
        "'auto' (the machine's memory shared by the workers) or 0 (no limit).",
    )
    dashboard: bool = Field(
        default=False, description="Serve the local cluster's dashboard (needs bokeh)."
    )
    timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the scheduler when connecting."
    )

    @model_validator(mode="after")
    def _local_options_need_a_local_cluster(self) -> DaskOptions:
        misplaced = sorted(LOCAL_ONLY & self.model_fields_set)
        if self.scheduler_address is not None and misplaced:
            raise ValueError(
                f"{', '.join(misplaced)}: only for a local cluster, not with scheduler_address"
            )
        return self


def _quiet() -> bool:
    """Whether dask's own logs stay quiet (below warnings): unless Basalt logs debug."""
    return logging.getLogger("basalt").getEffectiveLevel() > logging.DEBUG


def _check_workers(client: Client) -> None:
    """Fail unless every worker has this machine's version of Basalt (a worker that cannot
    unpickle a task stalls the run rather than failing it)."""
    expected = importlib.metadata.version(DISTRIBUTION)
    found = client.run(importlib.metadata.version, DISTRIBUTION, on_error="return")
    wrong = {
        worker: "not installed" if isinstance(version, Exception) else version
        for worker, version in found.items()
        if version != expected
    }
    if wrong:
        listed = ", ".join(f"{worker}: {version}" for worker, version in sorted(wrong.items()))
        raise ConfigError(
            f"the dask workers need {DISTRIBUTION} {expected} and the plugins of this machine; "
            f"found {listed}"
        )


class DaskExecutor(Executor):
    """Run tasks on a dask.distributed cluster: a local one or ``scheduler_address``."""

    name = "dask"
    options_model = DaskOptions

    _client: Client | None = None
    _cluster: LocalCluster | None = None

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                "EXECUTOR: dask needs dask.distributed: install bmll-basalt[dask], "
                "e.g. pip install 'bmll-basalt[dask]'"
            ) from exc
        options = self.options
        assert isinstance(options, DaskOptions)
        address = options.scheduler_address
        if _quiet():
            logging.getLogger("distributed").setLevel(logging.WARNING)
        try:
            if address is None:
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=options.memory_limit,
                    # the scheduler serves its metrics anyway: on a free port when no dashboard
                    dashboard_address=":8787" if options.dashboard else ":0",
                    scheduler_kwargs={"dashboard": options.dashboard},
                    env={
                        **self.worker_environment(),
                        **({DASK_LOG_ENV: "warning"} if _quiet() else {}),
                    },
                )
            self._client = Client(
                self._cluster or address, timeout=options.timeout, set_as_default=False
            )
            if address is not None:
                _check_workers(self._client)
        except BaseException as exc:
            self._close()
            if address is not None and isinstance(exc, OSError):
                raise ConfigError(f"cannot connect to the dask scheduler {address}: {exc}") from exc
            raise
        if options.dashboard:
            log.info("dask dashboard: %s", self._client.dashboard_link)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def run(
        self, fn: Callable[[T], R], tasks: Iterable[T]
    ) -> Generator[TaskOutcome[T, R], None, None]:
        from distributed import as_completed

        client = self._client
        if client is None:
            raise RuntimeError("the dask executor runs tasks only inside its `with` block")
        source = iter(tasks)
        owners: dict[Key, tuple[T, Future[R]]] = {}
        completed = as_completed(loop=client.loop)

        def submit(count: int) -> None:
            for task in itertools.islice(source, count):
                future = client.submit(fn, task, pure=False)
                owners[future.key] = (task, future)
                completed.add(future)

        submit(self.window)
        try:
            for future in completed:
                task, _ = owners.pop(future.key)
                try:
                    outcome = TaskOutcome(task, result=future.result())
                except Exception as error:
                    outcome = TaskOutcome(task, error=error)
                submit(1)
                yield outcome
        finally:  # unfinished tasks are dropped, results are released
            client.cancel([future for _, future in owners.values()])
