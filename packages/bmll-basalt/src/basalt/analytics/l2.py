"""``l2``: the order book at the last L2 snapshot of each bucket, and price bars.

Depth, spread and imbalance metrics take the values of the bucket's last snapshot (latest
``EventTimestamp``; of equal timestamps, the later row). Price bars (open, high, low, close)
summarise every snapshot of the bucket. Expressions come from :mod:`basalt.analytics.book`;
the option families and column docs defined here are shared with ``l2tw``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics import book
from basalt.analytics.common import (
    OHLC_PARTS,
    MarketStates,
    as_list,
    column_name,
    ensure_unique,
)
from basalt.metrics import Column, MetricDoc

__all__ = [
    "BookConfig",
    "L2Analytic",
    "L2Config",
    "L2ImbalanceConfig",
    "L2LiquidityConfig",
    "L2OhlcConfig",
    "L2SpreadConfig",
    "Metric",
    "last_snapshots",
    "price_bars",
]

TIMESTAMP = "EventTimestamp"
RAW_TIMESTAMP = "TimestampNanoseconds"
ROW = "_row"
Level = Annotated[int, Field(ge=1, le=book.MAX_LEVEL)]
Levels = Annotated[list[Level], BeforeValidator(as_list), Field(min_length=1)]
Names = tuple[str, str, str, str]
SPREAD_NAMES = {"Abs": "Abs", "BPS": "Bps"}
DEFAULT_DEPTH: list[book.DepthMeasure] = [
    "Price",
    "Quantity",
    "NumOrders",
    "CumQuantity",
    "CumOrders",
]
DEFAULT_IMBALANCE: list[book.ImbalanceMeasure] = ["CumQuantity", "Orders"]
TWA_NOTE = " (l2tw: followed by TWA)"

LAST = "At the bucket's last snapshot (latest EventTimestamp). Null where a level is empty."
LEVELS = tuple(str(level) for level in range(1, book.MAX_LEVEL + 1))
SIDES = ("Bid", "Ask")


def _depth_doc(measure: str, unit: str, definition: str) -> MetricDoc:
    values = {"side": SIDES, "level": LEVELS}
    return MetricDoc(f"{{side}}{measure}{{level}}", unit, definition, LAST, values)


def _imbalance_doc(measure: str, compared: str) -> MetricDoc:
    definition = f"(Bid − Ask) / (Bid + Ask) of {compared}"
    return MetricDoc(
        f"Imbalance{measure}{{level}}", "Imbalance", definition, LAST, {"level": LEVELS}
    )


DEPTH_DOCS = {
    "Price": _depth_doc("Price", "XLOC", "price of {side} level {level}"),
    "Quantity": _depth_doc("Quantity", "Shares", "quantity at {side} level {level}"),
    "NumOrders": _depth_doc("NumOrders", "Orders", "orders at {side} level {level}"),
    "CumQuantity": _depth_doc("CumQuantity", "Shares", "Σ quantity of {side} levels 1..{level}"),
    "CumOrders": _depth_doc("CumOrders", "Orders", "Σ orders of {side} levels 1..{level}"),
    "CumNotional": _depth_doc(
        "CumNotional", "XLOC", "Σ price · quantity of {side} levels 1..{level}"
    ),
}
SPREAD_DOCS = {
    "Abs": MetricDoc("SpreadAbs", "XLOC", "AskPrice1 − BidPrice1", LAST),
    "Bps": MetricDoc(
        "SpreadBps",
        "BPS",
        "20000 · (AskPrice1 − BidPrice1) / (AskPrice1 + BidPrice1)",
        f"The spread in basis points of the mid. {LAST}",
    ),
}
IMBALANCE_DOCS = {
    "Quantity": _imbalance_doc("Quantity", "the quantities at level {level}"),
    "CumQuantity": _imbalance_doc("CumQuantity", "the quantities summed over levels 1..{level}"),
    "CumNotional": _imbalance_doc("CumNotional", "price · quantity summed over levels 1..{level}"),
    "Orders": _imbalance_doc("Orders", "the orders summed over levels 1..{level}"),
}
PRICE_SOURCES = (
    "Mid = (BidPrice1 + AskPrice1) / 2; WeightedMid = (BidPrice1 · AskQuantity1 + AskPrice1 · "
    "BidQuantity1) / (AskQuantity1 + BidQuantity1); Bid, Ask = the best prices."
)
BARS = (
    f"Over every snapshot of the bucket where the series is defined. {PRICE_SOURCES} With "
    "open_mode prev_close, Open is the listing's latest earlier Close and High/Low include it."
)
SOURCES = {"source": ("WeightedMid", "Mid", "Bid", "Ask")}
BAR_DOCS = {
    "Open": MetricDoc("{source}Open", "XLOC", "first {source} price of the bucket", BARS, SOURCES),
    "High": MetricDoc(
        "{source}High", "XLOC", "highest {source} price of the bucket", BARS, SOURCES
    ),
    "Low": MetricDoc("{source}Low", "XLOC", "lowest {source} price of the bucket", BARS, SOURCES),
    "Close": MetricDoc("{source}Close", "XLOC", "last {source} price of the bucket", BARS, SOURCES),
}


class Metric(NamedTuple):
    """One book metric column: its name, row-wise expression, doc and placeholder values."""

    name: str
    expr: pl.Expr
    doc: MetricDoc
    values: dict[str, str]


class L2LiquidityConfig(BaseModel):
    """One family of depth metrics: every side × measure × level."""

    model_config = ConfigDict(extra="forbid")

    sides: Annotated[list[book.Side], BeforeValidator(as_list)] = Field(
        default=["Bid", "Ask"], min_length=1, description="Book sides: Bid, Ask."
    )
    levels: Levels = Field(description="Book levels, 1 (best) to 10: an integer or a list.")
    measures: Annotated[list[book.DepthMeasure], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="Quantity, Price, NumOrders at the level; CumQuantity, CumOrders, "
        "CumNotional summed over levels 1..L.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {side}, {measure} and {level}; "
        f"default {{side}}{{measure}}{{level}}{TWA_NOTE}.",
    )

    def metrics(self, prefix: str, suffix: str = "") -> Iterator[Metric]:
        """Every side × measure × level; ``suffix`` ends the default names."""
        pattern = self.output_name_pattern or "{side}{measure}{level}" + suffix
        for side in self.sides:
            for measure in self.measures:
                for level in self.levels:
                    name = column_name(prefix, pattern, side=side, measure=measure, level=level)
                    values = {"side": side, "level": str(level)}
                    yield Metric(
                        name, book.depth(side, measure, level), DEPTH_DOCS[measure], values
                    )


class L2SpreadConfig(BaseModel):
    """One family of spread metrics at the best prices."""

    model_config = ConfigDict(extra="forbid")

    variant: Annotated[list[book.SpreadVariant], BeforeValidator(as_list)] = Field(
        default=["BPS"],
        min_length=1,
        description="Abs: best ask − best bid; BPS: the same in basis points of the mid.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {variant} (Abs or Bps); "
        f"default Spread{{variant}}{TWA_NOTE}.",
    )

    def metrics(self, prefix: str, suffix: str = "") -> Iterator[Metric]:
        """Every variant; ``suffix`` ends the default names."""
        pattern = self.output_name_pattern or "Spread{variant}" + suffix
        for variant in self.variant:
            short = SPREAD_NAMES[variant]
            name = column_name(prefix, pattern, variant=short)
            yield Metric(name, book.spread(variant), SPREAD_DOCS[short], {})


class L2ImbalanceConfig(BaseModel):
    """One family of order-book imbalances (Bid − Ask) / (Bid + Ask): every measure × level."""

    model_config = ConfigDict(extra="forbid")

    levels: Levels = Field(description="Book levels, 1 (best) to 10: an integer or a list.")
    measure: Annotated[list[book.ImbalanceMeasure], BeforeValidator(as_list)] = Field(
        default=["CumQuantity"],
        min_length=1,
        description="Quantity (at level L), CumQuantity, CumNotional or Orders (levels 1..L).",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {measure} and {level}; "
        f"default Imbalance{{measure}}{{level}}{TWA_NOTE}.",
    )

    def metrics(self, prefix: str, suffix: str = "") -> Iterator[Metric]:
        """Every measure × level; ``suffix`` ends the default names."""
        pattern = self.output_name_pattern or "Imbalance{measure}{level}" + suffix
        for measure in self.measure:
            for level in self.levels:
                name = column_name(prefix, pattern, measure=measure, level=level)
                doc = IMBALANCE_DOCS[measure]
                yield Metric(name, book.imbalance(measure, level), doc, {"level": str(level)})


class L2OhlcConfig(BaseModel):
    """Open, high, low and close of a price series over every snapshot of the bucket."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[list[book.PriceSource], BeforeValidator(as_list)] = Field(
        default=["Mid"], min_length=1, description="Price series: Mid, Bid, Ask, WeightedMid."
    )
    open_mode: Literal["event", "prev_close"] = Field(
        default="event",
        description="event: Open is the bucket's first price; prev_close: the listing's "
        "latest earlier Close, so that bars chain without gaps.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {source} and {part} (Open, High, Low, Close); "
        "default {source}{part}.",
    )

    def bars(self, prefix: str) -> Iterator[tuple[str, Names]]:
        """(source, its Open/High/Low/Close column names) for every source."""
        pattern = self.output_name_pattern or "{source}{part}"
        for source in self.source:
            o, h, lo, c = (column_name(prefix, pattern, source=source, part=p) for p in OHLC_PARTS)
            yield source, (o, h, lo, c)


class BookConfig(BaseModel):
    """Options shared by the book analytics ``l2`` and ``l2tw``: the depth, spread and
    imbalance families, the depth of their defaults and the market states considered.
    Subclasses name their ``families``; with none of them configured, they ``set_defaults``."""

    model_config = ConfigDict(extra="forbid")
    families: ClassVar[tuple[str, ...]]

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    levels: Level = Field(default=10, description="Depth of the default metrics, 1 to 10.")
    market_states: MarketStates = Field(
        default=None,
        description="Consider only snapshots whose MarketState is listed (l2tw: only the "
        "time spent in those states); null considers all.",
    )
    liquidity: list[L2LiquidityConfig] = Field(
        default_factory=list, description="Depth metric families."
    )
    spreads: list[L2SpreadConfig] = Field(
        default_factory=list, description="Spread metric families."
    )
    imbalances: list[L2ImbalanceConfig] = Field(
        default_factory=list, description="Imbalance metric families."
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not any(getattr(self, family) for family in self.families):
            self.set_defaults(list(range(1, self.levels + 1)))
        ensure_unique(self.output_columns())
        return self

    @abstractmethod
    def set_defaults(self, levels: list[int]) -> None:
        """Fill in the default families for ``levels``."""

    @abstractmethod
    def columns(self) -> list[Column]:
        """The metric columns this configuration produces, in order, with their docs."""

    def output_columns(self) -> list[str]:
        """The metric columns this configuration produces, in order."""
        return [column.name for column in self.columns()]

    def book_metrics(self, suffix: str = "") -> Iterator[tuple[str, Metric]]:
        """(option path, metric) of every depth, spread and imbalance metric, in order;
        ``suffix`` ends the default column names."""
        families: dict[str, Sequence[L2LiquidityConfig | L2SpreadConfig | L2ImbalanceConfig]]
        families = {
            "liquidity": self.liquidity,
            "spreads": self.spreads,
            "imbalances": self.imbalances,
        }
        for key, configs in families.items():
            for index, family in enumerate(configs):
                for metric in family.metrics(self.metric_prefix, suffix):
                    yield f"{key}[{index}]", metric


class L2Config(BookConfig):
    """Options of the ``l2`` analytic. With no family configured, the defaults are depth
    (Bid and Ask × levels 1..``levels`` × Price, Quantity, NumOrders, CumQuantity, CumOrders),
    imbalances (CumQuantity and Orders × levels 1..``levels``) and SpreadBps."""

    families = ("liquidity", "spreads", "imbalances", "ohlc")

    ohlc: list[L2OhlcConfig] = Field(
        default_factory=list, description="Price bar families (all snapshots of the bucket)."
    )

    @model_validator(mode="before")
    @classmethod
    def _volatility_is_time_weighted(cls, data: Any) -> Any:
        if isinstance(data, dict) and "volatility" in data:
            raise ValueError("volatility is computed by the l2tw analytic; configure it there")
        return data

    def set_defaults(self, levels: list[int]) -> None:
        self.liquidity = [L2LiquidityConfig(levels=levels, measures=DEFAULT_DEPTH)]
        self.imbalances = [L2ImbalanceConfig(levels=levels, measure=DEFAULT_IMBALANCE)]
        self.spreads = [L2SpreadConfig()]

    def snapshot_metrics(self) -> list[Metric]:
        """The depth, spread and imbalance metrics, in order."""
        return [metric for _, metric in self.book_metrics()]

    def columns(self) -> list[Column]:
        columns = [Column(m.name, m.doc, m.values, path) for path, m in self.book_metrics()]
        for index, family in enumerate(self.ohlc):
            for source, names in family.bars(self.metric_prefix):
                for part, name in zip(OHLC_PARTS, names, strict=True):
                    columns.append(
                        Column(name, BAR_DOCS[part], {"source": source}, f"ohlc[{index}]")
                    )
        return columns


def last_snapshots(snapshots: pl.LazyFrame, columns: Sequence[pl.Expr]) -> pl.LazyFrame:
    """The keys and ``columns`` at the last snapshot of each listing and bucket: the latest
    ``EventTimestamp``, and of equal timestamps the later row.

    The search first reads the keys and timestamps alone. The book columns are then decoded
    only for candidate rows: those whose raw ``TimestampNanoseconds`` (which the normalised
    ``EventTimestamp`` is taken from) is some bucket's latest, and those without one. A filter
    on a raw column reaches the Parquet reader, which skips the other rows as it decodes (a
    third less time on the benchmark's books). Both reads run when the result is collected."""
    selected = [*KEYS, *columns]
    schema = snapshots.select(selected).collect_schema()
    return pl.defer(lambda: _last_rows(snapshots).select(selected).collect(), schema=schema)


def _last_rows(snapshots: pl.LazyFrame) -> pl.LazyFrame:
    """The rows of ``snapshots`` that are last in their listing and bucket, in their order."""
    stamp, raw, row = pl.col(TIMESTAMP), pl.col(RAW_TIMESTAMP), pl.col(ROW)
    latest = (
        snapshots.select(*KEYS, TIMESTAMP, RAW_TIMESTAMP)
        .filter(stamp == stamp.max().over(KEYS))
        .select(raw.drop_nulls().unique())
        .collect()
        .to_series()
    )
    candidates = snapshots.filter(raw.is_in(latest.implode()) | raw.is_null())
    indexed = candidates.with_row_index(ROW)
    last = (
        indexed.select(*KEYS, TIMESTAMP, ROW)
        .filter(stamp == stamp.max().over(KEYS))
        .group_by(KEYS)
        .agg(row.max())
    )
    return indexed.join(last.select(ROW), on=ROW, how="semi").drop(ROW)


def _chain(bars: pl.LazyFrame, chained: list[Names]) -> pl.LazyFrame:
    """Open at the listing's latest earlier Close; High, Low and Close widened to include it."""
    opens = [
        pl.coalesce(
            pl.col(c).shift().forward_fill().over("ListingId", order_by="TimeBucket"), pl.col(o)
        ).alias(o)
        for o, _, _, c in chained
    ]
    rest = [
        expr
        for o, h, lo, c in chained
        for expr in (
            pl.max_horizontal(h, o).alias(h),
            pl.min_horizontal(lo, o).alias(lo),
            pl.coalesce(c, o).alias(c),
        )
    ]
    return bars.with_columns(opens).with_columns(rest)


def price_bars(snapshots: pl.LazyFrame, families: list[L2OhlcConfig], prefix: str) -> pl.LazyFrame:
    """Open/High/Low/Close of each family's price series per listing and bucket, over the
    snapshots where the series is defined, in ``EventTimestamp`` order (ties: row order)."""
    aggregations: list[pl.Expr] = []
    chained: list[Names] = []
    for family in families:
        for source, names in family.bars(prefix):
            series = book.price_series(source)
            defined = series.drop_nulls()
            values = (defined.first(), series.max(), series.min(), defined.last())
            aggregations += [v.alias(n) for v, n in zip(values, names, strict=True)]
            if family.open_mode == "prev_close":
                chained.append(names)
    # One stable sort serves every series (only the columns they read are carried).
    ordered = snapshots.sort("ListingId", TIMESTAMP, maintain_order=True)
    bars = ordered.group_by(*KEYS).agg(aggregations)
    return _chain(bars, chained) if chained else bars


class L2Analytic(Analytic):
    """Book depth, spreads and imbalances at the last L2 snapshot of each bucket, and price
    bars over all its snapshots."""

    name = "l2"
    config_model = L2Config
    config_aliases = ("l2_analytics",)
    requires = ("l2",)
    docs = (
        *DEPTH_DOCS.values(),
        *SPREAD_DOCS.values(),
        *IMBALANCE_DOCS.values(),
        *BAR_DOCS.values(),
    )

    def columns(self, config: L2Config) -> list[Column]:
        return config.columns()

    def compute(self, ctx: AnalyticContext, config: L2Config) -> pl.LazyFrame:
        snapshots = book.clear_empty_levels(ctx.table("l2"))
        if config.market_states is not None:
            snapshots = snapshots.filter(pl.col("MarketState").is_in(config.market_states))
        frames = []
        metrics = config.snapshot_metrics()
        if metrics:
            columns = [m.expr.alias(m.name) for m in metrics]
            frames.append(last_snapshots(snapshots, columns))
        if config.ohlc:
            frames.append(price_bars(snapshots, config.ohlc, config.metric_prefix))
        result = frames[0]
        for frame in frames[1:]:
            result = result.join(frame, on=KEYS, how="left")
        return result
