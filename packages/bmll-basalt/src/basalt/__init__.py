"""Basalt: intraday analytics over BMLL-shaped market data.

The public API for plugin authors: :class:`Analytic`, :class:`AnalyticContext`,
:class:`MetricDoc`, :class:`DataTable`, :class:`OutputTarget`, :class:`Executor`,
:class:`Universe` and the :data:`hookimpl` marker. Names are imported on first use, so
``import basalt`` (and the ``basalt`` command) stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basalt.analytic import Analytic, AnalyticContext, NoConfig
    from basalt.executors.base import Executor
    from basalt.hookspecs import hookimpl
    from basalt.metrics import MetricDoc
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
    "MetricDoc",
    "NoConfig",
    "OutputTarget",
    "Universe",
    "hookimpl",
]

SUITE_FULL_NAME = "BMLL Advanced Statistical Analytics & Layered Transformations"

_EXPORTS = {
    "Analytic": "basalt.analytic",
    "AnalyticContext": "basalt.analytic",
    "NoConfig": "basalt.analytic",
    "Executor": "basalt.executors.base",
    "hookimpl": "basalt.hookspecs",
    "MetricDoc": "basalt.metrics",
    "OutputTarget": "basalt.outputs.base",
    "DataTable": "basalt.tables.base",
    "BucketSpec": "basalt.timebuckets",
    "Universe": "basalt.universes.base",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'basalt' has no attribute {name!r}")
