"""Planning a pass: output partitions, and per day the symbol batches and their inputs.

For every date batch (an output partition) and every day in it, the files of the tables the
pass needs are listed per MIC — a MIC with none of them that day has a market holiday, one
with only some of them fails the day — the universe is resolved, the files are sized from
their footers, and the listings are packed into symbol batches that fit the memory budget.
Inputs are then either scanned directly (predicate push-down on ListingId) or, for files
not organised by listing, shredded once into per-batch local files — both give the same
rows to the same batch.
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from basalt.config.models import AnalyticsConfig, OutputConfig, PassConfig
from basalt.errors import ConfigError, DataError
from basalt.lake import Lake
from basalt.passes import pass_sources, reads_lake
from basalt.planning.dates import DateBatch, pass_date_batches
from basalt.planning.packing import pack_listings
from basalt.planning.sizes import FileLayout, inspect_file, listing_bytes
from basalt.planning.stamps import within_day
from basalt.plugins import Registry
from basalt.tables.base import DataTable
from basalt.tasks import PassInput, TableInput, Task
from basalt.timebuckets import BucketSpec
from basalt.universes.base import Universe

__all__ = ["PassPlanner", "output_location"]

log = logging.getLogger(__name__)
BATCH_COLUMN = "BasaltBatch"
MEMORY_OVERHEAD = 3.0
"""Working memory of a task per byte of (uncompressed) input."""
TASKS_PER_WORKER = 2
"""With several workers, a day is cut into at least this many tasks per worker: smaller tasks
hold less memory, and a worker that finishes early takes over work at the end of a day."""


def output_location(
    config: AnalyticsConfig, pass_config: PassConfig, batch: DateBatch, side: str | None = None
) -> str:
    """Where the partition ``batch`` of ``pass_config`` (or of its side output ``side``) is
    written: its output's path template (sql: table name) with {datasetname}, {pass} (for a
    side output ``{pass}_{side}``), {universe}, {start_date} and {end_date} filled in."""
    template = config.output_for(pass_config).location_template
    try:
        return template.format(
            datasetname=config.DATASETNAME,
            universe=path_safe(config.UNIVERSE or "all"),
            start_date=batch.start.isoformat(),
            end_date=batch.end.isoformat(),
            **{"pass": f"{pass_config.name}_{side}" if side else pass_config.name},
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"output path_template {template!r} is invalid: {exc}") from None


def _table_input(lake: Lake, files: list[str], in_day: Mapping[str, bool]) -> TableInput:
    """The lake ``files`` of a task's table, ``in_day`` when each one is."""
    return TableInput(lake, tuple(files), in_day=all(in_day[f] for f in files))


def path_safe(value: str) -> str:
    """``value`` as one part of a path: characters other than letters, digits and
    ``=,.+-_`` (a ``/`` above all) become underscores."""
    return re.sub(r"[^\w=,.+-]", "_", value)


@dataclass
class PassPlanner:
    """Turns one pass of a configuration into partitions of tasks."""

    config: AnalyticsConfig
    config_json: str
    pass_index: int
    registry: Registry
    universe: Universe
    workdir: str
    workers: int
    memory_bytes: float
    run_outputs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Locations earlier passes of this run wrote or kept (resumed), by pass: only these are
    read of them (not what older runs left)."""
    rewritten: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Locations earlier passes wrote in this run (not kept), by pass."""
    failed_outputs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Locations of the partitions earlier passes failed to write in this run, by pass."""
    input_rows: dict[str, int] = field(default_factory=dict)
    """Rows of the universe's listings in every lake file planned so far, by path."""
    no_data: set[tuple[dt.date, str]] = field(default_factory=set)
    """(day, MIC) of the days planned so far on which a MIC had no file (holidays)."""
    days_planned: set[dt.date] = field(default_factory=set)
    """Days whose listings and files were looked up so far."""
    days_without_listings: set[dt.date] = field(default_factory=set)
    """Days planned so far on which no listing of the universe had data."""

    @property
    def pass_config(self) -> PassConfig:
        return self.config.PASSES[self.pass_index]

    @property
    def lake(self) -> Lake:
        return Lake(self.config.DATA_ROOT or ".", self.config.storage_options)

    def date_batches(self) -> list[DateBatch]:
        """The pass's output partitions."""
        return pass_date_batches(self.config, self.pass_config)

    def location(self, batch: DateBatch, side: str | None = None) -> str:
        """Where the pass's partition ``batch`` (of its side output ``side``) is written."""
        return output_location(self.config, self.pass_config, batch, side)

    @property
    def bucket(self) -> BucketSpec:
        """The pass's bucket settings."""
        return self.pass_config.bucket(self.config.TIME_BUCKET_SECONDS)

    @property
    def derived(self) -> bool:
        """Whether the pass reads earlier passes only (one task per partition)."""
        return not reads_lake(self.pass_config, self.registry)

    def tables(self) -> dict[str, type[DataTable]]:
        """The lake tables the pass reads: its modules' sources, its time mode's, and
        TABLES_TO_LOAD (unless the pass is derived)."""
        if self.derived:
            return {}
        sources = pass_sources(self.pass_config, self.registry)
        names = [s for s in sources if s in self.registry.tables]
        names += self.pass_config.timeline_tables() + list(self.config.TABLES_TO_LOAD)
        return {name: self.registry.tables[name] for name in dict.fromkeys(names)}

    def pass_inputs(self, first: dt.date, last: dt.date) -> dict[str, PassInput]:
        """The earlier passes (and side outputs, ``pass:side``) the pass reads, as written
        for the days ``first``..``last``: the locations of their partitions that overlap
        those days and exist."""
        earlier = {p.name: p for p in self.config.PASSES[: self.pass_index]}
        inputs = {}
        for name in pass_sources(self.pass_config, self.registry):
            pass_name, _, side = name.partition(":")
            if pass_name not in earlier:
                continue
            source = earlier[pass_name]
            output = self.config.output_for(source)
            target = self.registry.outputs[output.type](output, self.config.storage_options)
            batches = pass_date_batches(self.config, source)
            overlapping = [b for b in batches if b.start <= last and b.end >= first]
            failed = set(self.failed_outputs.get(pass_name, ()))
            broken = [
                b.key for b in overlapping if output_location(self.config, source, b) in failed
            ]
            if broken:
                raise DataError(
                    f"pass {pass_name!r} failed for partition(s) {', '.join(broken)}, which "
                    f"pass {self.pass_config.name!r} reads"
                )
            locations = dict.fromkeys(
                output_location(self.config, source, b, side or None) for b in overlapping
            )
            ran = self.run_outputs.get(pass_name)
            if ran is not None:  # the pass ran here: read what it wrote, not older files
                found = [loc for loc in locations if loc in ran]
            else:  # it ran elsewhere (another process, an orchestrator's step)
                found = [loc for loc in locations if target.exists(loc)]
            inputs[name] = PassInput(
                OutputConfig.model_validate(output.model_dump()),  # plain: tasks are pickled
                self.config.storage_options,
                tuple(found),
                source.bucket(self.config.TIME_BUCKET_SECONDS),
                first,
                last,
            )
        return inputs

    def reads_fresh_output(self, first: dt.date, last: dt.date) -> bool:
        """Whether an earlier pass this pass reads wrote (not kept) some partition overlapping
        the days ``first`` to ``last`` in this run."""
        try:
            inputs = self.pass_inputs(first, last)
        except DataError:  # an earlier pass failed there: planning the partition says so
            return True
        for name, source in inputs.items():
            pass_name = name.partition(":")[0]
            if set(source.locations) & set(self.rewritten.get(pass_name, ())):
                return True
        return False

    def partition_task(self, partition: DateBatch, index: Callable[[], int]) -> list[Task]:
        """The one task of a derived pass's partition, over all its days and listings; none
        when the earlier passes wrote nothing for them."""
        inputs = self.pass_inputs(partition.start, partition.end)
        if not any(i.locations for i in inputs.values()):
            return []
        universes = [self.universe.resolve(self.lake, day) for day in partition.days]
        listings = (
            pl.concat(universes, how="diagonal_relaxed")
            .unique("ListingId", keep="first")
            .sort("ListingId")
        )
        return [self._task(partition, partition.start, 0, listings, inputs, index)]

    def group_column(self) -> str | None:
        """The universe column whose listings must share a batch, if a module asks."""
        wanted = {self.registry.analytics[m].batch_group_by for m in self.pass_config.modules} - {
            None
        }
        if len(wanted) > 1:
            raise ConfigError(
                f"pass {self.pass_config.name!r}: modules need incompatible batch groupings "
                f"{sorted(w for w in wanted if w)}"
            )
        return next(iter(wanted), None)

    def _day_files(self, day: dt.date, mics: Sequence[str]) -> dict[str, dict[str, list[str]]]:
        """The files of the pass's tables on ``day``, by table and MIC, of the MICs that are
        open: that have a file of some table the pass's modules read (of those every venue
        has each trading day). The others are recorded in :attr:`no_data` (holidays: their
        reference or market-state files may exist). An open MIC missing a file of some
        table the pass, its time mode or its universe reads fails the day."""
        tables = {**self.tables(), **{t: self.registry.tables[t] for t in self.universe.tables}}
        found = {
            mic: {name: table.files(self.lake, [mic], [day]) for name, table in tables.items()}
            for mic in mics
        }
        needed = [name for name, table in tables.items() if table.every_venue_day]
        sources = [s for s in pass_sources(self.pass_config, self.registry) if s in tables]
        data = [name for name in sources if name in needed] or sources
        opened = {mic for mic, files in found.items() if any(files[t] for t in data)}
        missing = [
            tables[name].path(self.lake, mic, day)
            for mic in sorted(opened)
            for name in needed
            if not found[mic][name]
        ]
        if missing:
            raise DataError(
                f"{day}: input file(s) missing while the other tables of their MIC have "
                f"files that day: {', '.join(missing)}"
            )
        self.no_data.update((day, mic) for mic in mics if mic not in opened)
        return {
            name: {mic: found[mic][name] for mic in mics if mic in opened} for name in self.tables()
        }

    def _listings(self, day: dt.date) -> tuple[pl.DataFrame, dict[str, dict[str, list[str]]]]:
        """The listings of ``day`` on open MICs, and the files of the pass's tables by table
        and MIC."""
        mics = self.universe.mics(self.lake, day)
        resolved = None
        if mics is None:
            resolved = self.universe.resolve(self.lake, day)
            mics = sorted(resolved["MIC"].unique().to_list())
        by_table = self._day_files(day, mics)
        open_mics = sorted({mic for of in by_table.values() for mic in of})
        if resolved is None:
            resolved = (
                self.universe.resolve(self.lake, day)
                if open_mics
                else pl.DataFrame(schema={"ListingId": pl.Int64, "MIC": pl.String})
            )
        listings = resolved.filter(pl.col("MIC").is_in(open_mics))
        self.days_planned.add(day)
        if listings.is_empty():
            self.days_without_listings.add(day)
        return listings, by_table

    def day_tasks(self, partition: DateBatch, day: dt.date, index: Callable[[], int]) -> list[Task]:
        """The tasks of one day: one per symbol batch. A task scanning the lake directly gets
        the files of its listings' MICs only."""
        listings, by_mic = self._listings(day)
        if listings.is_empty():
            return []
        files = {name: [f for paths in of.values() for f in paths] for name, of in by_mic.items()}
        tables = self.tables()
        layouts = {
            name: [inspect_file(self.lake, f, tables[name].timestamp_sources()) for f in paths]
            for name, paths in files.items()
        }
        bucket = self.bucket
        in_day = {
            layout.path: within_day(layout.stamps, day, bucket)
            for ls in layouts.values()
            for layout in ls
        }
        universe = listings["ListingId"].implode()
        self.input_rows.update(
            (
                layout.path,
                int(layout.counts.filter(pl.col("ListingId").is_in(universe))["Rows"].sum()),
            )
            for ls in layouts.values()
            for layout in ls
        )
        group = self.group_column()
        if group and group not in listings.columns:
            raise ConfigError(f"the universe has no {group} column to keep listings together")
        sizes = listings.select("ListingId", *([group] if group else [])).join(
            listing_bytes([layout for ls in layouts.values() for layout in ls]),
            on="ListingId",
            how="left",
        )
        batches = pack_listings(
            sizes.with_columns(pl.col("Bytes").fill_null(0.0)),
            budget_bytes=self.memory_bytes / MEMORY_OVERHEAD,
            min_batches=self.workers * TASKS_PER_WORKER if self.workers > 1 else 1,
            group=group,
        )
        shred = self._shred(layouts, len(batches))
        log.debug(
            "%s: %d listing(s) on %s in %d symbol batch(es), %d file(s), %s",
            day,
            listings.height,
            ", ".join(sorted(listings["MIC"].unique().to_list())),
            len(batches),
            sum(len(paths) for paths in files.values()),
            "shredded" if shred else "scanned directly",
        )
        inputs = self._shredded(files, batches, partition, day, in_day) if shred else None
        earlier = self.pass_inputs(day, day)
        tasks = []
        for number, ids in enumerate(batches):
            batch = listings.filter(pl.col("ListingId").is_in(ids))
            batch_mics = sorted(batch["MIC"].unique().to_list())
            table_inputs = (
                inputs[number]
                if inputs is not None
                else {
                    name: _table_input(
                        self.lake, [f for mic in batch_mics for f in of.get(mic, [])], in_day
                    )
                    for name, of in by_mic.items()
                }
            )
            batch_inputs: dict[str, TableInput | PassInput] = {**table_inputs, **earlier}
            tasks.append(self._task(partition, day, number, batch, batch_inputs, index))
        return tasks

    def _task(
        self,
        partition: DateBatch,
        day: dt.date,
        batch: int,
        listings: pl.DataFrame,
        inputs: Mapping[str, TableInput | PassInput],
        index: Callable[[], int],
    ) -> Task:
        return Task(
            config_json=self.config_json,
            pass_index=self.pass_index,
            partition=partition.key,
            day=day,
            batch=batch,
            listings=listings,
            inputs=dict(inputs),
            part=os.path.join(self.workdir, f"part-{index():08d}.parquet"),
            retries=self.config.IO_RETRIES,
            last_day=partition.end if self.derived else None,
        )

    def shred_dir(self, partition: DateBatch) -> str:
        """Where the shredded inputs of ``partition`` are written."""
        return os.path.join(self.workdir, "shred", self.pass_config.name, partition.key)

    def discard_prepared_inputs(self, partition: DateBatch) -> None:
        """Remove the shredded inputs of ``partition`` (once it is done)."""
        shutil.rmtree(self.shred_dir(partition), ignore_errors=True)

    def _shred(self, layouts: dict[str, list[FileLayout]], batches: int) -> bool:
        mode = self.config.PREPARE_DATA_MODE
        if mode != "auto":
            return mode == "shred"
        scattered = [
            layout.path for ls in layouts.values() for layout in ls if not layout.organised
        ]
        if scattered and batches > 1:
            log.info("shredding: %d file(s) not organised by listing", len(scattered))
            return True
        return False

    def _shredded(
        self,
        files: dict[str, list[str]],
        batches: list[list[int]],
        partition: DateBatch,
        day: dt.date,
        in_day: Mapping[str, bool],
    ) -> list[dict[str, TableInput]]:
        """Re-partition each table's files of ``day`` by symbol batch into local files."""
        batch_map = pl.LazyFrame(
            {
                "ListingId": [i for ids in batches for i in ids],
                BATCH_COLUMN: [n for n, ids in enumerate(batches) for _ in ids],
            },
            schema={"ListingId": pl.Int64, BATCH_COLUMN: pl.Int64},
        )
        local = Lake(self.workdir)
        prepared: list[dict[str, TableInput]] = [{} for _ in batches]
        for name, paths in files.items():
            table = self.registry.tables[name]
            target = os.path.join(self.shred_dir(partition), f"{day:%Y%m%d}-{name}")
            if paths:
                rows = pl.concat(
                    [table.scan_file(self.lake, p).select(table.schema().names()) for p in paths]
                )
                try:
                    rows.join(batch_map, on="ListingId").sink_parquet(
                        pl.PartitionBy(target, key=BATCH_COLUMN, include_key=False), mkdir=True
                    )
                except Exception:
                    table.check_readable(self.lake, paths)  # names the file that broke it
                    raise
            for number in range(len(batches)):
                parts = sorted(
                    glob.glob(os.path.join(target, f"{BATCH_COLUMN}={number}", "*.parquet"))
                )
                proven = all(in_day[p] for p in paths)
                prepared[number][name] = TableInput(local, tuple(parts), True, proven)
        return prepared
