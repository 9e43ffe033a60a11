"""``l2tw``: order-book metrics averaged over time, and the volatility of book prices.

The book of an L2 snapshot holds from its ``EventTimestamp`` until the listing's next snapshot
of the same trading day; the listing's last snapshot holds until the end of its bucket. A
bucket therefore opens with the book carried in from the latest earlier snapshot, however many
buckets back, and a time-weighted average (TWA) weighs each value by the time it was in force
within the bucket. Time before a listing's first snapshot does not count, nor, with
``market_states``, time in other states.

Bucket edges are instants without duration: the closed side of the buckets only decides which
bucket a snapshot exactly on an edge falls in. Rows are the buckets of each listing's timeline,
from its first snapshot of the day to the end of its last snapshot's bucket, in which some time
counts: a quiet bucket between two snapshots has a row, its book the one carried in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Literal, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import Analytic, AnalyticContext
from basalt.analytics import book
from basalt.analytics.common import as_list, column_name, ratio
from basalt.analytics.l2 import (
    DEPTH_DOCS,
    IMBALANCE_DOCS,
    PRICE_SOURCES,
    SOURCES,
    SPREAD_DOCS,
    BookConfig,
    L2LiquidityConfig,
    L2SpreadConfig,
    Metric,
)
from basalt.metrics import Column, MetricDoc
from basalt.timebuckets import NS_PER_SECOND, BucketSpec

__all__ = [
    "SECONDS_PER_YEAR",
    "BucketEdges",
    "L2PriceConfig",
    "L2TimeWeightedAnalytic",
    "L2TimeWeightedConfig",
    "L2VolatilityConfig",
    "snapshot_timeline",
    "time_pieces",
]

SECONDS_PER_YEAR = 252 * 86_400
"""A trading year for annualisation: 252 days of 24 hours."""

SUFFIX = "TWA"
BUCKET, STAMP, NEXT, SELECTED = "_bucket", "_stamp", "_next", "_selected"
WEIGHT, COVERED, WINDOW, FROM, TO = "_weight", "_covered", "_window", "_from", "_to"
Sources = Annotated[list[book.PriceSource], BeforeValidator(as_list)]
WindowAggregation = Literal["Min", "Max", "Mean", "Median", "Std", "Last", "TWMean", "TWStd"]

TIME_WEIGHTED = (
    "Time-weighted mean over the bucket: each snapshot's value holds until the listing's next "
    "snapshot (the last one until its bucket ends), the bucket opening with the latest earlier "
    "snapshot's value of the day; over the time the value is defined and, with market_states, "
    "the state is listed."
)


def _time_weighted(doc: MetricDoc) -> MetricDoc:
    """The time-weighted counterpart of a last-snapshot column's doc."""
    return replace(doc, pattern=doc.pattern + SUFFIX, description=TIME_WEIGHTED)


TWA_DOCS = {
    doc.pattern: _time_weighted(doc)
    for doc in (*DEPTH_DOCS.values(), *SPREAD_DOCS.values(), *IMBALANCE_DOCS.values())
}
PRICE_DOC = MetricDoc(
    "{source}TWA",
    "XLOC",
    "time-weighted {source} price",
    f"{TIME_WEIGHTED} {PRICE_SOURCES}",
    SOURCES,
)
VOLATILITY_DOC = MetricDoc(
    "L2Volatility{source}Std",
    "Ratio",
    "σ · √(252 · 86400 · n / T): σ the sample standard deviation of the n log returns of the "
    "{source} price in the bucket, T the seconds they cover",
    "Annualised volatility (a year of 252 days of 24 hours). Returns are taken between "
    "consecutive snapshots, the first one from the price carried into the bucket, and T is the "
    "time counted in the bucket; with subsample_seconds, between the prices in force at the "
    "points of a grid of that step (aligned on the epoch) that lie in the bucket, and T = n · "
    "subsample_seconds. A return counts where the price is defined and the market state is "
    "listed at both its ends. Null with fewer than two returns: a bucket without a snapshot "
    "has none, except on a grid, where its points give zero returns of the price carried "
    f"in. {PRICE_SOURCES}",
    SOURCES,
)
WINDOWED = (
    "The bucket is cut into windows of {window} seconds (second_level_window_seconds, in its "
    "shortest form) from its start, the last one shorter where they do not divide it. Each "
    "window's volatility v is computed as L2Volatility{source}Std is for the bucket, from the "
    "n returns that belong to the window (by the time of their later end) and, between "
    "snapshots, the time counted in the window; null with fewer than two returns or no "
    "counted time. The statistic is over the bucket's windows that have one; null without any."
)
WINDOW_DEFINITIONS: dict[str, str] = {
    "Min": "smallest window volatility of the {source} price in the bucket",
    "Max": "largest window volatility of the {source} price in the bucket",
    "Mean": "mean of the window volatilities of the {source} price in the bucket",
    "Median": "median of the window volatilities of the {source} price in the bucket (the mean "
    "of the two middle ones for an even count)",
    "Std": "sample standard deviation (n − 1) of the window volatilities of the {source} price "
    "in the bucket; null with fewer than two",
    "Last": "volatility of the {source} price in the bucket's last window that has one",
    "TWMean": "Σ n · v / Σ n over the bucket's windows: their volatilities v of the {source} "
    "price weighted by their return counts n",
    "TWStd": "√(Σ n · (v − m)² / Σ n), m the TWMean, over the bucket's windows: the spread of "
    "their volatilities v of the {source} price weighted by their return counts n",
}
WINDOW_DOCS = {
    aggregation: MetricDoc(
        "L2Volatility{source}Win{window}s" + aggregation,
        "Ratio",
        definition,
        WINDOWED,
        {**SOURCES, "window": ("60", "10", "1", "0.5")},
    )
    for aggregation, definition in WINDOW_DEFINITIONS.items()
}


class L2PriceConfig(BaseModel):
    """One family of time-weighted prices."""

    model_config = ConfigDict(extra="forbid")

    source: Sources = Field(
        default=["Mid"], min_length=1, description="Price series: Mid, Bid, Ask, WeightedMid."
    )
    output_name_pattern: str | None = Field(
        default=None, description="Column name pattern with {source}; default {source}TWA."
    )

    def metrics(self, prefix: str) -> Iterator[Metric]:
        """Every source."""
        pattern = self.output_name_pattern or "{source}" + SUFFIX
        for source in self.source:
            name = column_name(prefix, pattern, source=source)
            yield Metric(name, book.price_series(source), PRICE_DOC, {"source": source})


class L2VolatilityConfig(BaseModel):
    """One family of annualised price volatilities per bucket."""

    model_config = ConfigDict(extra="forbid")

    source: Sources = Field(
        default=["Mid"], min_length=1, description="Price series: Mid, Bid, Ask, WeightedMid."
    )
    subsample_seconds: float | None = Field(
        default=None,
        ge=1e-6,
        description="Sample the price in force on a grid of this step, aligned on the epoch; "
        "null: take the return of every snapshot.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {source}; default L2Volatility{source}Std.",
    )
    second_level_window_seconds: float | None = Field(
        default=None,
        ge=1e-6,
        description="Also compute the volatility in windows of this many seconds, cut from "
        "the bucket's start, and aggregate it over the bucket (second_level_aggregations).",
    )
    second_level_aggregations: Annotated[list[WindowAggregation], BeforeValidator(as_list)] = Field(
        default_factory=list,
        description="Statistics of the window volatilities over the bucket: Min, Max, Mean, "
        "Median, Std, Last, TWMean, TWStd (the last two weighted by the windows' return "
        "counts); they need second_level_window_seconds, and it needs them.",
    )
    window_output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern of the window statistics with {source}, {window} and "
        "{aggregation}; default L2Volatility{source}Win{window}s{aggregation}.",
    )

    @model_validator(mode="after")
    def _windowed(self) -> Self:
        if (self.second_level_window_seconds is None) != (not self.second_level_aggregations):
            raise ValueError(
                "second_level_window_seconds and second_level_aggregations go together"
            )
        return self

    def names(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(source, column name) of every source."""
        pattern = self.output_name_pattern or "L2Volatility{source}Std"
        for source in self.source:
            yield source, column_name(prefix, pattern, source=source)

    def window_names(self, prefix: str) -> Iterator[tuple[dict[str, str], str, str]]:
        """(placeholder values, aggregation, column name) of every window statistic."""
        if self.second_level_window_seconds is None:
            return
        pattern = self.window_output_name_pattern or "L2Volatility{source}Win{window}s{aggregation}"
        window = f"{self.second_level_window_seconds:g}"
        for source in self.source:
            for aggregation in self.second_level_aggregations:
                values = {"source": source, "window": window}
                yield (
                    values,
                    aggregation,
                    column_name(prefix, pattern, **values, aggregation=aggregation),
                )


class L2TimeWeightedConfig(BookConfig):
    """Options of the ``l2tw`` analytic. With no family configured, the defaults are Bid and
    Ask × levels 1..``levels`` × Price and Quantity, SpreadAbs, SpreadBps and the Mid price,
    all time-weighted."""

    families = ("liquidity", "spreads", "imbalances", "prices", "volatility")

    prices: list[L2PriceConfig] = Field(
        default_factory=list, description="Time-weighted price families."
    )
    volatility: list[L2VolatilityConfig] = Field(
        default_factory=list, description="Price volatility families."
    )

    def set_defaults(self, levels: list[int]) -> None:
        self.liquidity = [L2LiquidityConfig(levels=levels, measures=["Price", "Quantity"])]
        self.spreads = [L2SpreadConfig(variant=["Abs", "BPS"])]
        self.prices = [L2PriceConfig()]

    def averaged_metrics(self) -> Iterator[tuple[str, Metric]]:
        """(option path, metric) of every time-weighted metric, in order."""
        for path, metric in self.book_metrics(SUFFIX):
            yield path, metric._replace(doc=TWA_DOCS[metric.doc.pattern])
        for index, family in enumerate(self.prices):
            for metric in family.metrics(self.metric_prefix):
                yield f"prices[{index}]", metric

    def columns(self) -> list[Column]:
        columns = [Column(m.name, m.doc, m.values, path) for path, m in self.averaged_metrics()]
        for index, family in enumerate(self.volatility):
            path = f"volatility[{index}]"
            for source, name in family.names(self.metric_prefix):
                columns.append(Column(name, VOLATILITY_DOC, {"source": source}, path))
            for values, aggregation, name in family.window_names(self.metric_prefix):
                columns.append(Column(name, WINDOW_DOCS[aggregation], values, path))
        return columns


@dataclass(frozen=True)
class BucketEdges:
    """The buckets of a pass as intervals of time, on nanoseconds since the epoch: the
    label of the bucket just after or just before an instant, and a bucket's edges."""

    spec: BucketSpec

    def _label(self, ns: pl.Expr) -> pl.Expr:
        return self.spec.label(ns).dt.epoch("ns")

    def after(self, ns: pl.Expr) -> pl.Expr:
        """The bucket holding the time just after the instant ``ns``."""
        return self._label(ns + 1 if self.spec.closed == "right" else ns)

    def before(self, ns: pl.Expr) -> pl.Expr:
        """The bucket holding the time just before the instant ``ns``."""
        return self._label(ns if self.spec.closed == "right" else ns - 1)

    def start(self, label: pl.Expr) -> pl.Expr:
        """The start of the bucket labelled ``label``."""
        return label - self.spec.width_ns if self.spec.anchor == "end" else label

    def end(self, label: pl.Expr) -> pl.Expr:
        """The end of the bucket labelled ``label``."""
        return self.start(label) + self.spec.width_ns


def _in_time(expr: pl.Expr) -> pl.Expr:
    """``expr`` over each listing's snapshots of one trading day in time order (of equal
    times, in row order), as a window: the rows keep their order."""
    return expr.over(["ListingId", "TradeDate"], order_by=[STAMP, pl.int_range(pl.len())])


def snapshot_timeline(snapshots: pl.LazyFrame, market_states: list[str] | None) -> pl.LazyFrame:
    """The snapshots, in their order, with their bucket and time (ns), whether their market
    state is selected, and the time of the listing's next snapshot of the same trading day
    (null for the last one)."""
    selected = pl.lit(True)
    if market_states is not None:
        selected = pl.col("MarketState").is_in(market_states).fill_null(False)
    return snapshots.with_columns(
        pl.col("TimeBucket").dt.epoch("ns").alias(BUCKET),
        pl.col("EventTimestamp").dt.epoch("ns").alias(STAMP),
        selected.alias(SELECTED),
    ).with_columns(_in_time(pl.col(STAMP).shift(-1)).alias(NEXT))


def _cells(
    rows: pl.LazyFrame, lo: pl.Expr, hi: pl.Expr, edges: BucketEdges, window: int | None
) -> pl.LazyFrame:
    """``rows`` whose time [``lo``, ``hi``) is not empty, repeated for every cell it overlaps,
    with the cell's bucket (and with ``window``, its window) and the overlap [``_from``,
    ``_to``). A cell is a bucket or, with ``window`` (ns), a window of a bucket: the bucket cut
    every ``window`` from its start, numbered from 0, the last one shorter where they do not
    divide it."""
    width = edges.spec.width_ns
    start, end = pl.col(FROM), pl.col(TO)
    spans = rows.with_columns(lo.alias(FROM), hi.alias(TO)).filter(end > start)
    buckets = pl.int_ranges(edges.after(start), edges.before(end) + width, width)
    opening = edges.start(pl.col(BUCKET))
    pieces = (
        spans.with_columns(buckets.alias(BUCKET))
        .explode(BUCKET)
        .with_columns(
            pl.max_horizontal(start, opening).alias(FROM),
            pl.min_horizontal(end, opening + width).alias(TO),
        )
    )
    if window is None:
        return pieces
    windows = pl.int_ranges((start - opening) // window, (end - 1 - opening) // window + 1)
    opening += pl.col(WINDOW) * window
    return (
        pieces.with_columns(windows.alias(WINDOW))
        .explode(WINDOW)
        .with_columns(
            pl.max_horizontal(start, opening).alias(FROM),
            pl.min_horizontal(end, opening + window).alias(TO),
        )
    )


def time_pieces(
    timeline: pl.LazyFrame, edges: BucketEdges, values: list[pl.Expr], window: int | None = None
) -> pl.LazyFrame:
    """The time each snapshot's ``values`` are in force in each bucket (with ``window``, in
    each window of a bucket, as :func:`_cells`), in selected market states: ``ListingId``,
    bucket, (window,) weight (ns) and ``values``. A snapshot's book holds from its time until
    the next snapshot, or the end of its bucket for the last one, across every bucket in
    between."""
    until = pl.coalesce(pl.col(NEXT), edges.end(pl.col(BUCKET)))
    rows = timeline.filter(SELECTED).select("ListingId", STAMP, until.alias(NEXT), *values)
    pieces = _cells(rows, pl.col(STAMP), pl.col(NEXT), edges, window)
    return pieces.with_columns((pl.col(TO) - pl.col(FROM)).alias(WEIGHT)).drop(
        STAMP, NEXT, FROM, TO
    )


def _averages(pieces: pl.LazyFrame, names: list[str]) -> pl.LazyFrame:
    """Per listing and bucket: the time counted, and the time-weighted mean of ``names`` over
    the time each is defined. Sums of precomputed products keep the aggregation fast."""
    weight = pl.col(WEIGHT)
    defined = {name: f"_defined{name}" for name in names}
    sums = (
        pieces.with_columns(
            *((pl.col(n) * weight).alias(n) for n in names),
            *(pl.when(pl.col(n).is_not_null()).then(weight).alias(d) for n, d in defined.items()),
        )
        .group_by("ListingId", BUCKET)
        .agg(pl.all().sum())
    )
    return sums.select(
        "ListingId",
        BUCKET,
        weight.alias(COVERED),
        *(ratio(pl.col(n), pl.col(d)).alias(n) for n, d in defined.items()),
    )


def _price(source: str) -> str:
    return f"_price{source}"


def _count(source: str) -> str:
    return f"_count{source}"


def _return(source: str) -> str:
    return f"_return{source}"


def _square(source: str) -> str:
    return f"_square{source}"


def _usable(source: str) -> pl.Expr:
    """The snapshot's price is defined and positive, in a selected market state."""
    return pl.col(SELECTED) & (pl.col(_price(source)) > 0).fill_null(False)


def _jumps(sources: list[str]) -> list[pl.Expr]:
    """Count 1 and the log return from the listing's previous row of the day, where both
    rows are usable; else count 0."""
    columns = []
    for source in sources:
        price, usable = pl.col(_price(source)), _usable(source)
        counted = usable & _in_time(usable.shift()).fill_null(False)
        change = (price / _in_time(price.shift())).log()
        columns += [
            counted.cast(pl.Int64).alias(_count(source)),
            pl.when(counted).then(change).alias(_return(source)),
        ]
    return columns


def _window_of(moment: pl.Expr, edges: BucketEdges, window: int | None) -> list[pl.Expr]:
    """The window (of ``window`` ns, counted from its bucket's start) holding the nanosecond
    ``moment`` of the bucket in column ``BUCKET``; nothing without windows."""
    if window is None:
        return []
    return [((moment - edges.start(pl.col(BUCKET))) // window).alias(WINDOW)]


def _event_returns(
    timeline: pl.LazyFrame, edges: BucketEdges, sources: list[str], window: int | None
) -> pl.LazyFrame:
    """The return of every snapshot from the one before, in the snapshot's bucket (and
    window), as (count, return) rows."""
    moment = pl.col(STAMP) - 1 if edges.spec.closed == "right" else pl.col(STAMP)
    return timeline.select(
        "ListingId", BUCKET, *_window_of(moment, edges, window), *_jumps(sources)
    )


def _grid_returns(
    timeline: pl.LazyFrame, edges: BucketEdges, sources: list[str], step: int, window: int | None
) -> pl.LazyFrame:
    """The returns between the prices in force at consecutive points of a grid ``step`` ns
    apart, each in the bucket (and window) holding its interval, as (count, return) rows.

    A grid point with a snapshot since the previous point (a slot) carries the change from
    the last snapshot of the slot before, if usable at both ends. The zero returns of the
    points in between, while one book holds, are counted in bulk in every cell they span.
    """

    def ceil(ns: pl.Expr) -> pl.Expr:
        return (ns + (step - 1)) // step

    slot, following = ceil(pl.col(STAMP)), pl.col(NEXT)
    slots = timeline.filter(following.is_null() | (ceil(following) != slot))
    point = slot * step
    changed = slots.with_columns(edges.before(point).alias(BUCKET)).select(
        "ListingId", BUCKET, *_window_of(point - 1, edges, window), *_jumps(sources)
    )
    # Points k of first..last: the instants k · step − 1 lie in [first · step − 1, last · step).
    first = slot + 1
    last = pl.coalesce(ceil(following) - 1, edges.end(pl.col(BUCKET)) // step)
    runs = _cells(slots, first * step - 1, last * step, edges, window)
    count = pl.col(TO) // step - pl.col(FROM) // step
    flat = [
        expr
        for source in sources
        for expr in (
            pl.when(_usable(source)).then(count).otherwise(0).alias(_count(source)),
            pl.lit(0.0).alias(_return(source)),
        )
    ]
    unchanged = runs.select("ListingId", BUCKET, *([] if window is None else [WINDOW]), *flat)
    return pl.concat([changed, unchanged])


def _sums(returns: pl.LazyFrame, sources: list[str], keys: list[str]) -> pl.LazyFrame:
    """Per ``keys``, the count, sum and sum of squares of the counted returns of each source:
    plain (fast) aggregations."""
    sums = []
    for source in sources:
        count, value = pl.col(_count(source)), pl.col(_return(source)).fill_null(0.0)
        sums += [
            (count * value).alias(_return(source)),
            (count * value**2).alias(_square(source)),
        ]
    return returns.with_columns(sums).group_by(keys).agg(pl.all().sum())


def _annualised(source: str, step: int | None) -> pl.Expr:
    """The annualised volatility of ``source`` from the columns of :func:`_sums` (and
    ``COVERED``, the counted time, between snapshots): the sample standard deviation, whose
    squared deviation follows as Σr² − (Σr)²/n, exact enough for returns, whose mean is far
    below their spread; null with fewer than two returns or without counted time."""
    n, total, square = pl.col(_count(source)), pl.col(_return(source)), pl.col(_square(source))
    std = ((square - total**2 / n).clip(0.0) / (n - 1)).sqrt()
    if step is None:  # no counted time (returns between snapshots of one instant): null
        covered = pl.col(COVERED)
        factor = (SECONDS_PER_YEAR * NS_PER_SECOND * n / covered).sqrt()
        return pl.when((n > 1) & (covered > 0)).then(std * factor)
    factor = pl.lit((SECONDS_PER_YEAR * NS_PER_SECOND / step) ** 0.5)
    return pl.when(n > 1).then(std * factor)


def _window_statistic(volatility: pl.Expr, count: pl.Expr, aggregation: str) -> pl.Expr:
    """``aggregation`` of the window volatilities of a bucket, those with ``count`` returns."""
    weight = pl.when(volatility.is_not_null()).then(count)

    def weighted_mean(value: pl.Expr) -> pl.Expr:
        total = weight.sum()
        return pl.when(total > 0).then((weight * value).sum() / total)

    mean = weighted_mean(volatility)
    match aggregation:
        case "Min":
            return volatility.min()
        case "Max":
            return volatility.max()
        case "Mean":
            return volatility.mean()
        case "Median":
            return volatility.median()
        case "Std":
            return volatility.std()
        case "Last":
            return volatility.sort_by(pl.col(WINDOW)).drop_nulls().last()
        case "TWMean":
            return mean
        case "TWStd":
            return weighted_mean((volatility - mean) ** 2).sqrt()
    raise ValueError(f"unknown aggregation {aggregation!r}")


def _nanoseconds(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * NS_PER_SECOND)


def _bucket_volatility(
    sums: pl.LazyFrame, covered: pl.LazyFrame, named: dict[str, str], step: int | None
) -> pl.LazyFrame:
    """Per listing and bucket, the volatility of each source from its :func:`_sums`, named
    by ``named``; ``covered`` holds the counted time per listing and bucket."""
    keys = ["ListingId", BUCKET]
    if step is None:
        sums = sums.join(covered, on=keys)
    return sums.select(*keys, *(_annualised(s, step).alias(name) for s, name in named.items()))


def _window_statistics(
    priced: pl.LazyFrame,
    edges: BucketEdges,
    sums: pl.LazyFrame,
    family: L2VolatilityConfig,
    prefix: str,
    window: int,
) -> pl.LazyFrame:
    """Per listing and bucket, the window statistics of ``family`` from the :func:`_sums`
    of its returns per window."""
    keys = ["ListingId", BUCKET, WINDOW]
    step = _nanoseconds(family.subsample_seconds)
    if step is None:
        pieces = time_pieces(priced, edges, [], window).group_by(keys)
        sums = sums.join(pieces.agg(pl.col(WEIGHT).sum().alias(COVERED)), on=keys, how="left")
    volatilities = sums.with_columns(
        _annualised(source, step).alias(f"_volatility{source}") for source in family.source
    )
    return volatilities.group_by(keys[:2]).agg(
        _window_statistic(
            pl.col(f"_volatility{values['source']}"), pl.col(_count(values["source"])), aggregation
        ).alias(name)
        for values, aggregation, name in family.window_names(prefix)
    )


def _family(
    priced: pl.LazyFrame,
    edges: BucketEdges,
    covered: pl.LazyFrame,
    family: L2VolatilityConfig,
    prefix: str,
) -> pl.LazyFrame:
    """Per listing and bucket, the columns of one volatility family; ``covered`` holds the
    counted time per listing and bucket."""
    keys = ["ListingId", BUCKET]
    named = dict(family.names(prefix))
    sources = list(named)
    step = _nanoseconds(family.subsample_seconds)
    window = _nanoseconds(family.second_level_window_seconds)
    if step is None:
        returns = _event_returns(priced, edges, sources, window)
    else:
        returns = _grid_returns(priced, edges, sources, step, window)
    if window is None:
        return _bucket_volatility(_sums(returns, sources, keys), covered, named, step)
    sums = _sums(returns, sources, [*keys, WINDOW])
    buckets = sums.drop(WINDOW).group_by(keys).agg(pl.all().sum())
    statistics = _window_statistics(priced, edges, sums, family, prefix, window)
    return _bucket_volatility(buckets, covered, named, step).join(statistics, on=keys, how="left")


class L2TimeWeightedAnalytic(Analytic):
    """Book depth, spreads, imbalances and prices averaged over the time each value held in
    the bucket, the book carried in from earlier buckets, and the volatility of book prices."""

    name = "l2tw"
    config_model = L2TimeWeightedConfig
    config_aliases = ("l2tw_analytics",)
    requires = ("l2",)
    docs = (*TWA_DOCS.values(), PRICE_DOC, VOLATILITY_DOC, *WINDOW_DOCS.values())

    def columns(self, config: L2TimeWeightedConfig) -> list[Column]:
        return config.columns()

    def compute(self, ctx: AnalyticContext, config: L2TimeWeightedConfig) -> pl.LazyFrame:
        edges = BucketEdges(ctx.bucket)
        averaged = [metric for _, metric in config.averaged_metrics()]
        values = [m.expr.cast(pl.Float64).alias(m.name) for m in averaged]
        snapshots = book.clear_empty_levels(ctx.table("l2"))
        timeline = snapshot_timeline(snapshots, config.market_states)
        keys = ["ListingId", BUCKET]
        result = _averages(time_pieces(timeline, edges, values), [m.name for m in averaged])
        sources = sorted({source for family in config.volatility for source in family.source})
        priced = timeline.with_columns(
            book.price_series(source).alias(_price(source)) for source in sources
        )
        covered = result.select(*keys, COVERED)
        for family in config.volatility:
            volatility = _family(priced, edges, covered, family, config.metric_prefix)
            result = result.join(volatility, on=keys, how="left")
        return result.select(
            "ListingId",
            pl.from_epoch(BUCKET, time_unit="ns").alias("TimeBucket"),
            *config.output_columns(),
        )
