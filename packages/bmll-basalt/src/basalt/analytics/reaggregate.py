"""``reaggregate``: an earlier pass's metrics of listings combined into groups (an index, a
sector) through a membership map, each column by the rule that fits what it measures.

The map (``join_column`` → ``group_column``) comes from an earlier pass or a CSV/Parquet
file; a listing in several groups counts in each. Columns are combined by their name, unless
``aggregations`` says otherwise:

- averages, prices and ratios (names with avg, mean, median, std, vwap, price, mid, spread,
  imbalance, ratio) → the ``weight_col``-weighted mean Σ x·w / Σ w over the rows where both
  are known (the plain mean without that column);
- counts and amounts (count, volume, notional, size) → the sum;
- other numbers → the mean; text columns and the listings' attributes (``MIC``, ``Ticker``,
  ``InstrumentId``) are dropped unless grouped by.

With ``weight_mode: daily`` a listing's weight is its Σ ``weight_col`` over the day (so a
quiet bucket does not swing the average); ``bucket`` uses each row's own.

Combining prices or local-currency amounts (by name, see
:func:`~basalt.analytics.regroup.in_listing_currency`) over a group whose listings the
universe shows quoted in different currencies warns (a ``UserWarning``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import PASSTHROUGH, Analytic, AnalyticContext
from basalt.analytics.common import as_list
from basalt.analytics.regroup import (
    SOURCE_ORDER,
    duration_seconds,
    resampled,
    warn_mixed_currencies,
)
from basalt.errors import ConfigError
from basalt.metrics import MetricDoc
from basalt.timebuckets import BucketSpec

__all__ = ["ReaggregateAnalytic", "ReaggregateConfig", "default_rule"]

Rule = Literal["weighted_mean", "sum", "mean", "first", "last", "max", "min"]
MEAN_WORDS = re.compile(r"avg|mean|median|std|vwap|price|mid|spread|imbalance|ratio", re.I)
SUM_WORDS = re.compile(r"count|volume|notional|size", re.I)
WEIGHT = "_weight"
REAGGREGATED_DOC = MetricDoc(
    "{column}",
    "Source",
    "{column} of the earlier pass, combined over the listings of each group",
    "Weighted mean (weight_col, per day or per bucket), sum or mean by what the name says "
    "it measures, or as aggregations says; the earlier pass's documentation of the column "
    "applies (basalt analytics explain with --pipeline shows it).",
    {"column": ()},
)


def default_rule(column: str) -> Rule:
    """How a column is combined, by what its name says it measures."""
    if MEAN_WORDS.search(column):
        return "weighted_mean"
    if SUM_WORDS.search(column):
        return "sum"
    return "mean"


class ReaggregateConfig(BaseModel):
    """Options of the ``reaggregate`` analytic."""

    model_config = ConfigDict(extra="forbid")

    source_pass: str = Field(default="pass1", description="The earlier pass to combine.")
    group_pass: str | None = Field(
        default=None, description="An earlier pass holding the membership map."
    )
    group_file: str | None = Field(
        default=None, description="A CSV or Parquet file holding the membership map."
    )
    join_column: str = Field(default="ListingId", description="The map's listing column.")
    group_column: str = Field(default="IndexId", description="The map's group column.")
    group_by: Annotated[list[str], BeforeValidator(as_list)] | None = Field(
        default=None, description="Output keys; default group_column and TimeBucket."
    )
    resample_rule: str | None = Field(
        default=None, description="Coarser buckets, e.g. 15m (a multiple of the source's)."
    )
    weight_col: str = Field(
        default="TradeTotalNotionalEUR", description="The weight of weighted means."
    )
    weight_mode: Literal["daily", "bucket"] = Field(
        default="daily",
        description="daily: a listing's Σ weight_col over the day; bucket: each row's own.",
    )
    aggregations: dict[str, Rule] = Field(
        default_factory=dict,
        description="Rules by column (weighted_mean, sum, mean, first, last, max, min); "
        "they win over the rules the names imply.",
    )

    @model_validator(mode="after")
    def _one_map(self) -> Self:
        if self.group_pass is not None and self.group_file is not None:
            raise ValueError("give the membership map as one of group_pass, group_file")
        if self.resample_rule is not None:
            duration_seconds(self.resample_rule)
        return self

    @property
    def keys(self) -> list[str]:
        return self.group_by or [self.group_column, "TimeBucket"]


class ReaggregateAnalytic(Analytic):
    """An earlier pass's listing metrics combined into groups (index, sector) through a
    membership map: notional-weighted means for averages, sums for counts and amounts."""

    name = "reaggregate"
    config_model = ReaggregateConfig
    config_aliases = ("reaggregate_analytics",)
    docs = (REAGGREGATED_DOC,)

    def config_problems(self, config: ReaggregateConfig) -> list[str]:
        if config.group_pass is None and config.group_file is None:
            return ["the membership map is missing: set group_pass or group_file"]
        return []

    def inputs(self, config: ReaggregateConfig) -> tuple[str, ...]:
        return (config.source_pass, *([config.group_pass] if config.group_pass else []))

    def keys(self, config: ReaggregateConfig) -> tuple[str, ...]:
        return tuple(config.keys)

    def compute(self, ctx: AnalyticContext, config: ReaggregateConfig) -> pl.LazyFrame:
        source = ctx.table(config.source_pass)
        schema = source.collect_schema()
        if config.join_column not in schema:
            raise ConfigError(f"reaggregate: {config.source_pass!r} has no {config.join_column}")
        weighted = config.weight_col in schema
        if weighted:  # before the map: a listing in two groups has one day total
            source = source.with_columns(_weight(config, ctx.input_buckets.get(config.source_pass)))
        members = (
            _membership(ctx, config)
            .with_columns(pl.col(config.join_column).cast(schema[config.join_column]))
            .collect()
        )
        framed = source.join(members.lazy(), on=config.join_column, how="inner")
        if config.resample_rule is not None:
            framed = resampled(ctx, self.name, config.source_pass, config.resample_rule, framed)
        skip = {*config.keys, *PASSTHROUGH, config.join_column, "TimeBucket"}
        measured = [c for c, t in schema.items() if c not in skip and t.is_numeric()]
        rules = {c: config.aggregations.get(c, default_rule(c)) for c in measured}
        groups = [k for k in config.keys if k != "TimeBucket"]
        warn_mixed_currencies(self.name, _listings(ctx, config, members), groups, measured)
        order = SOURCE_ORDER if config.resample_rule is not None else "TimeBucket"
        return (
            framed.sort(order, config.join_column)
            .group_by(config.keys, maintain_order=True)
            .agg(_combined(c, rule, weighted) for c, rule in rules.items())
        )


def _membership(ctx: AnalyticContext, config: ReaggregateConfig) -> pl.LazyFrame:
    """The map ``join_column`` → ``group_column``, one row per membership."""
    if config.group_pass is not None:
        members = ctx.table(config.group_pass)
    else:
        assert config.group_file is not None
        path = Path(config.group_file)
        if not path.is_file():
            raise ConfigError(f"reaggregate: group_file {path} does not exist")
        members = pl.scan_csv(path) if path.suffix == ".csv" else pl.scan_parquet(path)
    names = members.collect_schema().names()
    missing = [c for c in (config.join_column, config.group_column) if c not in names]
    if missing:
        raise ConfigError(f"reaggregate: the membership map has no column(s) {missing}")
    return members.select(config.join_column, config.group_column).unique()


def _listings(
    ctx: AnalyticContext, config: ReaggregateConfig, members: pl.DataFrame
) -> pl.DataFrame:
    """Each membership with its listing's universe columns (``CurrencyCode``, ``MIC``, …),
    when the universe has ``join_column``."""
    universe = ctx.universe.drop(config.group_column, strict=False)
    if config.join_column not in universe.columns:
        return members
    dtype = members.schema[config.join_column]
    listed = universe.with_columns(pl.col(config.join_column).cast(dtype))
    return members.join(listed.unique(config.join_column), on=config.join_column, how="left")


def _weight(config: ReaggregateConfig, bucket: BucketSpec | None) -> pl.Expr:
    """Each row's weight: its own ``weight_col``, or its listing's total of the day."""
    weight = pl.col(config.weight_col)
    if config.weight_mode == "bucket":
        return weight.alias(WEIGHT)
    stamp = pl.col("TimeBucket")
    day = (bucket.inside(stamp) if bucket else stamp).dt.date()
    return weight.sum().over(config.join_column, day).alias(WEIGHT)


def _combined(column: str, rule: Rule, weighted: bool) -> pl.Expr:
    value = pl.col(column)
    if rule == "weighted_mean" and weighted:
        weight = pl.when(value.is_not_null()).then(pl.col(WEIGHT))
        total = weight.sum()
        return pl.when(total > 0).then((value * weight).sum() / total).alias(column)
    plain = {
        "weighted_mean": value.mean(),
        "mean": value.mean(),
        "sum": value.sum(),
        "first": value.first(),
        "last": value.last(),
        "max": value.max(),
        "min": value.min(),
    }
    return plain[rule].alias(column)
