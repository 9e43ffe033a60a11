"""``Universe``: which listings a run covers on a given day."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import ClassVar

import polars as pl

from basalt.lake import Lake

__all__ = ["UNIVERSE_COLUMNS", "Universe"]

UNIVERSE_COLUMNS = ("ListingId", "MIC", "InstrumentId", "Ticker", "CurrencyCode", "IsPrimary")


class Universe(ABC):
    """Resolves the listings of a day from a spec value (``mic=XLON`` → ``"XLON"``).

    :meth:`resolve` returns at least ``ListingId`` and ``MIC``, plus ``InstrumentId``,
    ``Ticker``, ``CurrencyCode`` and ``IsPrimary`` when known. A universe that knows its
    MICs before resolving (:meth:`mics`) and reads lake tables (``tables``) lets the runner
    tell a market holiday (no file at all for a MIC) from a broken day (some files missing).
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()
    """The lake tables :meth:`resolve` reads (e.g. ``("reference",)``)."""

    def __init__(self, value: str = "") -> None:
        """Raise ValueError for a spec value the universe cannot use (checked when the
        pipeline is validated)."""
        self.value = value

    def mics(self, lake: Lake, day: dt.date) -> list[str] | None:
        """The MICs the listings of ``day`` come from, when known without resolving;
        None by default (the MICs of the resolved listings)."""
        return None

    @abstractmethod
    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        """The listings of ``day``."""
