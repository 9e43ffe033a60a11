"""``OutputTarget``: where and how the result of a pass is written."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import polars as pl

if TYPE_CHECKING:
    from basalt.config.models import OutputConfig

__all__ = ["OutputTarget"]


class OutputTarget(ABC):
    """Writes a pass's result to the location its configuration names."""

    name: ClassVar[str]

    def __init__(self, config: OutputConfig) -> None:
        self.config = config

    @abstractmethod
    def write(self, frame: pl.LazyFrame, location: str) -> str:
        """Write ``frame`` to ``location`` (the rendered path template) atomically and
        return where it was written."""
