"""Which trades a metric counts: aggressor sides and trade attributes."""

from __future__ import annotations

from typing import Literal

import polars as pl

from basalt.analytics.codes import flag_set, text

__all__ = [
    "SIDE",
    "SIDES_NOTE",
    "SIDE_CODES",
    "Side",
    "is_auction",
    "is_block",
    "is_otc",
    "is_retail",
    "side_condition",
    "side_suffix",
    "signed",
]

Side = Literal["Bid", "Ask", "Total", "Unknown"]
SIDE = "AggressorSide"
SIDE_CODES: dict[str, int | None] = {"Ask": 1, "Bid": 2, "Unknown": 0, "Total": None}
SIDES_NOTE = (
    "Sides follow the aggressor: Ask = buyer-initiated trades (AggressorSide 1), Bid = "
    "seller-initiated (2), Unknown (0), Total = all."
)


def side_condition(side: str) -> pl.Expr | None:
    """True on the trades of ``side`` (None for Total: every trade)."""
    code = SIDE_CODES[side]
    return None if code is None else pl.col(SIDE) == code


def side_suffix(side: str) -> str:
    """The side in a name that omits Total (``DiscrepancyToEBBO``, ``…Bid``)."""
    return "" if side == "Total" else side


def signed() -> pl.Expr:
    """+1 for buyer-initiated trades, −1 for seller-initiated, null when unknown."""
    side = pl.col(SIDE)
    return pl.when(side == 1).then(1.0).when(side == 2).then(-1.0)


def is_retail() -> pl.Expr:
    """Trades BMLL attributes to a retail participant."""
    return (text("BMLLParticipantType") == "RETAIL").fill_null(False)


def is_auction() -> pl.Expr:
    """Trades of an auction (BMLL Classification ``…AUCTION…``)."""
    return text("Classification").str.contains("AUCTION").fill_null(False)


def is_otc() -> pl.Expr:
    """Trades off the exchange's book (BMLLTradeType ``OTC``)."""
    return (text("BMLLTradeType") == "OTC").fill_null(False)


def is_block() -> pl.Expr:
    """Trades BMLL marks as large in scale (``IsBlock`` set)."""
    return flag_set("IsBlock")
