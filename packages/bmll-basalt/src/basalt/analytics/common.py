"""Helpers shared by the analytics' option models: list coercion and column naming."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["OHLC_PARTS", "as_list", "column_name", "ensure_unique"]

OHLC_PARTS = ("Open", "High", "Low", "Close")


def as_list(value: Any) -> Any:
    """A lone string or integer as a one-element list (a pydantic before-validator)."""
    return [value] if isinstance(value, str | int) else value


def column_name(prefix: str, pattern: str, **fields: object) -> str:
    """``prefix`` + ``pattern`` formatted with ``fields``; ValueError for unknown placeholders."""
    try:
        return prefix + pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join(f"{{{name}}}" for name in fields)
        raise ValueError(f"output_name_pattern {pattern!r} may only use {allowed}") from exc


def ensure_unique(names: Iterable[str]) -> None:
    """Raise ValueError naming the first column that ``names`` holds twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"column {name!r} would be produced twice")
        seen.add(name)
