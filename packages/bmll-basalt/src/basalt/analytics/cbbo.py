"""``cbbo_analytics``: Time and quantity at the consolidated best bid and offer (being written)."""

from __future__ import annotations

import polars as pl

from basalt.analytic import Analytic, AnalyticContext

__all__ = ["CbboAnalytic"]


class CbboAnalytic(Analytic):
    """Time and quantity at the consolidated best bid and offer"""

    name = "cbbo_analytics"
    requires = ("l2", "cbbo")
    batch_group_by = "InstrumentId"

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        raise NotImplementedError
