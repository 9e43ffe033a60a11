"""The kernel's own plugin: it registers the built-in tables, analytics, outputs,
executors and universes through the same hooks as any third-party plugin."""

from __future__ import annotations

from basalt.hookspecs import hookimpl


@hookimpl
def basalt_register_tables() -> list[type]:
    from basalt.tables.bmll import (
        CbboTable,
        ImbalanceTable,
        L2Table,
        L3Table,
        MarketStateTable,
        ReferenceTable,
        TradesTable,
    )

    return [
        TradesTable,
        L2Table,
        L3Table,
        MarketStateTable,
        ReferenceTable,
        CbboTable,
        ImbalanceTable,
    ]


@hookimpl
def basalt_register_analytics() -> list[type]:
    from basalt.analytics.cbbo import CbboAnalytic
    from basalt.analytics.correlation import CorrelationAnalytic
    from basalt.analytics.execution import ExecutionAnalytic
    from basalt.analytics.external_events import ExternalEventsAnalytic
    from basalt.analytics.generic import GenericAnalytic
    from basalt.analytics.l2 import L2Analytic
    from basalt.analytics.l2tw import L2TimeWeightedAnalytic
    from basalt.analytics.l3 import L3Analytic
    from basalt.analytics.observed_events import ObservedEventsAnalytic
    from basalt.analytics.reaggregate import ReaggregateAnalytic
    from basalt.analytics.trade import TradeAnalytic
    from basalt.analytics.trade.retail import RetailImbalanceAnalytic

    return [
        TradeAnalytic,
        RetailImbalanceAnalytic,
        L2Analytic,
        L2TimeWeightedAnalytic,
        L3Analytic,
        ExecutionAnalytic,
        CbboAnalytic,
        GenericAnalytic,
        ReaggregateAnalytic,
        CorrelationAnalytic,
        ObservedEventsAnalytic,
        ExternalEventsAnalytic,
    ]


@hookimpl
def basalt_register_outputs() -> list[type]:
    from basalt.outputs.delta import DeltaOutput
    from basalt.outputs.parquet import ParquetOutput
    from basalt.outputs.sql import SqlOutput

    return [ParquetOutput, DeltaOutput, SqlOutput]


@hookimpl
def basalt_register_executors() -> list[type]:
    from basalt.executors.dask import DaskExecutor
    from basalt.executors.local import LocalExecutor
    from basalt.executors.serial import SerialExecutor

    return [LocalExecutor, SerialExecutor, DaskExecutor]


@hookimpl
def basalt_register_universes() -> list[type]:
    from basalt.universes.reference import AllListings, FileUniverse, MicUniverse, TickerUniverse

    return [AllListings, MicUniverse, TickerUniverse, FileUniverse]
