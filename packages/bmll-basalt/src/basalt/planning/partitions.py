"""Planning one output partition: skip it (complete, on resume), fail it (a day could not be
planned) or cut it into tasks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from basalt.errors import ConfigError, describe
from basalt.outputs.base import OutputTarget, Partition
from basalt.planning.dates import DateBatch
from basalt.planning.plan import PassPlanner
from basalt.retry import with_retries
from basalt.summary import TaskFailure
from basalt.tasks import Task

__all__ = ["PartitionPlan", "plan_partition"]


@dataclass(frozen=True)
class PartitionPlan:
    """What planning decided for one output partition: run its ``tasks``, skip it (its
    output exists, on resume), or fail it (``failure``: a day could not be planned)."""

    batch: DateBatch
    location: str
    partition: Partition
    tasks: list[Task] = field(default_factory=list)
    kept: tuple[str, ...] = ()
    """The locations of a skipped partition and its side outputs."""
    skipped: bool = False
    failure: TaskFailure | None = None


def plan_partition(
    planner: PassPlanner,
    target: OutputTarget,
    counter: Iterator[int],
    batch: DateBatch,
    *,
    scope: str,
    resume: bool,
    retries: int,
) -> PartitionPlan:
    """The plan of partition ``batch`` of the planner's pass, computed for the universe
    ``scope`` (``counter`` numbers the part files of the pass). With ``resume``, a partition
    whose output and side outputs record all its days is skipped (unless it reads earlier
    passes' partitions written again in this run); the days it is written
    with leave out those without data (holidays), so that a resumed run looks at them
    again (late files). Planning a day is retried
    on transient errors; a day that cannot be planned fails the partition, a configuration
    error the run."""
    pass_config = planner.pass_config
    location = planner.location(batch)
    partition = Partition(batch.start, batch.end, planner.bucket, batch.days, scope)
    sides = [s for m in pass_config.modules for s in planner.registry.analytics[m].emits]
    written = [location, *(planner.location(batch, side) for side in sides)]
    fresh = planner.derived and planner.reads_fresh_output(batch.start, batch.end)
    if resume and not fresh and all(target.is_complete(w, partition) for w in written):
        return PartitionPlan(batch, location, partition, skipped=True, kept=tuple(written))
    days: tuple[dt.date | None, ...] = (None,) if planner.derived else batch.days
    tasks = []
    for day in days:

        def plan_day(day: dt.date | None = day) -> list[Task]:
            if day is None:
                return planner.partition_task(batch, counter.__next__)
            return planner.day_tasks(batch, day, counter.__next__)

        try:
            tasks += with_retries(plan_day, retries=retries, what=f"planning {day or batch.key}")
        except ConfigError:
            raise
        except Exception as exc:  # the partition fails; the run goes on
            when = day or batch.start
            failure = TaskFailure(pass_config.name, batch.key, when, None, describe(exc))
            return PartitionPlan(batch, location, partition, failure=failure)
    with_data = tuple(d for d in batch.days if d not in planner.days_without_listings)
    if not planner.derived:  # a day without data is not recorded: resuming looks again
        partition = dataclasses.replace(partition, days=with_data)
    return PartitionPlan(batch, location, partition, tasks)
