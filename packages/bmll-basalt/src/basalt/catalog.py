"""The metric catalogue: the columns a pipeline produces, what one column means, and the
analytics reference — all from the analytics' docs (:mod:`basalt.metrics`), without data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from basalt.config.models import AnalyticsConfig
from basalt.metrics import KEY_DOCS, UNITS, Column, MetricDoc, find_doc, module_columns, options_at
from basalt.plugins import Registry

__all__ = ["CatalogEntry", "explain_column", "pipeline_columns", "reference_markdown"]

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


def _keys(pass_name: str) -> Iterator[CatalogEntry]:
    for name, doc in KEY_DOCS.items():
        yield CatalogEntry(Column(name, doc), KEYS_MODULE, pass_name)


def pipeline_columns(config: AnalyticsConfig, registry: Registry) -> list[CatalogEntry]:
    """Every column of every pass of ``config``: keys first, then each module's metrics."""
    entries: list[CatalogEntry] = []
    for index, pass_config in enumerate(config.PASSES):
        entries += _keys(pass_config.name)
        for module in pass_config.modules:
            options = pass_config.module_config(module)
            dumped = options.model_dump(mode="json")
            base = f"PASSES[{index}].{module}"
            for column in module_columns(registry.analytics[module], options, registry):
                path = f"{base}.{column.path}" if column.path else base
                at = options_at(dumped, column.path) if column.path else dumped
                entries.append(CatalogEntry(column, module, pass_config.name, path, at))
    return entries


def explain_column(
    name: str, registry: Registry, config: AnalyticsConfig | None = None
) -> list[CatalogEntry]:
    """What ``name`` is: in ``config``'s passes when given (every pass producing it), else
    every documented pattern whose default naming gives ``name``."""
    if config is not None:
        return [e for e in pipeline_columns(config, registry) if e.column.name == name]
    found = []
    for module, docs in [(KEYS_MODULE, list(KEY_DOCS.values())), *_module_docs(registry)]:
        hit = find_doc(docs, name)
        if hit is not None:
            found.append(CatalogEntry(Column(name, *hit), module, config_path=module))
    return found


def _module_docs(registry: Registry) -> list[tuple[str, list[MetricDoc]]]:
    return [(name, list(registry.analytics[name].docs)) for name in sorted(registry.analytics)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _values(doc: MetricDoc) -> str:
    return "; ".join(f"`{{{k}}}`: {', '.join(map(str, v))}" for k, v in doc.values.items())


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
