"""The BMLL table schemas shipped with Basalt (``schemas/*.csv``: column name, polars dtype)."""

from __future__ import annotations

import csv
import functools
import re
from importlib import resources

import polars as pl

__all__ = ["bmll_schema", "parse_dtype"]

_DATETIME = re.compile(r"Datetime\(time_unit='(\w+)', time_zone=None\)")
_SIMPLE: dict[str, pl.DataType] = {
    "Int32": pl.Int32(),
    "Int64": pl.Int64(),
    "Float64": pl.Float64(),
    "String": pl.String(),
    "Boolean": pl.Boolean(),
    "Null": pl.Null(),
}


def parse_dtype(text: str) -> pl.DataType:
    """Parse a dtype as written in the schema files (``Int64``, ``Datetime(...)``)."""
    if match := _DATETIME.fullmatch(text):
        return pl.Datetime(match.group(1))  # type: ignore[arg-type]
    try:
        return _SIMPLE[text]
    except KeyError:
        raise ValueError(f"unsupported dtype in schema file: {text!r}") from None


@functools.cache
def bmll_schema(name: str) -> pl.Schema:
    """The schema of BMLL table ``name`` (``trades-plus``, ``l2``, ``market-state``, ...)."""
    text = resources.files("basalt.tables").joinpath("schemas", f"{name}.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    return pl.Schema({row["ColumnName"]: parse_dtype(row["DataType"]) for row in rows})
