"""Order-independent sums, so that re-runs give byte-identical results.

Floating-point addition is not associative and polars' parallel aggregations add in an
order that varies between runs, so plain float sums can differ in the last bits from one run
to the next. Values cast to 128-bit fixed point (nine decimals) add up exactly, hence
independently of the order; sums are converted back to Float64 once complete.
"""

from __future__ import annotations

import polars as pl

__all__ = ["FIXED_POINT", "fixed_point"]

FIXED_POINT = pl.Decimal(38, 9)


def fixed_point(values: pl.Expr) -> pl.Expr:
    """``values`` rounded to 1e-9 in fixed point (non-finite values become null)."""
    return values.cast(FIXED_POINT, strict=False)
