"""Running an analytic outside a pipeline: a context from frames, validated options, results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel

from basalt.analytic import Analytic, AnalyticContext
from basalt.testing.frames import DEFAULT_BUCKET, DEFAULT_DATE
from basalt.timebuckets import BucketSpec

__all__ = [
    "compute_analytic",
    "make_context",
    "run_analytic",
    "run_pass",
    "universe_of",
    "validate_options",
]

Options = Mapping[str, Any] | BaseModel | None


def universe_of(tables: Mapping[str, pl.LazyFrame]) -> pl.DataFrame:
    """The listings found in ``tables``: one row per ``ListingId`` with its ``MIC`` when known."""
    frames = []
    for frame in tables.values():
        names = frame.collect_schema().names()
        if "ListingId" in names:
            mic = pl.col("MIC") if "MIC" in names else pl.lit(None, pl.String)
            frames.append(frame.select(pl.col("ListingId").cast(pl.Int64), mic.alias("MIC")))
    if not frames:
        return pl.DataFrame(schema={"ListingId": pl.Int64, "MIC": pl.String})
    return (
        pl.concat(frames)
        .group_by("ListingId")
        .agg(pl.col("MIC").drop_nulls().first())
        .sort("ListingId")
        .collect()
    )


def make_context(
    tables: Mapping[str, pl.LazyFrame],
    *,
    universe: pl.DataFrame | None = None,
    bucket: BucketSpec = DEFAULT_BUCKET,
    date: dt.date = DEFAULT_DATE,
    pass_name: str = "test",
    input_buckets: Mapping[str, BucketSpec] | None = None,
) -> AnalyticContext:
    """An :class:`AnalyticContext` over ``tables``; the universe defaults to their listings.
    ``input_buckets`` gives the bucket settings of inputs that stand for earlier passes."""
    return AnalyticContext(
        pass_name=pass_name,
        date=date,
        bucket=bucket,
        universe=universe_of(tables) if universe is None else universe,
        tables=dict(tables),
        input_buckets=dict(input_buckets or {}),
    )


def validate_options(analytic: type[Analytic], config: Options = None) -> BaseModel:
    """``config`` validated by the analytic's ``config_model`` (its defaults when None)."""
    if config is None:
        return analytic.config_model()
    if isinstance(config, analytic.config_model):
        return config
    raw = config.model_dump() if isinstance(config, BaseModel) else dict(config)
    return analytic.config_model.model_validate(raw)


def compute_analytic(
    analytic: type[Analytic],
    tables: Mapping[str, pl.LazyFrame],
    config: Options = None,
    **context: Any,
) -> pl.LazyFrame:
    """The lazy result of ``analytic`` over ``tables``; ``context`` goes to :func:`make_context`."""
    result = analytic().compute(make_context(tables, **context), validate_options(analytic, config))
    if not isinstance(result, pl.LazyFrame):
        raise TypeError(
            f"{analytic.__qualname__}.compute returned {type(result).__name__}, not a LazyFrame"
        )
    return result


def run_analytic(
    analytic: type[Analytic],
    tables: Mapping[str, pl.LazyFrame],
    config: Options = None,
    **context: Any,
) -> pl.DataFrame:
    """Compute and collect ``analytic`` over ``tables``, sorted by its join keys."""
    options = validate_options(analytic, config)
    frame = compute_analytic(analytic, tables, options, **context).collect()
    keys = analytic().keys(options)
    return frame.sort([k for k in keys if k in frame.columns], maintain_order=True)


def run_pass(
    data_root: str | Path, pass_config: Mapping[str, Any], output: str | Path, **settings: Any
) -> pl.DataFrame:
    """Run a one-pass pipeline over the lake at ``data_root`` in this process, writing
    ``output`` (``settings``: other top-level keys, e.g. ``START_DATE``, ``UNIVERSE``), and
    return the output read back; AssertionError naming the failed tasks if any."""
    from basalt.config.loading import Pipeline, validate_config
    from basalt.runner import run_pipeline

    raw = {
        "DATA_ROOT": str(data_root),
        "EXECUTOR": "serial",
        "PASSES": [dict(pass_config)],
        "OUTPUT_TARGET": {"path_template": str(output)},
        **settings,
    }
    summary = run_pipeline(Pipeline(validate_config(raw), "test"))
    if not summary.ok:
        raise AssertionError("; ".join(f"{f.label}: {f.error}" for f in summary.failures))
    return pl.read_parquet(output)
