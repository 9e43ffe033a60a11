"""Data-quality guards on a pass's output: quality checks and pass expectations.

**Quality checks** (``QUALITY_CHECKS``, or a pass's ``quality_checks``) run on each output
partition before it is written: the share of nulls per column and the range of its values,
columns chosen by glob patterns. **Pass expectations** (a pass's ``expectations``) compare each
task's output with its first input: the same listings, as many rows, the input's columns kept,
no NaN. With ``action: raise`` a problem fails the partition (quality checks: nothing is
written) or the task; with ``warn`` it is logged and listed in the run summary.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Annotated, Literal

import polars as pl
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = ["PassExpectations", "QualityChecks", "expectation_problems", "quality_problems"]

Action = Literal["warn", "raise"]
Bound = float | None


def _matching(patterns: Iterable[str], columns: list[str]) -> dict[str, str]:
    """Column → the first pattern matching it."""
    found: dict[str, str] = {}
    for pattern in patterns:
        for column in fnmatch.filter(columns, pattern):
            found.setdefault(column, pattern)
    return found


class QualityChecks(BaseModel):
    """Limits on the null share and the values of output columns."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = Field(
        default=False,
        validation_alias=AliasChoices("enabled", "ENABLED"),
        description="Run the checks (a pass's own checks win when enabled).",
    )
    null_rate_max: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Largest share of nulls in any column; none: no limit."
    )
    null_rates: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Largest share of nulls by column glob (e.g. 'Spread*': 0.5); wins over "
        "null_rate_max.",
    )
    ranges: dict[str, tuple[Bound, Bound]] = Field(
        default_factory=dict,
        description="[min, max] of the values by column glob (e.g. 'Imbalance*': [-1, 1]); "
        "null leaves a side open.",
    )
    action: Action = Field(
        default="warn", description="warn: log and list the problems; raise: fail the partition."
    )


class PassExpectations(BaseModel):
    """What each task's output must keep of its first input."""

    model_config = ConfigDict(extra="forbid")

    preserve_listing_count: bool = Field(
        default=False, description="As many distinct ListingId as the input."
    )
    preserve_rows: bool = Field(default=False, description="As many rows as the input.")
    preserve_columns: bool = Field(default=False, description="Every column of the input.")
    no_nans: bool = Field(default=False, description="No NaN in any float column.")
    nan_exempt_columns: list[str] = Field(
        default_factory=list, description="Column globs no_nans leaves alone."
    )
    action: Action = Field(
        default="raise", description="raise: fail the task; warn: log and list the problems."
    )

    @property
    def enabled(self) -> bool:
        return (
            self.preserve_listing_count
            or self.preserve_rows
            or self.preserve_columns
            or (self.no_nans)
        )


def quality_problems(frame: pl.LazyFrame, checks: QualityChecks) -> list[str]:
    """What ``frame`` breaks of ``checks``, one line each (one query over the frame)."""
    schema = frame.collect_schema()
    columns = schema.names()
    limits = {c: checks.null_rate_max for c in columns if checks.null_rate_max is not None}
    limits |= {c: checks.null_rates[p] for c, p in _matching(checks.null_rates, columns).items()}
    ranged = {
        c: checks.ranges[p]
        for c, p in _matching(checks.ranges, columns).items()
        if schema[c].is_numeric()
    }
    measures = [pl.len().alias("_rows")]
    measures += [pl.col(c).null_count().alias(f"nulls:{c}") for c in limits]
    measures += [pl.col(c).min().alias(f"min:{c}") for c in ranged]
    measures += [pl.col(c).max().alias(f"max:{c}") for c in ranged]
    found = frame.select(measures).collect().row(0, named=True)
    rows = found["_rows"] or 1
    problems = [
        f"{c}: {found[f'nulls:{c}'] / rows:.1%} nulls, above {limit:.1%}"
        for c, limit in limits.items()
        if found[f"nulls:{c}"] / rows > limit
    ]
    for c, (low, high) in ranged.items():
        smallest, largest = found[f"min:{c}"], found[f"max:{c}"]
        if low is not None and smallest is not None and smallest < low:
            problems.append(f"{c}: {smallest:g} below the minimum {low:g}")
        if high is not None and largest is not None and largest > high:
            problems.append(f"{c}: {largest:g} above the maximum {high:g}")
    return problems


def expectation_problems(
    output: pl.DataFrame, source: pl.LazyFrame, expectations: PassExpectations
) -> list[str]:
    """What ``output`` breaks of ``expectations`` against its input ``source``."""
    problems = []
    names = source.collect_schema().names()
    counts: list[pl.Expr] = [pl.len().alias("rows")]
    if expectations.preserve_listing_count and "ListingId" in names:
        counts.append(pl.col("ListingId").n_unique().alias("listings"))
    given = source.select(counts).collect().row(0, named=True)
    if expectations.preserve_rows and output.height != given["rows"]:
        problems.append(f"{output.height} rows from {given['rows']} input rows")
    if "listings" in given:
        listings = output["ListingId"].n_unique() if "ListingId" in output.columns else 0
        if listings != given["listings"]:
            problems.append(f"{listings} listings from {given['listings']} in the input")
    if expectations.preserve_columns:
        lost = [c for c in names if c not in output.columns]
        if lost:
            problems.append(f"input columns missing from the output: {', '.join(lost)}")
    if expectations.no_nans:
        exempt = set(_matching(expectations.nan_exempt_columns, output.columns))
        floats = [c for c, t in output.schema.items() if t.is_float() and c not in exempt]
        nans = {c: output[c].is_nan().sum() for c in floats}
        problems += [f"{c}: {n} NaN" for c, n in nans.items() if n]
    return problems
