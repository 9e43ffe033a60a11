"""``l2tw``: order-book metrics averaged over time, and the volatility of book prices.

The book of an L2 snapshot holds from its ``EventTimestamp`` until the listing's next snapshot
of the same trading day; the listing's last snapshot holds until the end of its bucket. A
bucket therefore opens with the book carried in from the latest earlier snapshot, however many
buckets back, and a time-weighted average (TWA) weighs each value by the time it was in force
within the bucket. Time before a listing's first snapshot does not count, nor, with
``market_states``, time in other states.

Bucket edges are instants without duration: the closed side of the buckets only decides which
bucket a snapshot exactly on an edge falls in. Rows are the buckets holding at least one
snapshot (as in ``l2``) in which some time counts; a bucket without a snapshot has no row, even
though its book is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from basalt.analytic import Analytic, AnalyticContext
from basalt.analytics import book
from basalt.analytics.common import as_list, column_name
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
WEIGHT, COVERED = "_weight", "_covered"
Sources = Annotated[list[book.PriceSource], BeforeValidator(as_list)]

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
    f"listed at both its ends. {PRICE_SOURCES}",
    SOURCES,
)


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

    def names(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(source, column name) of every source."""
        pattern = self.output_name_pattern or "L2Volatility{source}Std"
        for source in self.source:
            yield source, column_name(prefix, pattern, source=source)


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
            for source, name in family.names(self.metric_prefix):
                path = f"volatility[{index}]"
                columns.append(Column(name, VOLATILITY_DOC, {"source": source}, path))
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


def time_pieces(timeline: pl.LazyFrame, edges: BucketEdges, values: list[pl.Expr]) -> pl.LazyFrame:
    """The time each snapshot's ``values`` are in force in the buckets that can have a row,
    in selected market states: ``ListingId``, bucket, weight (ns) and ``values``.

    A snapshot's book holds over its own bucket from its time on, and is carried into the
    bucket of the next snapshot up to that one. The buckets in between hold no snapshot, so
    they have no row and need no piece.
    """
    rows = timeline.filter(SELECTED)
    stamp, following = pl.col(STAMP), pl.col(NEXT)
    own = edges.after(stamp)
    until = pl.min_horizontal(pl.coalesce(following, edges.end(pl.col(BUCKET))), edges.end(own))
    head = rows.select("ListingId", own.alias(BUCKET), (until - stamp).alias(WEIGHT), *values)
    into = edges.before(following)
    carried = rows.filter(following > edges.end(own)).select(
        "ListingId", into.alias(BUCKET), (following - edges.start(into)).alias(WEIGHT), *values
    )
    return pl.concat([head, carried]).filter(pl.col(WEIGHT) > 0)


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
        *(book.ratio(pl.col(n), pl.col(d)).alias(n) for n, d in defined.items()),
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


def _event_returns(timeline: pl.LazyFrame, sources: list[str]) -> pl.LazyFrame:
    """The return of every snapshot from the one before, in the snapshot's bucket, as
    (count, return) rows."""
    return timeline.select("ListingId", BUCKET, *_jumps(sources))


def _grid_returns(
    timeline: pl.LazyFrame, edges: BucketEdges, sources: list[str], step: int
) -> pl.LazyFrame:
    """The returns between the prices in force at consecutive points of a grid ``step`` ns
    apart, each in the bucket holding its interval, as (count, return) rows.

    A grid point with a snapshot since the previous point (a slot) carries the change from
    the last snapshot of the slot before, if usable at both ends. The zero returns of the
    points in between, while one book holds, are counted in bulk in the bucket of the first
    and of the last of them: a run of them spans more buckets only where those hold no
    snapshot, hence no row.
    """

    def ceil(ns: pl.Expr) -> pl.Expr:
        return (ns + (step - 1)) // step

    slot, following = ceil(pl.col(STAMP)), pl.col(NEXT)
    slots = timeline.filter(following.is_null() | (ceil(following) != slot))
    first = slot + 1
    last = pl.coalesce(ceil(following) - 1, edges.end(pl.col(BUCKET)) // step)
    head, tail = edges.before(first * step), edges.before(last * step)
    head_count = (pl.min_horizontal(last, edges.end(head) // step) - first + 1).clip(0)
    in_tail = (last >= first) & (tail != head)
    tail_count = pl.when(in_tail).then(last - edges.start(tail) // step).otherwise(0)

    def unchanged(bucket: pl.Expr, count: pl.Expr) -> pl.LazyFrame:
        flat = [
            expr
            for source in sources
            for expr in (
                pl.when(_usable(source)).then(count).otherwise(0).alias(_count(source)),
                pl.lit(0.0).alias(_return(source)),
            )
        ]
        return slots.select("ListingId", bucket.alias(BUCKET), *flat)

    changed = slots.select("ListingId", edges.before(slot * step).alias(BUCKET), *_jumps(sources))
    return pl.concat([changed, unchanged(head, head_count), unchanged(tail, tail_count)])


def _volatility(
    returns: pl.LazyFrame, names: dict[str, str], scale: pl.Expr | None
) -> pl.LazyFrame:
    """Per listing and bucket, the sample standard deviation of the counted returns of each
    source, named by ``names``: times ``scale``, or else times √n (annualised later). The
    sums of counts, returns and squared returns are plain (fast) aggregations; the squared
    deviation follows as Σr² − (Σr)²/n, exact enough for returns, whose mean is far below
    their spread."""
    sums = []
    for source in names:
        count, value = pl.col(_count(source)), pl.col(_return(source)).fill_null(0.0)
        sums += [
            (count * value).alias(_return(source)),
            (count * value**2).alias(_square(source)),
        ]
    totals = returns.with_columns(sums).group_by("ListingId", BUCKET).agg(pl.all().sum())
    stds = []
    for source, name in names.items():
        n, total, square = pl.col(_count(source)), pl.col(_return(source)), pl.col(_square(source))
        std = ((square - total**2 / n).clip(0.0) / (n - 1)).sqrt()
        stds.append(pl.when(n > 1).then(std * (n.sqrt() if scale is None else scale)).alias(name))
    return totals.select("ListingId", BUCKET, *stds)


class L2TimeWeightedAnalytic(Analytic):
    """Book depth, spreads, imbalances and prices averaged over the time each value held in
    the bucket, the book carried in from earlier buckets, and the volatility of book prices."""

    name = "l2tw"
    config_model = L2TimeWeightedConfig
    config_aliases = ("l2tw_analytics",)
    requires = ("l2",)
    docs = (*TWA_DOCS.values(), PRICE_DOC, VOLATILITY_DOC)

    def columns(self, config: L2TimeWeightedConfig) -> list[Column]:
        return config.columns()

    def compute(self, ctx: AnalyticContext, config: L2TimeWeightedConfig) -> pl.LazyFrame:
        snapshots, states = ctx.table("l2"), config.market_states
        edges = BucketEdges(ctx.bucket)
        averaged = [metric for _, metric in config.averaged_metrics()]
        values = [m.expr.cast(pl.Float64).alias(m.name) for m in averaged]
        timeline = snapshot_timeline(snapshots, states)
        names = [m.name for m in averaged]
        keys = ["ListingId", BUCKET]
        result = _averages(time_pieces(timeline, edges, values), names).join(
            timeline.select(keys).unique(), on=keys, how="semi"
        )
        sources = sorted({source for family in config.volatility for source in family.source})
        priced = timeline.with_columns(
            book.price_series(source).alias(_price(source)) for source in sources
        )
        annualise = []
        for family in config.volatility:
            named = dict(family.names(config.metric_prefix))
            if family.subsample_seconds is None:
                volatility = _volatility(_event_returns(priced, list(named)), named, None)
                per_second = SECONDS_PER_YEAR * NS_PER_SECOND / pl.col(COVERED)
                annualise += [pl.col(name) * per_second.sqrt() for name in named.values()]
            else:
                step = round(family.subsample_seconds * NS_PER_SECOND)
                returns = _grid_returns(priced, edges, list(named), step)
                scale = (SECONDS_PER_YEAR * NS_PER_SECOND / step) ** 0.5
                volatility = _volatility(returns, named, pl.lit(scale))
            result = result.join(volatility, on=keys, how="left")
        return result.with_columns(annualise).select(
            "ListingId",
            pl.from_epoch(BUCKET, time_unit="ns").alias("TimeBucket"),
            *config.output_columns(),
        )
