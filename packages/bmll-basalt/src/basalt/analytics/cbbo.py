"""``cbbo_analytics``: time and quantity at the consolidated best bid and offer (CBBO).

Each listing's best bid and offer (``l2``) is compared, at every moment, with the consolidated
best bid and offer of its instrument (``cbbo``) in force at that moment.

**Which consolidated quote.** BMLL CBBO rows carry a ``ListingId``; the universe maps it to
an ``InstrumentId``, and every listing of that instrument is compared with the same quote.
When the instrument's CBBO arrives under several of its listings (a copy per venue), one copy
is used: the primary listing's (``IsPrimary``), else that of the lowest ``ListingId``. A
listing whose ``InstrumentId`` is unknown is compared with CBBO rows of its own ``ListingId``.
The module declares ``batch_group_by = "InstrumentId"``, so all listings of an instrument
share a batch.

**Time.** Both series are step functions: a listing's book holds from its snapshot to its next
one, a consolidated quote from its row to the next change (an as-of match to the nanosecond,
never a join on equal timestamps; of rows with equal timestamps the later one holds). A
listing's timeline starts at its first L2 snapshot of the batch (earlier time does not count)
and ends at the end of the bucket of its last event: an L2 snapshot, or a CBBO row of its
instrument.
It is cut at every event and every bucket edge, so time weights are exact within each bucket
and a bucket starts with the state carried in from before it. Time counts only while the
listing's latest snapshot is in one of ``market_states`` (all states by default). There is a
row for every bucket with counted time.

**At the CBB / CBO.** A listing is at the CBB while ``BidPrice1 ≥`` the consolidated bid (a
bid above it only means the consolidated feed has not caught up yet), at the CBO while
``AskPrice1 ≤`` the consolidated ask; an empty side is not at it. Time without a consolidated
price on that side counts for neither the numerator nor the denominator. The quantity at the
CBB is the listing's ``BidQuantity1`` while at it and 0 otherwise (``AskQuantity1`` for the
CBO).
"""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import MarketStates, as_list, ensure_unique
from basalt.metrics import Column, MetricDoc
from basalt.timebuckets import BucketSpec

__all__ = ["CbboAnalytic", "CbboConfig", "consolidated_quotes", "quote_sources", "segments"]

Measure = Literal["TimeAtCBB", "TimeAtCBO", "QuantityAtCBB", "QuantityAtCBO"]
Aggregation = Literal["TWMean", "Min", "Max", "Median"]
MEASURES: list[Measure] = ["TimeAtCBB", "TimeAtCBO", "QuantityAtCBB", "QuantityAtCBO"]
AGGREGATIONS: list[Aggregation] = ["TWMean", "Min", "Max", "Median"]

TIMESTAMP = "EventTimestamp"
NS = pl.Datetime("ns")
DURATION = "_duration"
QUOTES = ("CBB", "CBO")
SIDE = {"CBB": "Bid", "CBO": "Ask"}
VALUES = {"quote": QUOTES}

_COUNTED = (
    "Counted time: from the listing's first L2 snapshot of the batch, while its latest "
    "snapshot's MarketState is in market_states and a consolidated price of that side is in "
    "force (the latest CBBO row of the listing's instrument, as of the nanosecond)."
)
_AT = (
    "At the CBB: BidPrice1 ≥ the consolidated bid; at the CBO: AskPrice1 ≤ the consolidated "
    "ask; an empty side is not at it."
)
_QUANTITY = (
    "The quantity at the CBB (CBO) is the listing's BidQuantity1 (AskQuantity1) while at it, "
    "0 otherwise."
)
_STATES = "Over the states that hold for some counted time of the bucket, carry-in included."
DOCS = {
    "TimeAt": MetricDoc(
        "TimeAt{quote}",
        "Fraction",
        "time at the {quote} / counted time, in the bucket",
        f"Null without counted time. {_AT} {_COUNTED}",
        VALUES,
    ),
    "TWMean": MetricDoc(
        "QuantityAt{quote}",
        "Shares",
        "Σ duration · quantity at the {quote} / counted time, in the bucket",
        f"Time-weighted mean. {_QUANTITY} {_AT} {_COUNTED}",
        VALUES,
    ),
    "Min": MetricDoc(
        "QuantityAt{quote}Min",
        "Shares",
        "smallest quantity at the {quote} in the bucket",
        f"{_STATES} {_QUANTITY} {_AT} {_COUNTED}",
        VALUES,
    ),
    "Max": MetricDoc(
        "QuantityAt{quote}Max",
        "Shares",
        "largest quantity at the {quote} in the bucket",
        f"{_STATES} {_QUANTITY} {_AT} {_COUNTED}",
        VALUES,
    ),
    "Median": MetricDoc(
        "QuantityAt{quote}Median",
        "Shares",
        "time-weighted median quantity at the {quote} in the bucket",
        "The smallest value held for at least half the counted time (the lower weighted "
        f"median). {_QUANTITY} {_AT} {_COUNTED}",
        VALUES,
    ),
}
"""The documentation of every column, by time measure (``TimeAt``) or quantity aggregation."""


class CbboConfig(BaseModel):
    """Options of the ``cbbo_analytics`` analytic."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    measures: Annotated[list[Measure], BeforeValidator(as_list)] = Field(
        default=MEASURES,
        min_length=1,
        description="TimeAtCBB, TimeAtCBO: share of the bucket's counted time at the "
        "consolidated best bid / offer; QuantityAtCBB, QuantityAtCBO: the listing's quantity "
        "there (0 while not at it).",
    )
    quantity_aggregations: Annotated[list[Aggregation], BeforeValidator(as_list)] = Field(
        default=AGGREGATIONS,
        min_length=1,
        description="Aggregations of the Quantity measures over the bucket: TWMean "
        "(time-weighted mean, the unsuffixed column), Min, Max, Median (time-weighted).",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only time while the listing's latest L2 snapshot has one of these "
        "MarketState values (e.g. CONTINUOUS_TRADING); null counts all time.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> CbboConfig:
        ensure_unique(column.name for column in self.columns())
        return self

    def metrics(self) -> list[tuple[str, str, str]]:
        """(column name, quote, TimeAt or aggregation) for every column, in order."""
        metrics = []
        for measure in self.measures:
            quote = measure.removeprefix("TimeAt").removeprefix("QuantityAt")
            if measure.startswith("TimeAt"):
                metrics.append((self.metric_prefix + measure, quote, "TimeAt"))
                continue
            for aggregation in self.quantity_aggregations:
                suffix = "" if aggregation == "TWMean" else aggregation
                metrics.append((self.metric_prefix + measure + suffix, quote, aggregation))
        return metrics

    def columns(self) -> list[Column]:
        """The metric columns this configuration produces, in order, with their docs."""
        return [Column(name, DOCS[kind], {"quote": quote}) for name, quote, kind in self.metrics()]


def quote_sources(universe: pl.DataFrame, quoted: pl.LazyFrame) -> pl.LazyFrame:
    """``ListingId`` → ``Source``: the listing whose CBBO rows are the consolidated quote of
    each listing of ``universe``. ``quoted`` holds the ``ListingId`` of every CBBO row.

    Per instrument, the primary listing with CBBO rows, else the lowest such ``ListingId``;
    a listing without ``InstrumentId`` has its own rows, if any. Listings without rows to
    compare with are absent."""
    present = universe.columns
    instrument = pl.col("InstrumentId") if "InstrumentId" in present else pl.lit(None)
    primary = pl.col("IsPrimary") if "IsPrimary" in present else pl.lit(False)
    listings = universe.lazy().select(
        pl.col("ListingId").cast(pl.Int64),
        instrument.cast(pl.Int64).alias("InstrumentId"),
        primary.cast(pl.Boolean).fill_null(False).alias("IsPrimary"),
    )
    candidates = listings.join(quoted.select("ListingId").unique(), on="ListingId", how="semi")
    listing = pl.col("ListingId")
    chosen = (
        candidates.drop_nulls("InstrumentId")
        .group_by("InstrumentId")
        .agg(pl.coalesce(listing.filter(pl.col("IsPrimary")).min(), listing.min()).alias("Source"))
    )
    shared = listings.join(chosen, on="InstrumentId").select("ListingId", "Source")
    own = candidates.filter(pl.col("InstrumentId").is_null())
    return pl.concat([shared, own.select("ListingId", listing.alias("Source"))])


def consolidated_quotes(ctx: AnalyticContext) -> pl.LazyFrame:
    """Per listing, its consolidated best bid (``CBB``) and ask (``CBO``) at each change.
    Rows that change neither price are dropped, except the last row of each CBBO series,
    which tells how far the series runs."""
    cbbo = ctx.table("cbbo").select(
        pl.col("ListingId").cast(pl.Int64).alias("Source"),
        pl.col(TIMESTAMP).cast(NS),
        pl.col("BidPrice1").alias("CBB"),
        pl.col("AskPrice1").alias("CBO"),
    )
    source, cbb, cbo = pl.col("Source"), pl.col("CBB"), pl.col("CBO")
    changed = pl.any_horizontal(
        source.ne_missing(source.shift()),  # rows are sorted by source: its first row
        source.ne_missing(source.shift(-1)),  # and its last
        cbb.ne_missing(cbb.shift()),
        cbo.ne_missing(cbo.shift()),
    )
    changes = cbbo.sort("Source", TIMESTAMP, maintain_order=True).filter(changed)
    sources = quote_sources(ctx.universe, cbbo.select(pl.col("Source").alias("ListingId")))
    return changes.join(sources, on="Source", maintain_order="left").select(
        "ListingId", TIMESTAMP, "CBB", "CBO"
    )


def _epoch(column: str) -> pl.Expr:
    """``column`` in integer nanoseconds since the epoch."""
    return pl.col(column).dt.epoch("ns")


def segments(books: pl.LazyFrame, quotes: pl.LazyFrame, bucket: BucketSpec) -> pl.LazyFrame:
    """Each listing's timeline cut into segments of constant state, none crossing a bucket
    edge: ``ListingId``, ``TimeBucket``, the segment's duration (ns) and the book (``books``
    columns) and consolidated quote (``quotes`` columns) in force during it.

    The timeline of a listing runs from its first snapshot in ``books`` to the end of the
    bucket of its last event (in ``books`` or ``quotes``); segments have positive duration."""
    width = bucket.width_ns
    books = books.sort("ListingId", TIMESTAMP, maintain_order=True)
    quotes = quotes.sort("ListingId", TIMESTAMP, maintain_order=True)
    events = pl.concat(
        [books.select("ListingId", TIMESTAMP), quotes.select("ListingId", TIMESTAMP)]
    )
    first = books.group_by("ListingId").agg(_epoch(TIMESTAMP).min().alias("_start"))
    last_label = bucket.label(pl.col(TIMESTAMP).max()).dt.epoch("ns")
    spans = (
        events.join(first, on="ListingId")
        .filter(_epoch(TIMESTAMP) >= pl.col("_start"))
        .group_by("ListingId")
        .agg(
            pl.col("_start").first(),
            (last_label if bucket.anchor == "end" else last_label + width).alias("_end"),
        )
    )
    start, end = pl.col("_start"), pl.col("_end")
    edges = spans.select(
        "ListingId",
        pl.int_ranges(start - start.mod(width) + width, end, width).alias(TIMESTAMP),
    ).explode(TIMESTAMP)
    points = (
        pl.concat(
            [
                events.select("ListingId", _epoch(TIMESTAMP)),
                edges.drop_nulls(TIMESTAMP),
            ]
        )
        .join(spans, on="ListingId")
        .filter(pl.col(TIMESTAMP).is_between(start, end, closed="left"))
        .sort("ListingId", TIMESTAMP)
    )
    at, listing = pl.col(TIMESTAMP), pl.col("ListingId")
    following = pl.when(listing.shift(-1) == listing).then(at.shift(-1)).otherwise(end)
    bucket_start = at - at.mod(width)
    label = bucket_start + width if bucket.anchor == "end" else bucket_start
    return (
        points.with_columns((following - at).alias(DURATION))
        .filter(pl.col(DURATION) > 0)
        .select(
            "ListingId",
            pl.from_epoch(at, time_unit="ns").alias(TIMESTAMP),
            pl.from_epoch(label, time_unit="ns").alias("TimeBucket"),
            DURATION,
        )
        .join_asof(books, on=TIMESTAMP, by="ListingId", check_sortedness=False)
        .join_asof(quotes, on=TIMESTAMP, by="ListingId", check_sortedness=False)
    )


def _parts(quote: str) -> list[pl.Expr]:
    """Row-wise parts of the metrics of the consolidated ``quote``, per segment: whether the
    listing is at it (null without one), its quantity there (0 while not at it), and the
    durations and duration-weighted quantity the aggregations sum."""
    price, consolidated = pl.col(f"{SIDE[quote]}Price1"), pl.col(quote)
    better = price >= consolidated if quote == "CBB" else price <= consolidated
    at = pl.when(consolidated.is_not_null()).then(better.fill_null(False))
    quantity = pl.when(at).then(pl.col(f"{SIDE[quote]}Quantity1")).when(~at).then(0)
    duration = pl.col(DURATION)
    return [
        pl.when(at).then(duration).alias(f"_hit{quote}"),
        pl.when(at.is_not_null()).then(duration).alias(f"_known{quote}"),
        quantity.alias(f"_quantity{quote}"),
        pl.when(quantity.is_not_null()).then(duration).alias(f"_valued{quote}"),
        # Exact integer products and sums: results do not depend on the order of addition.
        (quantity.cast(pl.Int128) * duration.cast(pl.Int128)).alias(f"_weighted{quote}"),
    ]


def _metric(quote: str, kind: str) -> pl.Expr:
    """The aggregation ``kind`` (TimeAt, TWMean, Min, Max, Median) over one bucket's
    segments, from the columns of :func:`_parts`."""
    if kind == "TimeAt":
        known = pl.col(f"_known{quote}").sum()
        return pl.when(known > 0).then(pl.col(f"_hit{quote}").sum() / known)
    quantity, valued = pl.col(f"_quantity{quote}"), pl.col(f"_valued{quote}")
    match kind:
        case "TWMean":
            total = valued.sum()
            weighted = pl.col(f"_weighted{quote}").sum().cast(pl.Float64)
            return pl.when(total > 0).then(weighted / total)
        case "Min":
            return quantity.min().cast(pl.Float64)
        case "Max":
            return quantity.max().cast(pl.Float64)
        case "Median":  # the smallest value held for at least half the time
            values, weights = quantity.drop_nulls(), valued.drop_nulls()
            half = weights.sort_by(values).cum_sum() * 2 >= weights.sum()
            return values.sort_by(values).filter(half).first().cast(pl.Float64)
    raise ValueError(f"unknown aggregation {kind!r}")


class CbboAnalytic(Analytic):
    """Time and quantity at the consolidated best bid and offer: how long each listing's best
    bid (offer) is at its instrument's consolidated one, and what quantity it shows there.

    Needs the ``l2`` table of the listings and the ``cbbo`` table of their instruments; the
    universe's ``InstrumentId`` ties them together (see :mod:`basalt.analytics.cbbo`).
    """

    name = "cbbo_analytics"
    config_model = CbboConfig
    requires = ("l2", "cbbo")
    batch_group_by = "InstrumentId"
    docs = tuple(DOCS.values())

    def columns(self, config: CbboConfig) -> list[Column]:
        return config.columns()

    def compute(self, ctx: AnalyticContext, config: CbboConfig) -> pl.LazyFrame:
        books = ctx.table("l2").select(
            pl.col("ListingId").cast(pl.Int64),
            pl.col(TIMESTAMP).cast(NS),
            "MarketState",
            *(f"{side}{field}1" for side in SIDE.values() for field in ("Price", "Quantity")),
        )
        timeline = segments(books, consolidated_quotes(ctx), ctx.bucket)
        if config.market_states is not None:
            timeline = timeline.filter(pl.col("MarketState").is_in(config.market_states))
        quotes = dict.fromkeys(quote for _, quote, _ in config.metrics())
        parts = [part for quote in quotes for part in _parts(quote)]
        return (
            timeline.with_columns(parts)
            .group_by(*KEYS)
            .agg(_metric(quote, kind).alias(name) for name, quote, kind in config.metrics())
        )
