"""What both characteristics analytics share: the options, the per-bucket aggregation and
expressions over BMLL's text columns (flags: :mod:`basalt.analytics.codes`)."""

from __future__ import annotations

from abc import abstractmethod

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from basalt import Analytic, AnalyticContext
from basalt.analytic import KEYS
from basalt.analytics.codes import text
from basalt.metrics import MetricDoc

__all__ = [
    "UNKNOWN_MARKERS",
    "Characteristics",
    "CharacteristicsConfig",
    "flag_doc",
    "has_text",
    "is_unknown",
    "ordered",
]

UNKNOWN_MARKERS = ("", "UNKNOWN")
"""Values of a BMLL category column meaning "unknown" (after trimming and upper-casing)."""


class CharacteristicsConfig(BaseModel):
    """Options of the characteristics analytics."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")


def flag_doc(name: str, condition: str, description: str = "") -> MetricDoc:
    """The doc of a flag column: true when a row of the bucket has ``condition``."""
    return MetricDoc(name, "Flag", f"true when a row of the bucket has {condition}", description)


def is_unknown(column: str) -> pl.Expr:
    """Whether a category column is null, empty or ``UNKNOWN`` on the row."""
    return text(column).is_in(UNKNOWN_MARKERS).fill_null(True)


def has_text(column: str) -> pl.Expr:
    """Whether a text column holds a non-blank value on the row."""
    return (pl.col(column).str.strip_chars().str.len_chars() > 0).fill_null(False)


def ordered(column: str, *, strict: bool) -> pl.Expr:
    """Per group: whether the non-null values of ``column``, in row order, never decrease
    (``strict``: always increase); null when the group has no value."""
    values = pl.col(column).drop_nulls()
    previous = values.shift(1)
    steps = values > previous if strict else values >= previous
    return pl.when(values.len() > 0).then(steps.all())


class Characteristics(Analytic):
    """Aggregates :meth:`metrics` over the rows of its one required table per listing and
    bucket."""

    config_model = CharacteristicsConfig

    @classmethod
    @abstractmethod
    def metrics(cls) -> dict[str, pl.Expr]:
        """Output column (without prefix) → aggregation over the rows of a group."""

    def prepare(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Row-level columns the aggregations need; the identity by default."""
        return frame

    def compute(self, ctx: AnalyticContext, config: CharacteristicsConfig) -> pl.LazyFrame:
        rows = self.prepare(ctx.table(self.requires[0]))
        return rows.group_by(*KEYS).agg(
            expr.alias(config.metric_prefix + name) for name, expr in self.metrics().items()
        )
