"""``generic``: an earlier pass's output regrouped, resampled, aggregated, with indicators.

The source is ``source_pass``'s output over the task's days. A pass whose modules read only
earlier passes runs once per output partition, over all of it (never once per symbol batch),
so no row is computed twice. In order:

1. ``group_by`` columns the source lacks (``InstrumentId``, ``MIC``, ``Ticker``) are joined
   from the universe by ``ListingId``.
2. ``resample_rule`` (``15m``, ``1h``): each source bucket goes to the coarser bucket holding
   it, labelled as this pass labels its buckets (``time_bucket_anchor``, ``time_bucket_closed``).
   The coarse width must be a multiple of the source pass's.
3. ``aggregations`` (column → ``sum``, ``mean``, ``first``, ``last``, ``max``, ``min``,
   ``count``): one row per ``group_by`` value; ``first`` and ``last`` follow the source's time
   order, then ``ListingId``. Without aggregations the source rows pass through.
4. ``talib_indicators``: computed per group (``group_by`` without ``TimeBucket``) in time order.

Aggregating prices or local-currency amounts (by name: ``…Close``, ``…VWAP``, ``…Price…``,
``…Notional``) over groups whose listings the universe shows quoted in different currencies
warns (a ``UserWarning``): such values do not add up or compare.

Columns other than the group keys take ``metric_prefix``. The source's listing attributes
(``MIC``, ``Ticker``, ``InstrumentId``) are dropped unless grouped by: a pass keyed by listing
attaches them again.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import as_list, ensure_unique
from basalt.analytics.regroup import (
    SOURCE_ORDER,
    duration_seconds,
    resampled,
    warn_mixed_currencies,
    with_group_columns,
)
from basalt.analytics.talib import INDICATOR_DOC, TalibIndicatorConfig, indicator_columns
from basalt.errors import ConfigError
from basalt.metrics import Column, MetricDoc

__all__ = ["GenericAnalytic", "GenericConfig"]

Aggregation = Literal["sum", "mean", "first", "last", "max", "min", "count"]
AGGREGATE = {
    "sum": pl.Expr.sum,
    "mean": pl.Expr.mean,
    "first": pl.Expr.first,
    "last": pl.Expr.last,
    "max": pl.Expr.max,
    "min": pl.Expr.min,
    "count": pl.Expr.count,
}
AGGREGATED_DOC = MetricDoc(
    "{column}",
    "Source",
    "{aggregation} of {source} over each group",
    "From the earlier pass's column of the same name (its meaning and unit carry over), "
    "aggregated over the rows of each group_by value (and coarser bucket).",
    {"column": (), "aggregation": tuple(AGGREGATE), "source": ()},
)


class GenericConfig(BaseModel):
    """Options of the ``generic`` analytic."""

    model_config = ConfigDict(extra="forbid")

    source_pass: str = Field(default="pass1", description="The earlier pass to read.")
    metric_prefix: str = Field(
        default="", description="Prepended to every column except the group keys."
    )
    group_by: Annotated[list[str], BeforeValidator(as_list)] = Field(
        default=list(KEYS),
        min_length=1,
        description="Output keys; columns the source lacks (InstrumentId, MIC, Ticker) come "
        "from the universe.",
    )
    resample_rule: str | None = Field(
        default=None,
        description="Coarser buckets, e.g. 15m or 1h (a multiple of the source pass's width); "
        "needs TimeBucket in group_by and aggregations.",
    )
    aggregations: dict[str, Aggregation] = Field(
        default_factory=dict,
        description="Column → sum, mean, first, last, max, min or count; without any, the "
        "source rows pass through.",
    )
    talib_indicators: list[TalibIndicatorConfig] = Field(
        default_factory=list, description="TA-Lib indicators, per group in time order."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.resample_rule is not None:
            duration_seconds(self.resample_rule)
            if "TimeBucket" not in self.group_by:
                raise ValueError("resample_rule needs TimeBucket in group_by")
        regrouped = self.resample_rule is not None or self.group_by != list(KEYS)
        if regrouped and not self.aggregations:
            raise ValueError(
                "resample_rule or a group_by other than ListingId, TimeBucket need aggregations"
            )
        overlap = sorted(set(self.group_by) & set(self.aggregations))
        if overlap:
            raise ValueError(f"{overlap} are group keys; they cannot be aggregated")
        ensure_unique([c for c, _ in indicator_columns(self.talib_indicators, "")])
        return self

    @property
    def groups(self) -> list[str]:
        """The group keys without ``TimeBucket``: what indicators are computed per."""
        return [c for c in self.group_by if c != "TimeBucket"]


class GenericAnalytic(Analytic):
    """An earlier pass's output regrouped (e.g. by InstrumentId), resampled to coarser
    buckets, aggregated per column, with TA-Lib indicators per group."""

    name = "generic"
    config_model = GenericConfig
    config_aliases = ("generic_analytics",)
    docs = (AGGREGATED_DOC, INDICATOR_DOC)

    def inputs(self, config: GenericConfig) -> tuple[str, ...]:
        return (config.source_pass,)

    def keys(self, config: GenericConfig) -> tuple[str, ...]:
        return tuple(config.group_by)

    def columns(self, config: GenericConfig) -> list[Column] | None:
        if not config.aggregations:
            return None  # the source's columns: found by a dry run
        prefix = config.metric_prefix
        columns = [
            Column(
                prefix + name,
                AGGREGATED_DOC,
                {"column": prefix + name, "aggregation": how, "source": name},
                "aggregations",
            )
            for name, how in config.aggregations.items()
        ]
        columns += [
            Column(name, INDICATOR_DOC, values, f"talib_indicators[{i}]")
            for i, (name, values) in enumerate(indicator_columns(config.talib_indicators, prefix))
        ]
        return columns

    def compute(self, ctx: AnalyticContext, config: GenericConfig) -> pl.LazyFrame:
        frame = with_group_columns(ctx, self.name, config.source_pass, config.group_by)
        if config.resample_rule is not None:
            frame = resampled(ctx, self.name, config.source_pass, config.resample_rule, frame)
        names = frame.collect_schema().names()
        prefix = config.metric_prefix
        if config.aggregations:
            missing = sorted(set(config.aggregations) - set(names))
            if missing:
                raise ConfigError(
                    f"generic: pass {config.source_pass!r} has no column(s) {missing}"
                )
            combined = [c for c, how in config.aggregations.items() if how != "count"]
            warn_mixed_currencies(self.name, ctx.universe, config.groups, combined)
            order = [SOURCE_ORDER if SOURCE_ORDER in names else "TimeBucket"]
            if "ListingId" in names and "ListingId" not in config.group_by:
                order.append("ListingId")  # listings of one group and bucket: in id order
            frame = (
                frame.sort(*config.groups, *order)
                .group_by(config.group_by, maintain_order=True)
                .agg(
                    AGGREGATE[how](pl.col(column)).alias(prefix + column)
                    for column, how in config.aggregations.items()
                )
            )
        elif prefix:
            frame = frame.rename({c: prefix + c for c in names if c not in config.group_by})
        if config.talib_indicators:
            frame = frame.sort(*config.group_by).with_columns(
                i.expression(config.groups, prefix) for i in config.talib_indicators
            )
        return frame
