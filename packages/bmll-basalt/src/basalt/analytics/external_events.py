"""``external_events``: the time around event anchors, as rows to study each event by.

Every row of the source (an earlier pass, or a table) is an anchor: a listing
(``symbol_col``) and a moment (``time_col``). Around it the module emits the anchor row
(``EventContextIndex`` 0) and ``extra_observations`` rows on each requested side, at offsets
up to ``radius_seconds``: evenly spaced (``scale_factor`` 1: radius · i / n) or denser near the
anchor (``scale_factor`` s > 1: radius · (sⁱ − 1) / (sⁿ − 1)). Each row carries the bucket
holding its moment (``TimeBucket``, as the pass labels buckets), the anchor's time
(``EventAnchorTime``), its index (negative before the anchor) and its offset in seconds
(``EventDeltaSeconds``), plus the anchor's ``passthrough_columns``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from basalt.analytic import Analytic, AnalyticContext
from basalt.analytics.common import as_list
from basalt.errors import ConfigError
from basalt.metrics import Column, MetricDoc

__all__ = ["ExternalEventsAnalytic", "ExternalEventsConfig", "offsets"]

DELTA = MetricDoc(
    "EventDeltaSeconds",
    "Seconds",
    "offset of the row's moment from its event's anchor",
    "Negative before the anchor, 0 at it.",
)
INDEX = "EventContextIndex"
ANCHOR = "EventAnchorTime"


class ExternalEventsConfig(BaseModel):
    """Options of the ``external_events`` analytic."""

    model_config = ConfigDict(extra="forbid")

    source_pass: str = Field(
        default="pass1", description="The earlier pass (or table) whose rows are the anchors."
    )
    symbol_col: str = Field(default="ListingId", description="The anchors' listing column.")
    time_col: str = Field(default="TimeBucket", description="The anchors' time column.")
    passthrough_columns: Annotated[list[str], BeforeValidator(as_list)] = Field(
        default_factory=list, description="Anchor columns copied to every row of its event."
    )
    radius_seconds: float = Field(default=0.0, ge=0, description="The farthest offset.")
    directions: Literal["both", "backward", "forward"] = Field(
        default="both", description="Rows before the anchor, after it, or both."
    )
    extra_observations: int = Field(
        default=0, ge=0, description="Rows on each side, besides the anchor."
    )
    scale_factor: float = Field(
        default=1.0, ge=1, description="1: even spacing; s > 1: offsets radius·(sⁱ−1)/(sⁿ−1)."
    )


def offsets(config: ExternalEventsConfig) -> list[tuple[int, float]]:
    """(index, offset in seconds) of every row of an event, the anchor included."""
    n, radius, s = config.extra_observations, config.radius_seconds, config.scale_factor
    steps = [radius * ((s**i - 1) / (s**n - 1) if s > 1 else i / n) for i in range(1, n + 1)]
    rows = [(0, 0.0)]
    if config.directions in ("both", "backward"):
        rows += [(-i, -step) for i, step in enumerate(steps, 1)]
    if config.directions in ("both", "forward"):
        rows += [(i, step) for i, step in enumerate(steps, 1)]
    return sorted(rows)


class ExternalEventsAnalytic(Analytic):
    """Rows around event anchors (a listing and a moment each): the anchor and offsets
    before and after it, each in the bucket holding it."""

    name = "external_events"
    config_model = ExternalEventsConfig
    config_aliases = ("external_event_analytics",)
    docs = (DELTA,)

    def inputs(self, config: ExternalEventsConfig) -> tuple[str, ...]:
        return (config.source_pass,)

    def keys(self, config: ExternalEventsConfig) -> tuple[str, ...]:
        return ("ListingId", "TimeBucket", ANCHOR, INDEX)

    def columns(self, config: ExternalEventsConfig) -> list[Column]:
        return [
            Column("EventDeltaSeconds", DELTA),
            *(Column(c, None) for c in config.passthrough_columns),
        ]

    def compute(self, ctx: AnalyticContext, config: ExternalEventsConfig) -> pl.LazyFrame:
        source = ctx.table(config.source_pass)
        names = source.collect_schema().names()
        wanted = [config.symbol_col, config.time_col, *config.passthrough_columns]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ConfigError(f"external_events: {config.source_pass!r} has no column(s) {missing}")
        index, delta = zip(*offsets(config), strict=True)
        grid = pl.LazyFrame(
            {INDEX: list(index), "EventDeltaSeconds": list(delta)},
            schema={INDEX: pl.Int64, "EventDeltaSeconds": pl.Float64},
        )
        anchors = source.select(
            pl.col(config.symbol_col).alias("ListingId"),
            pl.col(config.time_col).cast(pl.Datetime("ns")).alias(ANCHOR),
            *config.passthrough_columns,
        ).unique(["ListingId", ANCHOR], keep="first")
        moment = pl.col(ANCHOR) + pl.duration(microseconds=pl.col("EventDeltaSeconds") * 1e6)
        return anchors.join(grid, how="cross").select(
            "ListingId",
            ctx.bucket.label(moment),
            ANCHOR,
            INDEX,
            "EventDeltaSeconds",
            *config.passthrough_columns,
        )
