"""``correlation``: correlations between an earlier pass's metrics over its buckets, per group.

For every pair of ``columns`` (default: every numeric column but the keys and listing
attributes), Pearson's or Spearman's correlation over the rows of each ``group_by`` value
where both are known (null with fewer than two such rows or a constant series).
``output_format: rows`` gives one row per pair (``MetricX``, ``MetricY``, ``Corr``, each pair
once, ``MetricX`` first in column order); ``matrix`` one row per metric (``MetricX``) with a
column per metric, 1 on the diagonal.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, PASSTHROUGH, Analytic, AnalyticContext
from basalt.analytics.common import as_list
from basalt.errors import ConfigError
from basalt.metrics import Column, MetricDoc

__all__ = ["CorrelationAnalytic", "CorrelationConfig"]

PAIR = "_pair"
CORR = MetricDoc(
    "Corr",
    "Ratio",
    "{method} correlation of MetricX and MetricY over the group's buckets",
    "rows output; in [−1, 1], over the rows where both are known; null with fewer than two "
    "or a constant series.",
    {"method": ("pearson", "spearman")},
)
MATRIX = MetricDoc(
    "{metric}",
    "Ratio",
    "{method} correlation of MetricX with {metric} over the group's buckets",
    "matrix output: one column per metric, 1 on the diagonal; null as for Corr.",
    {"metric": (), "method": ("pearson", "spearman")},
)


class CorrelationConfig(BaseModel):
    """Options of the ``correlation`` analytic."""

    model_config = ConfigDict(extra="forbid")

    source_pass: str = Field(default="pass1", description="The earlier pass read.")
    columns: Annotated[list[str], BeforeValidator(as_list)] | None = Field(
        default=None,
        description="Metrics to correlate; default every numeric column but the keys.",
    )
    group_by: Annotated[list[str], BeforeValidator(as_list)] = Field(
        default=["ListingId"], description="One correlation per value of these columns."
    )
    method: Literal["pearson", "spearman"] = Field(
        default="pearson", description="pearson, or spearman (the correlation of ranks)."
    )
    output_format: Literal["rows", "matrix"] = Field(
        default="rows",
        description="rows: MetricX, MetricY, Corr per pair; matrix: a row per metric with "
        "a column per metric (needs columns).",
    )

    @model_validator(mode="after")
    def _matrix_names_its_columns(self) -> Self:
        if self.output_format == "matrix" and not self.columns:
            raise ValueError("the matrix output needs columns (its column names)")
        return self


class CorrelationAnalytic(Analytic):
    """Pearson or Spearman correlations between an earlier pass's metrics, per group, as
    pairs or a matrix."""

    name = "correlation"
    config_model = CorrelationConfig
    config_aliases = ("correlation_analytics",)
    docs = (CORR, MATRIX)

    def inputs(self, config: CorrelationConfig) -> tuple[str, ...]:
        return (config.source_pass,)

    def keys(self, config: CorrelationConfig) -> tuple[str, ...]:
        metric = ("MetricX", "MetricY") if config.output_format == "rows" else ("MetricX",)
        return (*config.group_by, *metric)

    def columns(self, config: CorrelationConfig) -> list[Column]:
        method = {"method": config.method}
        if config.output_format == "rows":
            return [Column("Corr", CORR, method)]
        return [Column(m, MATRIX, {**method, "metric": m}, "columns") for m in config.columns or []]

    def compute(self, ctx: AnalyticContext, config: CorrelationConfig) -> pl.LazyFrame:
        source = ctx.table(config.source_pass)
        schema = source.collect_schema()
        skip = {*KEYS, *PASSTHROUGH, *config.group_by}
        metrics = config.columns or [
            c for c, t in schema.items() if c not in skip and t.is_numeric()
        ]
        unknown = [c for c in metrics if c not in schema]
        if unknown:
            raise ConfigError(
                f"correlation: pass {config.source_pass!r} has no column(s) {unknown}"
            )
        pairs = list(itertools.combinations(metrics, 2))
        values = [pl.corr(x, y, method=config.method).alias(f"{x}{PAIR}{y}") for x, y in pairs]
        wide = source.group_by(config.group_by).agg(values) if pairs else None
        rows = (
            _as_rows(wide, config.group_by)
            if wide is not None
            else _no_pairs({g: schema[g] for g in config.group_by})
        )
        if config.output_format == "rows":
            return rows
        return _as_matrix(rows, config.group_by, metrics)


def _as_rows(wide: pl.LazyFrame, groups: list[str]) -> pl.LazyFrame:
    pair = pl.col("variable").str.split_exact(PAIR, 1)
    return (
        wide.unpivot(index=groups, value_name="Corr")
        .with_columns(pair.struct.field("field_0").alias("MetricX"))
        .with_columns(pair.struct.field("field_1").alias("MetricY"))
        .select(*groups, "MetricX", "MetricY", pl.col("Corr").cast(pl.Float64).fill_nan(None))
    )


def _no_pairs(groups: dict[str, pl.DataType]) -> pl.LazyFrame:
    pairs = {"MetricX": pl.String, "MetricY": pl.String, "Corr": pl.Float64}
    return pl.LazyFrame(schema={**groups, **pairs})


def _as_matrix(rows: pl.LazyFrame, groups: list[str], metrics: list[str]) -> pl.LazyFrame:
    """One row per group and metric, a column per metric: both orders of every pair, and
    1 on the diagonal."""
    mirrored = rows.select(
        *groups, pl.col("MetricY").alias("MetricX"), pl.col("MetricX").alias("MetricY"), "Corr"
    )
    diagonal = (
        rows.select(*groups)
        .unique()
        .join(pl.LazyFrame({"MetricX": metrics}), how="cross")
        .with_columns(pl.col("MetricX").alias("MetricY"), pl.lit(1.0).alias("Corr"))
    )
    every = pl.concat([rows, mirrored, diagonal.select(rows.collect_schema().names())])
    columns = [
        pl.col("Corr").filter(pl.col("MetricY") == metric).first().alias(metric)
        for metric in metrics
    ]
    return every.group_by(*groups, "MetricX").agg(columns)
