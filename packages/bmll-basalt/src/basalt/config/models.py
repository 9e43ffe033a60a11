"""The configuration models: a pipeline (:class:`AnalyticsConfig`) of passes (:class:`PassConfig`).

Top-level keys are UPPERCASE as in existing pipeline files; pass keys are lowercase. The
models here are the plugin-independent base; :func:`basalt.config.build.config_model`
extends them with every registered analytic's options.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from basalt.guards import PassExpectations, QualityChecks
from basalt.planning.dates import BatchFreq
from basalt.timebuckets import Anchor, BucketSpec, Closed
from basalt.timeline import DAILY_BUCKET, DenseConfig, TimelineMode, canonical_mode

__all__ = ["DEFAULT_PATH_TEMPLATE", "AnalyticsConfig", "OutputConfig", "PassConfig", "PrepareMode"]

PrepareMode = Literal["auto", "direct", "shred"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
PREPARE_MODE_ALIASES = {"naive": "direct", "s3_shredding": "shred"}


def _divides_a_day(seconds: float) -> float:
    """``seconds`` if a whole number of buckets of that width (to the nanosecond) make a
    day, so that buckets meet at midnight."""
    width = round(seconds * 1e9)
    if width <= 0 or round(MAX_BUCKET_SECONDS * 1e9) % width:
        raise ValueError(
            f"a bucket of {seconds:g} s does not divide a day (86400 s), so buckets would "
            "straddle midnight; choose a divisor such as 1, 5, 15, 30, 60, 300 or 900"
        )
    return seconds


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _prepare_mode(value: Any) -> Any:
    return PREPARE_MODE_ALIASES.get(value, value) if isinstance(value, str) else value


DEFAULT_PATH_TEMPLATE = (
    "basalt-output/{datasetname}/{pass}/{universe}/{start_date}_{end_date}.parquet"
)


IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
PLACEHOLDERS = ("datasetname", "pass", "universe", "start_date", "end_date")
MAX_BUCKET_SECONDS = 86_400.0
BucketSeconds = Annotated[
    float,
    Field(gt=0, le=MAX_BUCKET_SECONDS, allow_inf_nan=False),
    AfterValidator(_divides_a_day),
]
MAX_WORKERS = 100_000
MAX_THREADS = 4_096
MAX_MEMORY_GB = 1e6
MAX_RETRIES = 100


class OutputConfig(BaseModel):
    """Where and how a pass's result is written."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(default="parquet", description="Output target: parquet, delta, sql.")
    path_template: str = Field(
        default=DEFAULT_PATH_TEMPLATE,
        description=(
            "Destination (parquet: a file per partition; delta: a table); placeholders "
            "{datasetname}, {pass}, {universe}, {start_date}, {end_date}. Relative paths are "
            "relative to the working directory."
        ),
    )
    partition_columns: list[Annotated[str, Field(pattern=IDENTIFIER)]] | None = Field(
        default=None,
        description="Columns the data is laid out by (parquet: hive directories; delta: "
        "partition_by); a partition re-written replaces only the rows of its dates and of "
        "these columns' values in it.",
    )
    dedupe_on_partition: bool = Field(
        default=True,
        description="delta, sql: re-writing a partition replaces its rows (the rows of its "
        "dates, and of its partition_columns values) instead of adding to them.",
    )
    delta_mode: Literal["append", "overwrite"] = Field(
        default="append",
        description="delta: append partitions (replacing a re-written one with "
        "dedupe_on_partition), or overwrite the whole table with the run's first partition.",
    )
    sql_connection: str | None = Field(
        default=None,
        description="sql: database URL, e.g. sqlite:///out.db or postgresql://user@host:5432/db.",
    )
    sql_table: str | None = Field(
        default=None,
        description="sql: table name; the placeholders of path_template are allowed and the "
        "name must be an identifier (letters, digits, underscores).",
    )
    sql_if_exists: Literal["fail", "replace", "append"] = Field(
        default="append",
        description="sql, when the table exists at the run's first write: fail, replace it, "
        "or append (re-written partitions replaced with dedupe_on_partition).",
    )
    preserve_index: bool = Field(
        default=False, description="Add the row number within the partition as a column."
    )
    index_name: Annotated[str, Field(pattern=IDENTIFIER)] | None = Field(
        default=None, description="Name of the preserve_index column; default index."
    )

    @field_validator("path_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(**dict.fromkeys(PLACEHOLDERS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not a valid template ({type(exc).__name__}: {exc}); "
                f"placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            ) from None
        return value

    @property
    def location_template(self) -> str:
        """The template of a partition's location: ``sql_table`` for the sql output, else
        ``path_template``."""
        return self.sql_table if self.type == "sql" and self.sql_table else self.path_template


class PassConfig(BaseModel):
    """One pass: a set of modules computed over the same time buckets."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Pass name (output key).")
    modules: list[str] = Field(min_length=1, description="Analytics modules, in join order.")
    time_bucket_seconds: BucketSeconds | None = Field(
        default=None,
        description="Bucket width in seconds, dividing a day (at most a day); default "
        "TIME_BUCKET_SECONDS.",
    )
    time_bucket_anchor: Anchor = Field(
        default="end", description="Label buckets by their end (default) or start."
    )
    time_bucket_closed: Closed = Field(
        default="right", description="Buckets are (start, end] (right, default) or [start, end)."
    )
    output: OutputConfig | None = Field(
        default=None, description="Output of this pass; default OUTPUT_TARGET."
    )
    batch_freq: BatchFreq | None = Field(
        default=None, description="Date batching of this pass; default BATCH_FREQ."
    )
    timeline_mode: Annotated[TimelineMode, BeforeValidator(canonical_mode)] = Field(
        default="sparse",
        description="sparse: buckets with data; dense: every bucket of each listing's session "
        "too; daily: one bucket per listing and day.",
    )
    dense: DenseConfig = Field(
        default_factory=DenseConfig,
        validation_alias=AliasChoices("dense", "dense_analytics"),
        description="How dense mode finds each listing's session.",
    )
    quality_checks: QualityChecks = Field(
        default_factory=QualityChecks,
        description="Quality checks of this pass's output; when enabled they replace "
        "QUALITY_CHECKS.",
    )
    expectations: PassExpectations = Field(
        default_factory=PassExpectations,
        validation_alias=AliasChoices("expectations", "pass_expectations"),
        description="What each task's output must keep of its first input.",
    )
    module_inputs: dict[str, str | dict[str, str]] = Field(
        default_factory=dict,
        description="Where modules' inputs come from: {module: source} for the module's "
        "first input, or {module: {input: source}}; a source is a table or an earlier pass "
        "(whose output is read back for the task's days). Default: each input's own name.",
    )
    forward_fill: list[str] = Field(
        default_factory=list,
        description="Columns (glob patterns, e.g. '*Price1' or '*') whose last value is "
        "carried forward over each listing's empty buckets of the day.",
    )

    def bucket(self, default_seconds: float) -> BucketSpec:
        """The pass's bucket settings (one bucket a day in daily mode)."""
        if self.timeline_mode == "daily":
            return DAILY_BUCKET
        return BucketSpec(
            self.time_bucket_seconds or default_seconds,
            self.time_bucket_anchor,
            self.time_bucket_closed,
        )

    def timeline_tables(self) -> list[str]:
        """Tables the time mode reads (the market state for adaptive dense sessions)."""
        adaptive = self.timeline_mode == "dense" and self.dense.mode == "adaptive"
        return ["marketstate"] if adaptive else []

    def module_sources(self, module: str, inputs: Sequence[str]) -> dict[str, str]:
        """The source of each of ``module``'s ``inputs`` (see ``module_inputs``)."""
        mapped = self.module_inputs.get(module, {})
        if isinstance(mapped, str):
            mapped = {inputs[0]: mapped} if inputs else {}
        return {name: mapped.get(name, name) for name in inputs}

    def module_config(self, module: str) -> Any:
        """The validated options of ``module`` in this pass."""
        return getattr(self, module)


class AnalyticsConfig(BaseModel):
    """A pipeline: dates, universe, data root, passes and output."""

    model_config = ConfigDict(extra="forbid")

    START_DATE: dt.date = Field(description="First trading day (YYYY-MM-DD).")
    END_DATE: dt.date | None = Field(default=None, description="Last day; default START_DATE.")
    DATASETNAME: str = Field(default="basalt", description="Dataset name ({datasetname}).")
    UNIVERSE: str | None = Field(
        default=None,
        description=(
            "Listings: 'mic=XLON', 'mic=XLON,XPAR', 'ticker=AMZN', 'file=u.csv'; "
            "default every listing of the lake's reference table."
        ),
    )
    DATA_ROOT: str | None = Field(
        default=None, description="Lake root directory; default $BASALT_DATA_ROOT."
    )
    TIME_BUCKET_SECONDS: BucketSeconds = Field(
        default=60.0,
        description="Default bucket width in seconds, dividing a day (at most a day).",
    )
    EXCLUDE_WEEKENDS: bool = Field(default=True, description="Skip Saturdays and Sundays.")
    TABLES_TO_LOAD: list[str] = Field(
        default_factory=list, description="Tables loaded in addition to what modules require."
    )
    LOGGING_LEVEL: Annotated[LogLevel, BeforeValidator(_upper)] = Field(
        default="INFO",
        description="Logging level of a run when set here and the command line gives no "
        "-v/-vv (the basalt command otherwise shows warnings only): DEBUG, INFO, WARNING, "
        "ERROR.",
    )
    BATCH_FREQ: BatchFreq | None = Field(
        default=None,
        description="Output partitions: W, 2W or M date batches; default by range length.",
    )
    NUM_WORKERS: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WORKERS,
        description="Parallel workers; default the number of CPUs.",
    )
    THREADS_PER_WORKER: int | None = Field(
        default=None,
        ge=1,
        le=MAX_THREADS,
        description="polars threads of each worker process; default an even share of the CPUs.",
    )
    MEMORY_PER_WORKER: float | None = Field(
        default=None,
        gt=0,
        le=MAX_MEMORY_GB,
        description="Memory budget of one task in GB (sizes symbol batches); "
        "default 70% of the machine's memory shared by the workers.",
    )
    EXECUTOR: str = Field(default="local", description="Where tasks run: local, dask, serial.")
    EXECUTOR_OPTIONS: dict[str, Any] = Field(
        default_factory=dict, description="Options of the executor (see its documentation)."
    )
    FAIL_FAST: bool = Field(
        default=False, description="Stop at the first failed task instead of finishing the others."
    )
    RESUME: bool = Field(
        default=False,
        description="Skip output partitions every day of which was written for the run's "
        "universe (recorded with the rows).",
    )
    PREPARE_DATA_MODE: Annotated[PrepareMode, BeforeValidator(_prepare_mode)] = Field(
        default="auto",
        description="direct: lazy scans with filters; shred: re-partition files by symbol "
        "batch first; auto: shred only files not organised by listing.",
    )
    IO_RETRIES: int = Field(
        default=3,
        ge=0,
        le=MAX_RETRIES,
        description="Retries of a task, a partition write or a lake check failing with a "
        "transient I/O error (throttling, a refused connection, a time-out).",
    )
    TEMP_DIR: str | None = Field(
        default=None, description="Directory for temporary files; default the system's."
    )
    S3_STORAGE_OPTIONS: dict[str, str] = Field(
        default_factory=dict,
        description="S3 settings (endpoint_url, region, profile, ...); default the AWS chain.",
    )
    QUALITY_CHECKS: QualityChecks = Field(
        default_factory=QualityChecks, description="Quality checks of every pass's output."
    )
    SCHEMA_LOCK_MODE: Literal["off", "warn", "raise", "update"] = Field(
        default="off",
        description="Compare every pass's output schema (found without data) with "
        "SCHEMA_LOCK_PATH: warn, raise (before any data is read) or update it.",
    )
    SCHEMA_LOCK_PATH: str | None = Field(
        default=None, description="The schema lock file (JSON); needed unless the mode is off."
    )
    PASSES: list[PassConfig] = Field(min_length=1, description="Passes, run in order.")
    OUTPUT_TARGET: OutputConfig = Field(
        default_factory=OutputConfig, description="Default output of every pass."
    )

    @model_validator(mode="after")
    def _check(self) -> AnalyticsConfig:
        if self.END_DATE is None:
            self.END_DATE = self.START_DATE
        if self.END_DATE < self.START_DATE:
            raise ValueError(f"END_DATE {self.END_DATE} is before START_DATE {self.START_DATE}")
        if not self.days():
            raise ValueError(
                f"START_DATE {self.START_DATE} to END_DATE {self.END_DATE} holds only Saturdays "
                "and Sundays, which EXCLUDE_WEEKENDS skips: no day to run"
            )
        if self.RESUME:
            for output in [self.OUTPUT_TARGET, *(p.output for p in self.PASSES if p.output)]:
                if (output.type == "delta" and output.delta_mode == "overwrite") or (
                    output.type == "sql" and output.sql_if_exists != "append"
                ):
                    raise ValueError(
                        "RESUME keeps the partitions already written; an output that replaces "
                        "its whole table (delta_mode overwrite, sql_if_exists replace or fail) "
                        "would lose them"
                    )
        if self.SCHEMA_LOCK_MODE != "off" and not self.SCHEMA_LOCK_PATH:
            raise ValueError(f"SCHEMA_LOCK_MODE {self.SCHEMA_LOCK_MODE} needs SCHEMA_LOCK_PATH")
        names = [p.name for p in self.PASSES]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"pass names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def end_date(self) -> dt.date:
        """``END_DATE`` (always set after validation)."""
        assert self.END_DATE is not None
        return self.END_DATE

    def days(self) -> list[dt.date]:
        """The days of the run, weekends excluded unless EXCLUDE_WEEKENDS is false."""
        count = (self.end_date - self.START_DATE).days + 1
        days = [self.START_DATE + dt.timedelta(days=i) for i in range(count)]
        return [d for d in days if not (self.EXCLUDE_WEEKENDS and d.weekday() >= 5)]

    @property
    def storage_options(self) -> tuple[tuple[str, str], ...]:
        """``S3_STORAGE_OPTIONS`` as a hashable tuple."""
        return tuple(sorted(self.S3_STORAGE_OPTIONS.items()))

    def quality_checks_for(self, pass_config: PassConfig) -> QualityChecks | None:
        """The quality checks of ``pass_config``'s output: its own, else QUALITY_CHECKS, when
        enabled."""
        for checks in (pass_config.quality_checks, self.QUALITY_CHECKS):
            if checks.enabled:
                return checks
        return None

    def output_for(self, pass_config: PassConfig) -> OutputConfig:
        """The output of ``pass_config``."""
        return pass_config.output or self.OUTPUT_TARGET
