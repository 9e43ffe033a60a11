"""``OutputTarget``: where and how the result of a pass is written."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import polars as pl

if TYPE_CHECKING:
    from basalt.config.models import OutputConfig

__all__ = ["OutputTarget"]


class OutputTarget(ABC):
    """Writes the partitions of a pass's result to the locations its configuration names.

    ``storage_options`` configure object stores (``S3_STORAGE_OPTIONS``).
    """

    name: ClassVar[str]

    def __init__(
        self, config: OutputConfig, storage_options: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.config = config
        self.storage_options = storage_options

    @abstractmethod
    def write(self, frame: pl.LazyFrame, location: str) -> str:
        """Write ``frame`` as the partition at ``location`` (the rendered path template),
        replacing what was there, atomically; return where it was written."""

    @abstractmethod
    def scan(self, location: str) -> pl.LazyFrame:
        """What :meth:`write` wrote at ``location``: later passes read earlier ones so."""

    @abstractmethod
    def is_complete(self, location: str) -> bool:
        """Whether the partition at ``location`` was written completely (for resuming)."""
