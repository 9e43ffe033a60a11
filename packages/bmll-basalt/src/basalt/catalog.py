"""The metric catalogue: the columns a pipeline produces, what one column means, and the
analytics reference — all from the analytics' docs (:mod:`basalt.metrics`), without data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from basalt.analytic import PASSTHROUGH
from basalt.config.models import AnalyticsConfig
from basalt.metrics import (
    DRY_RUN_UNIVERSE,
    KEY_DOCS,
    UNITS,
    Column,
    EarlierPasses,
    MetricDoc,
    dry_run,
    find_doc,
    module_columns,
    options_at,
)
from basalt.passes import module_sources
from basalt.plugins import Registry

__all__ = [
    "CatalogEntry",
    "explain_column",
    "pass_schemas",
    "pipeline_columns",
    "reference_markdown",
]

KEYS_MODULE = "keys"


@dataclass(frozen=True)
class CatalogEntry:
    """A column in context: the pass and module producing it, the configuration path of the
    options it comes from, and those options."""

    column: Column
    module: str
    pass_name: str = ""
    config_path: str = ""
    options: Any = None

    def as_json(self) -> dict[str, Any]:
        doc = self.column.doc
        return {
            "column": self.column.name,
            "pass": self.pass_name or None,
            "module": self.module,
            "unit": doc.unit if doc else None,
            "definition": self.column.definition or None,
            "description": doc.description if doc else None,
            "pattern": doc.pattern if doc else None,
            "config_path": self.config_path or None,
            "options": self.options,
        }


def _keys(pass_name: str, keys: Sequence[str]) -> Iterator[CatalogEntry]:
    names = [*keys, *(PASSTHROUGH if "ListingId" in keys else ())]
    for name in dict.fromkeys(names):
        doc = KEY_DOCS.get(name)
        yield CatalogEntry(Column(name, doc), KEYS_MODULE, pass_name)


def pipeline_columns(config: AnalyticsConfig, registry: Registry) -> list[CatalogEntry]:
    """Every column of every pass of ``config``: keys first, then each module's metrics. A
    pass reading an earlier one sees that pass's columns (found on empty inputs)."""
    return _catalog(config, registry)[0]


def pass_schemas(config: AnalyticsConfig, registry: Registry) -> dict[str, pl.Schema]:
    """The output schema of every pass of ``config``, by pass name, found without data (the
    modules computed on empty inputs)."""
    return _catalog(config, registry)[1]


def _catalog(
    config: AnalyticsConfig, registry: Registry
) -> tuple[list[CatalogEntry], dict[str, pl.Schema]]:
    entries: list[CatalogEntry] = []
    schemas: dict[str, pl.Schema] = {}
    produced: dict[str, dict[str, Column]] = {}  # pass → its columns, to explain later passes
    bucket_of = {p.name: p.bucket(config.TIME_BUCKET_SECONDS) for p in config.PASSES}
    for index, pass_config in enumerate(config.PASSES):
        metrics: list[CatalogEntry] = []
        schema: dict[str, pl.DataType] = {}
        sides: dict[str, pl.Schema] = {}
        keys: tuple[str, ...] = ()
        for module in pass_config.modules:
            analytic = registry.analytics[module]
            options = pass_config.module_config(module)
            sources = module_sources(pass_config, module, registry)
            read = {n: s for n, s in sources.items() if s in schemas}
            earlier = EarlierPasses(
                {n: pl.LazyFrame(schema=schemas[s]) for n, s in read.items()},
                {n: bucket_of[s.partition(":")[0]] for n, s in read.items()},
                bucket_of[pass_config.name],
            )
            dumped = options.model_dump(mode="json")
            base = f"PASSES[{index}].{module}"
            prefix = getattr(options, "metric_prefix", "") or ""
            for found in module_columns(analytic, options, registry, earlier):
                column = found
                if column.doc is None:  # a column passed on from an earlier pass keeps its doc
                    bare = column.name.removeprefix(prefix)
                    found_before = (
                        produced[s].get(bare) for s in sources.values() if s in produced
                    )
                    origin = next((c for c in found_before if c is not None), None)
                    if origin is not None:
                        column = Column(column.name, origin.doc, origin.values, column.path)
                path = f"{base}.{column.path}" if column.path else base
                at = options_at(dumped, column.path) if column.path else dumped
                metrics.append(CatalogEntry(column, module, pass_config.name, path, at))
            ran = dry_run(analytic, options, registry, earlier)
            schema.update(ran.schema)
            sides.update({f"{pass_config.name}:{n}": side for n, side in ran.sides.items()})
            keys = analytic().keys(options)
        entries += [*_keys(pass_config.name, keys), *metrics]
        produced[pass_config.name] = {e.column.name: e.column for e in metrics}
        passthrough = DRY_RUN_UNIVERSE if "ListingId" in keys else {}
        schemas[pass_config.name] = pl.Schema(
            {**{k: schema[k] for k in keys}, **passthrough, **schema}
        )
        schemas |= sides
    return entries, schemas


def explain_column(
    name: str, registry: Registry, config: AnalyticsConfig | None = None
) -> list[CatalogEntry]:
    """What ``name`` is: in ``config``'s passes when given (every pass producing it), else
    every documented pattern whose default naming gives ``name``, with its module's default
    options."""
    if config is not None:
        return [e for e in pipeline_columns(config, registry) if e.column.name == name]
    found = []
    for module, docs in [(KEYS_MODULE, list(KEY_DOCS.values())), *_module_docs(registry)]:
        hit = find_doc(docs, name)
        if hit is not None:
            defaults = (
                registry.analytics[module].config_model().model_dump(mode="json")
                if module in registry.analytics
                else None
            )
            found.append(CatalogEntry(Column(name, *hit), module, "", module, defaults))
    return found


def _module_docs(registry: Registry) -> list[tuple[str, list[MetricDoc]]]:
    return [(name, list(registry.analytics[name].docs)) for name in sorted(registry.analytics)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _values(doc: MetricDoc) -> str:
    listed = {k: v for k, v in doc.values.items() if v}
    return "; ".join(f"`{{{k}}}`: {', '.join(map(str, v))}" for k, v in listed.items())


def _table(docs: list[MetricDoc]) -> list[str]:
    lines = ["| column | unit | definition | notes |", "|---|---|---|---|"]
    for doc in docs:
        notes = " ".join(filter(None, [doc.description, _values(doc)]))
        lines.append(f"| `{doc.pattern}` | {doc.unit} | {_cell(doc.definition)} | {_cell(notes)} |")
    return lines


def reference_markdown(registry: Registry) -> str:
    """The column reference page: every registered module's documented columns."""
    lines = [
        "# Column reference",
        "",
        "Every column the registered analytics can produce, generated from their "
        "documentation by `basalt analytics reference`. Names are the defaults: "
        "`{placeholders}` take the listed values, and a module's `metric_prefix` or a "
        "family's `output_name_pattern` change them. `basalt analytics explain COLUMN "
        "--pipeline FILE` explains a column as a given pipeline names it.",
        "",
        "## Keys",
        "",
        *_table(list(KEY_DOCS.values())),
    ]
    for name, docs in _module_docs(registry):
        summary = registry.analytics[name].summary()
        lines += ["", f"## `{name}`", "", summary, "", *_table(docs)]
    lines += ["", "## Units", "", "| unit | meaning |", "|---|---|"]
    lines += [f"| {unit} | {meaning} |" for unit, meaning in UNITS.items()]
    return "\n".join(lines) + "\n"
