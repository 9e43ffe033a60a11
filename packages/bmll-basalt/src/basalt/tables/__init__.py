"""Input tables."""

from basalt.tables.base import DataTable
from basalt.tables.bmll import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable
from basalt.tables.schema import bmll_schema

__all__ = [
    "DataTable",
    "L2Table",
    "L3Table",
    "MarketStateTable",
    "ReferenceTable",
    "TradesTable",
    "bmll_schema",
]
