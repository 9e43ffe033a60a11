"""``execution``: Executed volumes and prices from L3 and trades (being written)."""

from __future__ import annotations

import polars as pl

from basalt.analytic import Analytic, AnalyticContext

__all__ = ["ExecutionAnalytic"]


class ExecutionAnalytic(Analytic):
    """Executed volumes and prices from L3 and trades"""

    name = "execution"
    requires = ("trades", "l3")
    config_aliases = ("execution_analytics",)

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        raise NotImplementedError
