"""The ``characteristics`` plugin (entry point group ``basalt``); cheap to import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from basalt import hookimpl

if TYPE_CHECKING:
    from basalt import Analytic

__all__ = ["basalt_register_analytics"]


@hookimpl
def basalt_register_analytics() -> list[type[Analytic]]:
    """``trade_characteristics`` and ``l3_characteristics``."""
    from basalt_characteristics.l3 import L3Characteristics
    from basalt_characteristics.trades import TradeCharacteristics

    return [TradeCharacteristics, L3Characteristics]
