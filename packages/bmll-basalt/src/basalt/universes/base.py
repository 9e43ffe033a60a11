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
    ``Ticker``, ``CurrencyCode`` and ``IsPrimary`` when known.
    """

    name: ClassVar[str]

    def __init__(self, value: str = "") -> None:
        self.value = value

    @abstractmethod
    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        """The listings of ``day``."""
