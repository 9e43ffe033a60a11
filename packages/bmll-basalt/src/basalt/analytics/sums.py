"""Order-independent sums, so that re-runs give byte-identical results.

Floating-point addition is not associative and polars' parallel aggregations add in an
order that varies between runs, so plain float sums can differ in the last bits from one run
to the next. Summing in 128-bit fixed point (nine decimals) is exact, hence independent of
the order; the result is converted back to Float64.
"""

from __future__ import annotations

import polars as pl

__all__ = ["FIXED_POINT", "exact_sum"]

FIXED_POINT = pl.Decimal(38, 9)


def exact_sum(values: pl.Expr) -> pl.Expr:
    """Σ ``values`` rounded to 1e-9 per term and added exactly (non-finite terms skipped)."""
    return values.cast(FIXED_POINT, strict=False).sum().cast(pl.Float64)
