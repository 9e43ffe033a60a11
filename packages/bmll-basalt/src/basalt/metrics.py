"""What every output column means: metric documentation and the columns a configuration makes.

An analytic declares a :class:`MetricDoc` per family of columns (``Analytic.docs``): a name
``pattern`` whose ``{placeholders}`` range over listed values, a unit, a definition (the
formula, with the same placeholders) and a description. :func:`module_columns` lists the
columns a module configuration produces, each tied to its documentation, without reading
data: from the analytic's own :meth:`~basalt.analytic.Analytic.columns` (so renamed and
prefixed columns stay explained) or else from a dry run on empty inputs, matched against the
patterns. ``basalt analytics list`` / ``explain`` and the analytics reference read this.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import polars as pl
from pydantic import BaseModel

from basalt.lake import Lake
from basalt.timebuckets import BucketSpec

if TYPE_CHECKING:
    from basalt.analytic import Analytic
    from basalt.plugins import Registry

__all__ = [
    "DRY_RUN_UNIVERSE",
    "KEY_DOCS",
    "UNITS",
    "Column",
    "DryRun",
    "EarlierPasses",
    "MetricDoc",
    "documented",
    "dry_run",
    "find_doc",
    "iter_docs",
    "module_columns",
    "options_at",
]

UNITS = {
    "Shares": "a quantity of shares (or contracts)",
    "Trades": "a number of trades",
    "Orders": "a number of orders",
    "Events": "a number of order-book events",
    "XLOC": "a price or amount in the listing's local currency",
    "EUR": "an amount in euros",
    "USD": "an amount in US dollars",
    "BPS": "basis points (1/10,000)",
    "Imbalance": "a ratio (Bid − Ask) / (Bid + Ask) in [−1, 1]",
    "Ratio": "a dimensionless ratio",
    "Fraction": "a share of a whole, in [0, 1]",
    "Nanoseconds": "a duration in nanoseconds",
    "Seconds": "a duration in seconds",
    "Flag": "true or false",
    "Timestamp": "a point in time (UTC, nanoseconds)",
    "Id": "an identifier",
    "Label": "a text label",
    "Source": "the unit of the input column it aggregates (a BMLL column or an earlier pass's)",
    "Indicator": "a TA-Lib indicator: in its input's unit for averages and bands, an index "
    "for oscillators",
}
"""The units a :class:`MetricDoc` may use, with their meaning."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class MetricDoc:
    """The documentation of one family of columns.

    ``pattern`` is the default column name with ``{placeholders}`` (``Trade{side}VWAP``),
    each ranging over ``values``; ``definition`` is the formula and may use the same
    placeholders; ``unit`` is one of :data:`UNITS`.
    """

    pattern: str
    unit: str
    definition: str
    description: str
    values: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(
                f"{self.pattern}: unknown unit {self.unit!r}; use one of {sorted(UNITS)}"
            )
        unknown = set(_PLACEHOLDER.findall(self.pattern)) - set(self.values)
        if unknown:
            raise ValueError(f"{self.pattern}: no values for placeholder(s) {sorted(unknown)}")

    def match(self, name: str) -> dict[str, str] | None:
        """The placeholder values for which the default pattern gives ``name``, if any."""
        found = _regex(self.pattern, tuple((k, tuple(v)) for k, v in self.values.items()))
        hit = found.fullmatch(name)
        return hit.groupdict() if hit else None


@functools.cache
def _regex(pattern: str, values: tuple[tuple[str, tuple[str, ...]], ...]) -> re.Pattern[str]:
    choices = dict(values)
    parts, last = [], 0
    for hit in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last : hit.start()]))
        options = sorted(map(str, choices[hit.group(1)]), key=len, reverse=True)
        parts.append(f"(?P<{hit.group(1)}>{'|'.join(map(re.escape, options))})")
        last = hit.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class Column:
    """One output column: its name, documentation, placeholder values, and ``path``, where
    in the module's options it comes from (``generic_metrics[0]``; empty: the defaults)."""

    name: str
    doc: MetricDoc | None
    values: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    @property
    def definition(self) -> str:
        """The formula with this column's placeholder values."""
        if self.doc is None:
            return ""
        return self.doc.definition.format_map(_Unfilled(self.values))


class _Unfilled(dict[str, str]):
    """Placeholder values; a placeholder without one stays as it is."""

    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


KEY_DOCS = {
    "ListingId": MetricDoc(
        "ListingId", "Id", "BMLL ListingId of the row", "The listing (a security on one venue)."
    ),
    "TimeBucket": MetricDoc(
        "TimeBucket",
        "Timestamp",
        "label of the row's time bucket",
        "By default the bucket's end, buckets closed on the right: (end − width, end].",
    ),
    "MIC": MetricDoc(
        "MIC",
        "Label",
        "venue of the listing (from the universe)",
        "ISO 10383 market identifier code.",
    ),
    "Ticker": MetricDoc(
        "Ticker", "Label", "ticker of the listing (from the universe)", "As in the reference data."
    ),
    "InstrumentId": MetricDoc(
        "InstrumentId",
        "Id",
        "BMLL InstrumentId of the listing (from the universe)",
        "Shared by the listings of one instrument.",
    ),
    "MetricX": MetricDoc(
        "MetricX",
        "Label",
        "the first metric of a pair, or the row's metric (correlation)",
        "A column name of the earlier pass.",
    ),
    "EventAnchorTime": MetricDoc(
        "EventAnchorTime",
        "Timestamp",
        "the moment of the row's event anchor (external_events)",
        "From the anchor source's time column.",
    ),
    "EventContextIndex": MetricDoc(
        "EventContextIndex",
        "Id",
        "the row's place in its event (external_events)",
        "0 at the anchor, negative before it.",
    ),
    "MetricY": MetricDoc(
        "MetricY",
        "Label",
        "the second metric of a pair (correlation)",
        "A column name of the earlier pass.",
    ),
}
"""The key and passthrough columns pass outputs carry."""


def find_doc(docs: Sequence[MetricDoc], name: str) -> tuple[MetricDoc, dict[str, str]] | None:
    """The first doc of ``docs`` whose default pattern gives ``name``, with its values."""
    for doc in docs:
        values = doc.match(name)
        if values is not None:
            return doc, values
    return None


def documented(docs: Sequence[MetricDoc], names: Sequence[str], prefix: str = "") -> list[Column]:
    """``names`` (each possibly carrying ``prefix``) matched against ``docs``; a name that
    no pattern gives has no doc."""
    columns = []
    for name in names:
        bare = name.removeprefix(prefix)
        found = find_doc(docs, bare)
        columns.append(Column(name, *found) if found else Column(name, None))
    return columns


@dataclass(frozen=True)
class EarlierPasses:
    """What a module reading earlier passes gets in a dry run: their rows as empty frames
    and their bucket settings, by input name, and the bucket settings of its own pass."""

    frames: Mapping[str, pl.LazyFrame] = field(default_factory=dict)
    buckets: Mapping[str, BucketSpec] = field(default_factory=dict)
    bucket: BucketSpec = field(default_factory=BucketSpec)


def module_columns(
    analytic: type[Analytic],
    options: BaseModel,
    registry: Registry,
    earlier: EarlierPasses | None = None,
) -> list[Column]:
    """The metric columns ``analytic`` produces with ``options`` (keys excluded), in order,
    without reading data (:func:`dry_run`)."""
    declared = analytic().columns(options)
    if declared is not None:
        return declared
    keys = analytic().keys(options)
    names = [c for c in dry_run(analytic, options, registry, earlier).schema if c not in keys]
    return documented(analytic.docs, names, getattr(options, "metric_prefix", "") or "")


DRY_RUN_UNIVERSE = pl.Schema(
    {"ListingId": pl.Int64, "MIC": pl.String, "Ticker": pl.String, "InstrumentId": pl.Int64}
)


class DryRun(NamedTuple):
    """The output schema of an analytic computed on empty inputs, and of its side outputs."""

    schema: pl.Schema
    sides: dict[str, pl.Schema]


def dry_run(
    analytic: type[Analytic],
    options: BaseModel,
    registry: Registry,
    earlier: EarlierPasses | None = None,
) -> DryRun:
    """``analytic`` computed on empty inputs: its tables, and the ``earlier`` passes it reads."""
    from basalt.analytic import AnalyticContext  # basalt.analytic imports this module

    given = earlier or EarlierPasses()
    nowhere = Lake(".")  # no files are read
    tables = {
        name: registry.tables[name].scan_files(nowhere, [], bucket=given.bucket)
        for name in analytic().inputs(options)
        if name in registry.tables and name not in given.frames
    }
    universe = pl.DataFrame(schema=DRY_RUN_UNIVERSE)
    ctx = AnalyticContext(
        "dry-run",
        dt.date(2000, 1, 3),
        given.bucket,
        universe,
        {**tables, **given.frames},
        {name: given.buckets.get(name, given.bucket) for name in given.frames},
    )
    schema = analytic().compute(ctx, options).collect_schema()
    return DryRun(schema, {n: f.collect_schema() for n, f in ctx.side_outputs.items()})


def options_at(options: Mapping[str, Any], path: str) -> Any:
    """The part of a module's dumped ``options`` at ``path`` (``generic_metrics[0]``)."""
    value: Any = options
    for key, index in re.findall(r"(\w+)(?:\[(\d+)\])?", path):
        value = value[key]
        if index:
            value = value[int(index)]
    return value


def iter_docs(registry: Registry) -> Iterator[tuple[str, MetricDoc]]:
    """(module name, doc) of every registered analytic, in module order."""
    for name in sorted(registry.analytics):
        for doc in registry.analytics[name].docs:
            yield name, doc
