"""The hook specifications of the ``basalt`` plugin system.

A plugin is a module holding functions decorated with :data:`basalt.hookimpl` whose
names match the specifications below. Each registry hook returns a list of classes;
every class carries a unique ``name``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from basalt.analytic import Analytic
    from basalt.executors.base import Executor
    from basalt.outputs.base import OutputTarget
    from basalt.tables.base import DataTable
    from basalt.universes.base import Universe

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "basalt"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def basalt_register_tables() -> list[type[DataTable]]:
    """Input tables (trades, l2, l3, marketstate, ...) this plugin provides."""
    raise NotImplementedError


@hookspec
def basalt_register_analytics() -> list[type[Analytic]]:
    """Analytics, preprocessors and postprocessors this plugin provides."""
    raise NotImplementedError


@hookspec
def basalt_register_outputs() -> list[type[OutputTarget]]:
    """Output writers (parquet, delta, sql, ...) this plugin provides."""
    raise NotImplementedError


@hookspec
def basalt_register_executors() -> list[type[Executor]]:
    """Executors (where tasks run) this plugin provides."""
    raise NotImplementedError


@hookspec
def basalt_register_universes() -> list[type[Universe]]:
    """Universe resolvers (``mic=XLON``, ``ticker=...``, ...) this plugin provides."""
    raise NotImplementedError
