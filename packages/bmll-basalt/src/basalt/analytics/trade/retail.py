"""``retail_imbalance``: the balance of retail buying and selling per listing and bucket."""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from basalt.analytic import KEYS, Analytic, AnalyticContext
from basalt.analytics.common import MarketStates
from basalt.analytics.sums import fixed_point
from basalt.analytics.trade.selection import SIDE, is_retail
from basalt.metrics import MetricDoc

__all__ = ["RetailImbalanceAnalytic", "RetailImbalanceConfig"]

IMBALANCE = "RetailTradeImbalance"


class RetailImbalanceConfig(BaseModel):
    """Options of the ``retail_imbalance`` analytic."""

    model_config = ConfigDict(extra="forbid")

    metric_prefix: str = Field(default="", description="Prepended to the output column name.")
    market_states: MarketStates = Field(
        default=None,
        description="Keep only trades whose MarketState is listed; null keeps all.",
    )


class RetailImbalanceAnalytic(Analytic):
    """Imbalance of retail buyer- against seller-initiated notional per listing and bucket."""

    name = "retail_imbalance"
    config_model = RetailImbalanceConfig
    requires = ("trades",)
    docs = (
        MetricDoc(
            IMBALANCE,
            "Imbalance",
            "(B − S) / (B + S), B and S = Σ TradeNotionalEUR of buyer- and seller-initiated "
            "retail trades",
            "Retail trades: BMLLParticipantType RETAIL, whatever their classification (retail "
            "flow is mostly off-book). Trades of unknown side do not count; null when B + S is 0.",
        ),
    )

    def compute(self, ctx: AnalyticContext, config: RetailImbalanceConfig) -> pl.LazyFrame:
        trades = ctx.table("trades").filter(is_retail() & pl.col("Size").is_not_null())
        if config.market_states is not None:
            trades = trades.filter(pl.col("MarketState").is_in(config.market_states))
        eur = pl.col("TradeNotionalEUR")

        def notional(code: int) -> pl.Expr:
            return fixed_point(pl.when(pl.col(SIDE) == code).then(eur)).sum().cast(pl.Float64)

        bought, sold = notional(1), notional(2)
        imbalance = pl.when(bought + sold > 0).then((bought - sold) / (bought + sold))
        return trades.group_by(*KEYS).agg(imbalance.alias(config.metric_prefix + IMBALANCE))
