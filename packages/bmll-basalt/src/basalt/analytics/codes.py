"""Reading BMLL's text codes: flag columns (``"Y"``, ``"H"``, ``"TRUE"`` vs ``"-"``,
``"FALSE"``) and category columns, compared trimmed and upper-cased."""

from __future__ import annotations

import polars as pl

__all__ = ["FALSE_MARKERS", "flag_set", "text"]

FALSE_MARKERS = ("", "-", "FALSE", "F", "NO", "N", "0")
"""Values of a BMLL flag column meaning "not set" (after trimming and upper-casing)."""


def text(column: str) -> pl.Expr:
    """A text column trimmed and upper-cased, for comparisons with BMLL's codes."""
    return pl.col(column).str.strip_chars().str.to_uppercase()


def flag_set(column: str) -> pl.Expr:
    """Whether a flag column is set on the row: non-null and not one of
    :data:`FALSE_MARKERS`."""
    return text(column).is_in(FALSE_MARKERS).not_().fill_null(False)
