"""The analytic contract: :class:`Analytic` and the :class:`AnalyticContext` it computes in."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from basalt.metrics import Column, MetricDoc
from basalt.timebuckets import BucketSpec

__all__ = ["KEYS", "PASSTHROUGH", "Analytic", "AnalyticContext", "NoConfig"]

KEYS = ("ListingId", "TimeBucket")
PASSTHROUGH = ("MIC", "Ticker", "InstrumentId")
"""Universe columns a pass attaches to its rows keyed by listing, after the keys."""


class NoConfig(BaseModel):
    """An analytic without options."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class AnalyticContext:
    """What an analytic sees while computing one batch of one pass.

    ``tables`` holds the batch's inputs (each a LazyFrame with a ``TimeBucket`` column): lake
    tables, or the output of an earlier pass over the batch's dates. ``universe`` holds the
    listings of the batch, ``bucket`` the pass's bucket settings and ``input_buckets`` those
    of the earlier passes among the inputs, by input name. :meth:`emit` offers side outputs.
    """

    pass_name: str
    date: dt.date
    bucket: BucketSpec
    universe: pl.DataFrame
    tables: Mapping[str, pl.LazyFrame]
    input_buckets: Mapping[str, BucketSpec] = field(default_factory=dict)
    side_outputs: dict[str, pl.LazyFrame] = field(default_factory=dict)

    def emit(self, name: str, frame: pl.LazyFrame) -> None:
        """Offer ``frame`` as the side output ``name`` (declared in the analytic's ``emits``):
        written beside the pass's output, readable by later passes as ``{pass}:{name}``."""
        if name in self.side_outputs:
            raise ValueError(f"side output {name!r} of pass {self.pass_name!r} emitted twice")
        self.side_outputs[name] = frame

    def table(self, name: str) -> pl.LazyFrame:
        """The input ``name`` (a table, or an earlier pass / side output) for this batch."""
        try:
            return self.tables[name]
        except KeyError:
            available = ", ".join(sorted(self.tables)) or "none"
            raise KeyError(
                f"input {name!r} is not loaded for pass {self.pass_name!r} "
                f"(available: {available}); declare it in the analytic's `requires`"
            ) from None


class Analytic(ABC):
    """Base class of analytics, preprocessors and postprocessors.

    Subclasses set ``name`` (the module name used in a pass's ``modules``), optionally
    ``config_model`` (validated from the pass key of the same name, or one of
    ``config_aliases``), ``requires`` (input table or earlier pass names; :meth:`inputs`
    when they depend on the options) and ``batch_group_by``, document
    their output columns in ``docs`` (see :mod:`basalt.metrics`), and implement
    :meth:`compute` returning one row per ``join_keys``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]] = NoConfig
    requires: ClassVar[tuple[str, ...]] = ()
    config_aliases: ClassVar[tuple[str, ...]] = ()
    join_keys: ClassVar[tuple[str, ...]] = KEYS
    batch_group_by: ClassVar[str | None] = None
    """A universe column (e.g. ``InstrumentId``) whose listings must share a symbol batch."""
    docs: ClassVar[tuple[MetricDoc, ...]] = ()
    """The documentation of every column :meth:`compute` can produce."""
    emits: ClassVar[tuple[str, ...]] = ()
    """The side outputs :meth:`compute` may emit (``ctx.emit``)."""

    @classmethod
    def summary(cls) -> str:
        """First paragraph of the class docstring, on one line."""
        paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(line.strip() for line in paragraph.splitlines())

    def inputs(self, config: Any) -> tuple[str, ...]:
        """The inputs :meth:`compute` reads with ``ctx.table``: table names or earlier pass
        names (``module_inputs`` may redirect each to another source); ``requires`` by
        default."""
        return self.requires

    def config_problems(self, config: Any) -> list[str]:
        """What ``config`` lacks to run in a pass (checked for the modules a pass lists, so
        that its defaults stay valid); nothing by default."""
        return []

    def keys(self, config: Any) -> tuple[str, ...]:
        """The key columns of the output, one row per key; ``join_keys`` by default."""
        return self.join_keys

    def columns(self, config: Any) -> list[Column] | None:
        """The metric columns ``config`` produces, each with its doc, when the analytic can
        tell without computing; None (the default): found by a dry run on empty inputs and
        matched against ``docs``."""
        return None

    @abstractmethod
    def compute(self, ctx: AnalyticContext, config: Any) -> pl.LazyFrame:
        """Compute this analytic's columns for the batch in ``ctx``."""
