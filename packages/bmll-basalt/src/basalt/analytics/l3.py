"""``l3``: order-event counts and volumes, and order-flow metrics from BMLL L3.

BMLL L3 holds one row per order event: ``LobAction`` 2 insert, 3 remove, 4 update, 1
execution; ``Side`` 1 bid, 2 ask. Venues report a fill either as an execution row
(``LobAction`` 1) or as the remove or update it causes, flagged ``OrderExecuted``; both are
*executions* here, and ``Remove`` and ``Update`` count only the other rows (cancellations and
modifications), so that no fill is counted twice.

Generic metrics count events and sum their volumes per action and side. Advanced metrics
follow orders (``OrderId``) across buckets over the whole input of the task (whole days of a
listing), in time order (``EventTimestamp``; equal timestamps keep their input order), and
attribute each measure to the bucket of one event: a resting time to the event that ends the
order, a replacement latency to the replacing insert, fleeting liquidity to the insert.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import product
from typing import Annotated, Literal, NamedTuple, Protocol

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import (
    MarketStates,
    as_list,
    column_name,
    ensure_unique,
    in_states,
    ratio,
)
from basalt.analytics.sums import fixed_point
from basalt.metrics import Column, MetricDoc

__all__ = [
    "SIDE_CODES",
    "Family",
    "L3AdvancedConfig",
    "L3Analytic",
    "L3Config",
    "L3GenericConfig",
    "Metric",
    "executed",
    "family_metrics",
    "imbalance",
    "where",
]

Side = Literal["Bid", "Ask", "Total"]
Action = Literal["Insert", "Remove", "Update", "UpdateInserted", "UpdateRemoved"]
Measure = Literal["Count", "Volume"]
Aggregation = Literal["Sum", "Mean", "Median", "Min", "Max", "Std"]
Variant = Literal[
    "ArrivalFlowImbalance",
    "CancelToTradeRatio",
    "AvgQueuePosition",
    "AvgRestingTime",
    "FleetingLiquidityRatio",
    "AvgReplacementLatency",
]

EXECUTION, INSERT, REMOVE, UPDATE = 1, 2, 3, 4
SIDE_CODES = {"Bid": 1, "Ask": 2}
TIMESTAMP = "EventTimestamp"
FILL = "_fill"
ORDER = ("ListingId", "OrderId")
ROW = "_row"
NS_PER_MS = 1_000_000


def executed() -> pl.Expr:
    """True on fills: ``LobAction`` 1, or a remove or update flagged ``OrderExecuted``."""
    action = pl.col("LobAction")
    flagged = action.is_in([REMOVE, UPDATE]) & pl.col("OrderExecuted").fill_null(False)
    return (action == EXECUTION) | flagged


def where(*conditions: pl.Expr | None) -> pl.Expr:
    """All of ``conditions`` (None: no condition); null counts as false."""
    kept = [c for c in conditions if c is not None]
    return pl.all_horizontal(kept).fill_null(False) if kept else pl.lit(True)


def imbalance(first: pl.Expr, second: pl.Expr) -> pl.Expr:
    """``(first − second) / (first + second)``, in [−1, 1] for non-negative inputs."""
    return ratio(first - second, first + second)


def _mean(values: pl.Expr) -> pl.Expr:
    """Mean of the non-null ``values`` from an exact (fixed-point) sum; null without any."""
    return ratio(fixed_point(values).sum(), values.count())


def _count(condition: pl.Expr) -> pl.Expr:
    """Number of rows where ``condition`` holds (Int64)."""
    return condition.sum().cast(pl.Int64)


class Metric(NamedTuple):
    """One output column: its name, aggregation, doc and placeholder values."""

    name: str
    expr: pl.Expr
    doc: MetricDoc
    values: dict[str, str]


class Family(Protocol):
    """A metric family of an option model: its market states and columns."""

    market_states: list[str] | None

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """The family's columns, named with ``prefix``, counting rows of ``states``."""
        ...


def family_metrics(
    families: Mapping[str, Sequence[Family]], prefix: str, states: list[str] | None
) -> Iterator[tuple[str, Metric]]:
    """(options path, metric) of every family's columns, in order; a family without market
    states of its own takes ``states`` (the module's)."""
    for key, configs in families.items():
        for index, family in enumerate(configs):
            for metric in family.metrics(prefix, family.market_states or states):
                yield f"{key}[{index}]", metric


NOT_FILL = ~pl.col(FILL)
UPDATES = (pl.col("LobAction") == UPDATE) & NOT_FILL


class ActionSpec(NamedTuple):
    """The rows of an action, the volume of a row, and both in words."""

    rows: pl.Expr
    volume: pl.Expr
    volume_text: str
    events_text: str


ACTIONS = {
    "Insert": ActionSpec(pl.col("LobAction") == INSERT, pl.col("Size"), "Size", "inserts"),
    "Remove": ActionSpec(
        (pl.col("LobAction") == REMOVE) & NOT_FILL, pl.col("OldSize"), "OldSize", "removals"
    ),
    "Update": ActionSpec(
        UPDATES, pl.col("Size") - pl.col("OldSize"), "(Size − OldSize)", "updates"
    ),
    "UpdateInserted": ActionSpec(UPDATES, pl.col("Size"), "Size", "updates"),
    "UpdateRemoved": ActionSpec(UPDATES, pl.col("OldSize"), "OldSize", "updates"),
}
EVENTS_NOTE = (
    "Insert = LobAction 2; Remove = LobAction 3 and Update = LobAction 4, both without fills "
    "(rows flagged OrderExecuted); UpdateInserted and UpdateRemoved are the same updates, "
    "seen as the size they put back and the size they took. Side Bid = Side 1, Ask = 2, "
    "Total = both. Only events of the family's market states count."
)
AGGREGATIONS = ("Mean", "Median", "Min", "Max", "Std")
SIDES = ("Bid", "Ask", "Total")
COUNT_DOC = MetricDoc(
    "{action}Count{side}",
    "Events",
    "number of the bucket's {side} {action} events",
    f"0 without such events. {EVENTS_NOTE}",
    {"action": tuple(ACTIONS), "side": SIDES},
)
VOLUME_DOCS = {
    action: MetricDoc(
        f"{action}Volume{{side}}",
        "Shares",
        f"Σ {spec.volume_text} of the bucket's {{side}} {spec.events_text}",
        "0 without such events; unknown (null) sizes count as nothing. "
        + ("Negative when updates shrink orders. " if action == "Update" else "")
        + EVENTS_NOTE,
        {"side": SIDES},
    )
    for action, spec in ACTIONS.items()
}
AGGREGATED_DOCS = {
    action: MetricDoc(
        f"{action}Volume{{side}}{{agg}}",
        "Shares",
        f"{{agg}} of {spec.volume_text} over the bucket's {{side}} {spec.events_text}",
        "Over the events whose volume is known; null without any. Std is the sample "
        f"standard deviation (ddof 1). {EVENTS_NOTE}",
        {"side": SIDES, "agg": AGGREGATIONS},
    )
    for action, spec in ACTIONS.items()
}


def _aggregate(values: pl.Expr, aggregation: str) -> pl.Expr:
    match aggregation:
        case "Sum":
            return values.sum()
        case "Mean":
            return _mean(values)
        case "Median":
            return values.median()
        case "Min":
            return values.min()
        case "Max":
            return values.max()
        case "Std":
            return values.std(ddof=1)
    raise AssertionError(aggregation)


class L3GenericConfig(BaseModel):
    """One family of event metrics: every action × measure × side × aggregation."""

    model_config = ConfigDict(extra="forbid")

    actions: Annotated[list[Action], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="Insert, Remove, Update, UpdateInserted, UpdateRemoved (fills excluded).",
    )
    measures: Annotated[list[Measure], BeforeValidator(as_list)] = Field(
        default=["Count", "Volume"],
        min_length=1,
        description="Count: number of events; Volume: their size (Insert Σ Size, Remove "
        "Σ OldSize, Update Σ (Size − OldSize), UpdateInserted Σ Size, UpdateRemoved Σ OldSize).",
    )
    sides: Annotated[list[Side], BeforeValidator(as_list)] = Field(
        default=["Bid", "Ask"], min_length=1, description="Order sides: Bid, Ask, Total."
    )
    aggregations: Annotated[list[Aggregation], BeforeValidator(as_list)] = Field(
        default=["Sum"],
        min_length=1,
        description="How event volumes combine: Sum, Mean, Median, Min, Max, Std (Count only "
        "with Sum).",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only events whose MarketState is listed; null: the module's "
        "market_states.",
    )
    output_name_pattern: str | None = Field(
        default=None,
        description="Column name pattern with {action}, {measure}, {side} and {agg} (the "
        "aggregation); default {action}{measure}{side}{agg}, without the agg for Sum.",
    )

    @model_validator(mode="after")
    def _count_is_a_sum(self) -> L3GenericConfig:
        if "Count" in self.measures and set(self.aggregations) != {"Sum"}:
            raise ValueError(
                "Count is a number of events: aggregations other than Sum apply to Volume "
                "only; put Count in a family of its own"
            )
        return self

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """Every action × measure × side × aggregation."""
        state = in_states(states)
        combinations = product(self.actions, self.measures, self.sides, self.aggregations)
        for action, measure, side, aggregation in combinations:
            spec, agg = ACTIONS[action], "" if aggregation == "Sum" else aggregation
            name = prefix + f"{action}{measure}{side}{agg}"
            if self.output_name_pattern is not None:
                fields = {"action": action, "measure": measure, "side": side, "agg": aggregation}
                name = column_name(prefix, self.output_name_pattern, **fields)
            values: dict[str, str] = {"action": action, "side": side}
            values |= {"agg": agg} if agg else {}
            selected = where(spec.rows, _side(side), state)
            if measure == "Count":
                yield Metric(name, _count(selected), COUNT_DOC, values)
            else:
                expr = _aggregate(pl.when(selected).then(spec.volume), aggregation)
                doc = AGGREGATED_DOCS[action] if agg else VOLUME_DOCS[action]
                yield Metric(name, expr, doc, values)


def _side(side: str) -> pl.Expr | None:
    return None if side == "Total" else pl.col("Side") == SIDE_CODES[side]


HISTORY_NOTE = (
    "Orders are followed by OrderId over the whole input of the task, in EventTimestamp order. "
    "A life starts at an insert (LobAction 2) and ends at the first later event of the order "
    "that removes it (LobAction 3) or leaves it with Size 0 (a complete fill); a new insert "
    "of the same OrderId starts a new life."
)
ADVANCED_DOCS = {
    "ArrivalFlowImbalance": MetricDoc(
        "ArrivalFlowImbalance",
        "Imbalance",
        "(InsertVolumeBid − InsertVolumeAsk) / (InsertVolumeBid + InsertVolumeAsk)",
        "Positive when more size arrives on the bid. Null without inserted size.",
    ),
    "CancelToTradeRatio": MetricDoc(
        "CancelToTradeRatio",
        "Ratio",
        "number of cancellations / number of executions, both sides",
        "Cancellations are removals that are not fills; executions are fills (LobAction 1 "
        "or rows flagged OrderExecuted). Null without executions.",
    ),
    "AvgQueuePosition": MetricDoc(
        "AvgQueuePosition",
        "Shares",
        "mean SizeAhead of the bucket's executions",
        "The size queued ahead of the executed orders at their price level; 0 under strict "
        "price-time priority. Null without executions that have a SizeAhead.",
    ),
    "AvgRestingTime": MetricDoc(
        "AvgRestingTime",
        "Nanoseconds",
        "mean time from an order's insert to the event that ends it, over the orders whose "
        "life ends in the bucket",
        f"Attributed to the bucket of the ending event. Orders still resting at the end of the "
        f"input, or inserted before it starts, have no resting time and are left out. "
        f"{HISTORY_NOTE}",
    ),
    "FleetingLiquidityRatio": MetricDoc(
        "FleetingLiquidityRatio",
        "Fraction",
        "Σ Size of the inserts cancelled within fleeting_threshold_ms / Σ Size of the inserts, "
        "over the bucket's inserts",
        "A cancellation (a removal that is not a fill) ends a life; orders that end filled "
        "are not fleeting. Attributed to the bucket of the insert. Inserts without an OrderId "
        f"are left out. Null without inserted size. {HISTORY_NOTE}",
    ),
    "AvgReplacementLatency": MetricDoc(
        "AvgReplacementLatency",
        "Nanoseconds",
        "mean time from an execution to the insert that immediately follows it on the same "
        "side, over the bucket's such inserts",
        "Pairs an insert with the event just before it on the same listing and side (any "
        "price level) when that event is a fill of the same trading day; attributed to the "
        "bucket of the insert. Null without such inserts.",
    ),
}


HISTORY_DOCS = tuple(
    ADVANCED_DOCS[v] for v in ("AvgRestingTime", "FleetingLiquidityRatio", "AvgReplacementLatency")
)


class L3AdvancedConfig(BaseModel):
    """Order-flow metrics from the L3 event stream."""

    model_config = ConfigDict(extra="forbid")

    variant: Annotated[list[Variant], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="ArrivalFlowImbalance, CancelToTradeRatio, AvgQueuePosition, "
        "AvgRestingTime, FleetingLiquidityRatio, AvgReplacementLatency.",
    )
    fleeting_threshold_ms: float = Field(
        default=100.0,
        gt=0,
        description="FleetingLiquidityRatio: an order cancelled less than this many "
        "milliseconds after its insert is fleeting.",
    )
    market_states: MarketStates = Field(
        default=None,
        description="Count only events whose MarketState is listed (for time measures, the "
        "event the measure is attributed to); null: the module's market_states.",
    )
    output_name_pattern: str | None = Field(
        default=None, description="Column name pattern with {variant}; default {variant}."
    )

    @property
    def threshold_ns(self) -> int:
        """The fleeting threshold in nanoseconds."""
        return round(self.fleeting_threshold_ms * NS_PER_MS)

    def metrics(self, prefix: str, states: list[str] | None) -> Iterator[Metric]:
        """Every variant."""
        pattern = self.output_name_pattern or "{variant}"
        for variant in self.variant:
            name = column_name(prefix, pattern, variant=variant)
            expr = _advanced(variant, in_states(states), self.threshold_ns)
            yield Metric(name, expr, ADVANCED_DOCS[variant], {})


def _advanced(variant: str, state: pl.Expr | None, threshold_ns: int) -> pl.Expr:
    size = pl.col("Size")
    insert = pl.col("LobAction") == INSERT
    match variant:
        case "ArrivalFlowImbalance":
            bid, ask = (
                pl.when(where(insert, _side(side), state)).then(size).sum()
                for side in ("Bid", "Ask")
            )
            return imbalance(bid, ask)
        case "CancelToTradeRatio":
            return ratio(_count(where(_cancel(), state)), _count(where(pl.col(FILL), state)))
        case "AvgQueuePosition":
            return _mean(pl.when(where(pl.col(FILL), state)).then(pl.col("SizeAhead")))
        case "AvgRestingTime":
            return _mean(pl.when(where(state)).then(pl.col("_resting")))
        case "FleetingLiquidityRatio":
            fleeting = pl.col(_fleeting(threshold_ns))
            inserted = pl.when(where(pl.col("_start"), state)).then(size).sum()
            return ratio(pl.when(where(fleeting, state)).then(size).sum(), inserted)
        case "AvgReplacementLatency":
            return _mean(pl.when(where(state)).then(pl.col("_latency")))
    raise AssertionError(variant)


def _cancel() -> pl.Expr:
    return (pl.col("LobAction") == REMOVE) & NOT_FILL


def _fleeting(threshold_ns: int) -> str:
    return f"_fleeting{threshold_ns}"


def _segment_last(value: pl.Expr) -> pl.Expr:
    """On every row, ``value`` at the last row of its segment (of the order's rows)."""
    last = pl.col("_segment").shift(-1, fill_value=True)
    return pl.when(last).then(value).backward_fill()


def _with_history(events: pl.LazyFrame, thresholds_ns: set[int]) -> pl.LazyFrame:
    """``events`` with the per-event columns of the history metrics: ``_start`` (an insert
    starting a life), ``_resting`` (on the event ending a life: ns since its insert),
    ``_fleeting{ns}`` (on a starting insert: the life ends by a cancellation within ns) and
    ``_latency`` (on an insert right after a fill on its side: ns since that fill).

    Rows are sorted by order, then time (ties keep their input order), and cut into segments:
    one starts at each insert and at each order's first row. A segment is a life when it
    starts with an insert; running sums over the whole frame, differenced at segment starts,
    find each life's first ending event without grouping by order.
    """
    stamp, action, segment = pl.col(TIMESTAMP), pl.col("LobAction"), pl.col("_segment")
    insert = action == INSERT
    new_order = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in ORDER)
    # The event before each row on its listing and side, in time order.
    before = pl.struct(fill=FILL, time=TIMESTAMP, date="TradeDate").shift()
    prior = before.over("ListingId", "Side", order_by=[TIMESTAMP, ROW]).struct
    replacing = where(
        insert, prior.field("fill"), pl.col("TradeDate").eq_missing(prior.field("date"))
    )
    segmented = (
        events.with_row_index(ROW)
        .with_columns(
            pl.when(replacing)
            .then((stamp - prior.field("time")).dt.total_nanoseconds())
            .alias("_latency")
        )
        .sort(*ORDER, TIMESTAMP, maintain_order=True)
        .with_columns((insert | new_order).fill_null(True).alias("_segment"))
        .with_columns(
            (insert & pl.col("OrderId").is_not_null()).fill_null(False).alias("_start"),
            pl.when(segment).then(stamp).forward_fill().alias("_inserted"),
        )
        .with_columns(pl.when(segment).then(pl.col("_start")).forward_fill().alias("_alive"))
    )
    ending = pl.col("_alive") & ~insert & ((action == REMOVE) | (pl.col("Size") == 0))
    endings = ending.fill_null(False).cum_sum()
    since = (stamp - pl.col("_inserted")).dt.total_nanoseconds()
    staged = segmented.with_columns(
        (ending & (endings - pl.when(segment).then(endings).forward_fill() == 1))
        .fill_null(False)
        .alias("_end"),
        pl.when(pl.col("_alive")).then(since).alias("_since"),
    )
    end, since_insert = pl.col("_end"), pl.col("_since")
    fleeting = []
    for ns in sorted(thresholds_ns):
        quick = (end & _cancel() & (since_insert < ns)).cum_sum()
        in_life = _segment_last(quick) - quick  # the start row is no ending itself
        fleeting.append(pl.when(pl.col("_start")).then(in_life > 0).alias(_fleeting(ns)))
    return staged.with_columns(pl.when(end).then(since_insert).alias("_resting"), *fleeting)


class L3Config(BaseModel):
    """Options of the ``l3`` analytic. With no family configured, the default is InsertCount,
    InsertVolume, RemoveCount and RemoveVolume of Bid and Ask."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to every output column name.")
    market_states: MarketStates = Field(
        default=None,
        description="Count only events whose MarketState is listed, in every family that "
        "sets none of its own; null counts all.",
    )
    generic_metrics: list[L3GenericConfig] = Field(
        default_factory=list, description="Event count and volume families."
    )
    advanced_metrics: list[L3AdvancedConfig] = Field(
        default_factory=list, description="Order-flow metric families."
    )

    @model_validator(mode="after")
    def _defaults(self) -> L3Config:
        if not (self.generic_metrics or self.advanced_metrics):
            self.generic_metrics = [L3GenericConfig(actions=["Insert", "Remove"])]
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> L3Config:
        ensure_unique(self.output_columns())
        return self

    def output_columns(self) -> list[str]:
        """The metric columns this configuration produces, in order."""
        return [m.name for _, m in self.metrics()]

    def metrics(self) -> Iterator[tuple[str, Metric]]:
        """(options path, metric) of every output column, in order."""
        families: dict[str, Sequence[Family]] = {
            "generic_metrics": self.generic_metrics,
            "advanced_metrics": self.advanced_metrics,
        }
        return family_metrics(families, self.metric_prefix, self.market_states)

    def fleeting_thresholds_ns(self) -> set[int]:
        """The thresholds of the FleetingLiquidityRatio families, in nanoseconds."""
        return {
            f.threshold_ns for f in self.advanced_metrics if "FleetingLiquidityRatio" in f.variant
        }


class L3Analytic(Analytic):
    """Counts and volumes of L3 order events per action and side, and order-flow metrics
    (arrival imbalance, cancel-to-trade ratio, queue position, resting time, fleeting
    liquidity, replacement latency)."""

    name = "l3"
    config_model = L3Config
    config_aliases = ("l3_analytics",)
    requires = ("l3",)
    docs = (COUNT_DOC, *VOLUME_DOCS.values(), *AGGREGATED_DOCS.values(), *ADVANCED_DOCS.values())

    def columns(self, config: L3Config) -> list[Column]:
        return [Column(m.name, m.doc, m.values, path) for path, m in config.metrics()]

    def compute(self, ctx: AnalyticContext, config: L3Config) -> pl.LazyFrame:
        events = ctx.table("l3").with_columns(executed().alias(FILL))
        metrics = [m for _, m in config.metrics()]
        history = {m.name for m in metrics if m.doc in HISTORY_DOCS}
        plain = events.group_by(*KEYS).agg(
            m.expr.alias(m.name) for m in metrics if m.name not in history
        )
        if not history:
            return plain
        # Only the history metrics need the (sorted) order histories; their buckets are those
        # of events, so the left join keeps them all.
        lives = _with_history(events, config.fleeting_thresholds_ns())
        lived = lives.group_by(*KEYS).agg(
            m.expr.alias(m.name) for m in metrics if m.name in history
        )
        joined = plain.join(lived, on=KEYS, how="left")
        return joined.select(*KEYS, *(m.name for m in metrics))
