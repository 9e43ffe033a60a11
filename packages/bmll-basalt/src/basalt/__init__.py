"""Basalt: intraday analytics over BMLL-shaped market data.

The public API for plugin authors: :class:`Analytic`, :class:`AnalyticContext`,
:class:`DataTable`, :class:`OutputTarget`, :class:`Executor`, :class:`Universe` and the
:data:`hookimpl` marker.
"""

from basalt.analytic import Analytic, AnalyticContext, NoConfig
from basalt.executors.base import Executor
from basalt.hookspecs import hookimpl
from basalt.outputs.base import OutputTarget
from basalt.tables.base import DataTable
from basalt.timebuckets import BucketSpec
from basalt.universes.base import Universe

__all__ = [
    "SUITE_FULL_NAME",
    "Analytic",
    "AnalyticContext",
    "BucketSpec",
    "DataTable",
    "Executor",
    "NoConfig",
    "OutputTarget",
    "Universe",
    "hookimpl",
]

SUITE_FULL_NAME = "BMLL Advanced Statistical Analytics & Layered Transformations"
