"""The universe of a Python pipeline file: its ``get_universe(date)``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from basalt.errors import ConfigError, DataError, describe
from basalt.lake import Lake
from basalt.universes.base import Universe

__all__ = ["FunctionUniverse"]


class FunctionUniverse(Universe):
    """The universe of a Python pipeline file's ``get_universe(date)``."""

    name = "get_universe"

    def __init__(self, function: Callable[[str], pl.DataFrame], source: str) -> None:
        super().__init__()
        self.function = function
        self.source = source

    def resolve(self, lake: Lake, day: dt.date) -> pl.DataFrame:
        where = f"get_universe({day.isoformat()!r}) of {self.source}"
        try:
            frame = self.function(day.isoformat())
        except Exception as exc:
            raise DataError(f"{where} raised {describe(exc)}") from exc
        if not isinstance(frame, pl.DataFrame) or not {"ListingId", "MIC"} <= set(frame.columns):
            raise ConfigError(f"{where} must return a polars DataFrame with ListingId and MIC")
        return frame
