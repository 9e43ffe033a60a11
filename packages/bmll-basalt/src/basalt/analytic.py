"""The analytic contract: :class:`Analytic` and the :class:`AnalyticContext` it computes in."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from basalt.timebuckets import BucketSpec

__all__ = ["KEYS", "Analytic", "AnalyticContext", "NoConfig"]

KEYS = ("ListingId", "TimeBucket")


class NoConfig(BaseModel):
    """An analytic without options."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class AnalyticContext:
    """What an analytic sees while computing one batch of one pass.

    ``tables`` holds the batch's inputs (each a LazyFrame with a ``TimeBucket`` column),
    ``universe`` the listings of the batch, ``bucket`` the pass's bucket settings.
    """

    pass_name: str
    date: dt.date
    bucket: BucketSpec
    universe: pl.DataFrame
    tables: Mapping[str, pl.LazyFrame]

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
    ``config_aliases``), ``requires`` (input table names) and ``batch_group_by``, and
    implement :meth:`compute` returning one row per ``join_keys``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]] = NoConfig
    requires: ClassVar[tuple[str, ...]] = ()
    config_aliases: ClassVar[tuple[str, ...]] = ()
    join_keys: ClassVar[tuple[str, ...]] = KEYS
    batch_group_by: ClassVar[str | None] = None
    """A universe column (e.g. ``InstrumentId``) whose listings must share a symbol batch."""

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @abstractmethod
    def compute(self, ctx: AnalyticContext, config: Any) -> pl.LazyFrame:
        """Compute this analytic's columns for the batch in ``ctx``."""
