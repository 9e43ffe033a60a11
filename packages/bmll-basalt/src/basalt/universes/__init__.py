"""Universes: the listings a run covers each day."""

from basalt.universes.base import UNIVERSE_COLUMNS, Universe

__all__ = ["UNIVERSE_COLUMNS", "Universe"]
