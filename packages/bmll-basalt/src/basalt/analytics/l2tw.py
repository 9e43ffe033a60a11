"""``l2tw``: Time-weighted order-book metrics (being written)."""

from __future__ import annotations

import polars as pl

from basalt.analytic import Analytic, AnalyticContext

__all__ = ["L2TimeWeightedAnalytic"]


class L2TimeWeightedAnalytic(Analytic):
    """Time-weighted order-book metrics"""

    name = "l2tw"
    requires = ("l2",)

    def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
        raise NotImplementedError
