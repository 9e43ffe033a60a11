"""``l3``: Counts and volumes of L3 order events (being written)."""

from __future__ import annotations

import polars as pl

from basalt.analytic import Analytic, AnalyticContext

__all__ = ["L3Analytic"]


class L3Analytic(Analytic):
    """Counts and volumes of L3 order events"""

    name = "l3"
    requires = ("l3",)
    config_aliases = ("l3_analytics",)

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        raise NotImplementedError
