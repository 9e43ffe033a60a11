"""``observed_events``: the local minima and maxima of a smoothed series of an earlier pass.

Per listing, in time order, the ``input_col`` series is smoothed by a simple moving average
(``sma``: the mean of the last ``window`` values) or an exponential one (``ewma``: span
``window``, weights adjusted as pandas' ``ewm(span).mean()``). A bucket is a ``local_min``
event where the smoothed value is strictly below both neighbours', a ``local_max`` where it is
strictly above; the first and last buckets of a listing's series, and buckets whose neighbours
lack a value, are never events. Sparse output: one row per event.
"""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from basalt.analytic import Analytic, AnalyticContext
from basalt.analytics.common import as_list
from basalt.errors import ConfigError
from basalt.metrics import Column, MetricDoc

__all__ = ["ObservedEventsAnalytic", "ObservedEventsConfig"]

EventType = Literal["local_min", "local_max"]
EVENT_TYPE = MetricDoc(
    "EventType", "Label", "local_min or local_max", "Which extremum the bucket is."
)
INDICATOR = MetricDoc(
    "Indicator", "Label", "the smoothing: sma or ewma", "As configured (indicator)."
)
INDICATOR_VALUE = MetricDoc(
    "IndicatorValue",
    "Source",
    "the smoothed {input} at the event: {indicator} over {window} buckets",
    "In the unit of the input column. EventType (local_min or local_max) and Indicator (the "
    "smoothing) label the row.",
    {"input": (), "indicator": ("sma", "ewma"), "window": ()},
)


class ObservedEventsConfig(BaseModel):
    """Options of the ``observed_events`` analytic."""

    model_config = ConfigDict(extra="forbid")

    source_pass: str = Field(default="pass1", description="The earlier pass read.")
    input_col: str = Field(default="TradeTotalClose", description="The series to smooth.")
    indicator: Literal["sma", "ewma"] = Field(
        default="sma", description="sma: moving average; ewma: exponential, span window."
    )
    window: int = Field(default=5, gt=1, description="Buckets of the moving average (span).")
    event_types: Annotated[list[EventType], BeforeValidator(as_list)] = Field(
        default=["local_min", "local_max"], min_length=1, description="Which extrema to emit."
    )


class ObservedEventsAnalytic(Analytic):
    """Local minima and maxima of a smoothed series of an earlier pass, one row per event."""

    name = "observed_events"
    config_model = ObservedEventsConfig
    config_aliases = ("observed_events_analytics",)
    docs = (EVENT_TYPE, INDICATOR, INDICATOR_VALUE)

    def inputs(self, config: ObservedEventsConfig) -> tuple[str, ...]:
        return (config.source_pass,)

    def columns(self, config: ObservedEventsConfig) -> list[Column]:
        values = {
            "input": config.input_col,
            "indicator": config.indicator,
            "window": str(config.window),
        }
        return [
            Column("EventType", EVENT_TYPE),
            Column("Indicator", INDICATOR),
            Column("IndicatorValue", INDICATOR_VALUE, values),
        ]

    def compute(self, ctx: AnalyticContext, config: ObservedEventsConfig) -> pl.LazyFrame:
        source = ctx.table(config.source_pass)
        if config.input_col not in source.collect_schema():
            raise ConfigError(
                f"observed_events: pass {config.source_pass!r} has no column {config.input_col!r}"
            )
        value = pl.col(config.input_col).cast(pl.Float64)
        smooth = (
            value.rolling_mean(config.window)
            if config.indicator == "sma"
            else value.ewm_mean(span=config.window)
        )
        series = source.sort("ListingId", "TimeBucket").select(
            "ListingId", "TimeBucket", smooth.over("ListingId").alias("IndicatorValue")
        )
        before = pl.col("IndicatorValue").shift(1).over("ListingId")
        after = pl.col("IndicatorValue").shift(-1).over("ListingId")
        kinds = {
            "local_min": (pl.col("IndicatorValue") < before) & (pl.col("IndicatorValue") < after),
            "local_max": (pl.col("IndicatorValue") > before) & (pl.col("IndicatorValue") > after),
        }
        kind = pl.lit(None, pl.String)
        for name in config.event_types:
            kind = pl.when(kinds[name]).then(pl.lit(name)).otherwise(kind)
        return (
            series.with_columns(
                kind.alias("EventType"), pl.lit(config.indicator).alias("Indicator")
            )
            .filter(pl.col("EventType").is_not_null())
            .select("ListingId", "TimeBucket", "EventType", "Indicator", "IndicatorValue")
        )
