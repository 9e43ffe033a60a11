"""``basalt analytics``: the columns a pipeline produces and what each one means."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from basalt.errors import ConfigError

if TYPE_CHECKING:
    from basalt.catalog import CatalogEntry
    from basalt.config.models import AnalyticsConfig

__all__ = ["analytics"]

PIPELINE_FILE = click.Path(exists=True, dir_okay=False)
PIPELINE_OPTION = click.option(
    "--pipeline", "path", type=PIPELINE_FILE, help="Pipeline file whose columns to use."
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def analytics() -> None:
    """List and explain output columns (no data is read)."""


def _config(path: str | None) -> AnalyticsConfig | None:
    from basalt.config.loading import load_pipeline

    return load_pipeline(path).config if path else None


def _echo_json(entries: list[CatalogEntry]) -> None:
    click.echo(json.dumps([e.as_json() for e in entries], indent=2, default=str))


@analytics.command("list")
@PIPELINE_OPTION
@click.option("--module", "modules", multiple=True, help="Only these modules (repeatable).")
@JSON_OPTION
def list_(path: str | None, modules: tuple[str, ...], as_json: bool) -> None:
    """List the columns PIPELINE's passes produce; without --pipeline, every documented
    column pattern of the installed analytics."""
    from basalt.catalog import CatalogEntry, pipeline_columns
    from basalt.metrics import Column, iter_docs
    from basalt.plugins import get_registry

    registry = get_registry()
    unknown = sorted(set(modules) - set(registry.analytics))
    if unknown:
        installed = ", ".join(sorted(registry.analytics))
        raise ConfigError(f"unknown module(s) {', '.join(unknown)}; installed: {installed}")
    config = _config(path)
    if config is not None:
        entries = pipeline_columns(config, registry)
    else:
        entries = [
            CatalogEntry(Column(doc.pattern, doc), module, config_path=module)
            for module, doc in iter_docs(registry)
        ]
    entries = [e for e in entries if not modules or e.module in modules]
    if as_json:
        _echo_json(entries)
        return
    width = max((len(e.column.name) for e in entries), default=0)
    current = None
    for entry in entries:
        if config is not None and entry.pass_name != current:
            current = entry.pass_name
            click.echo(f"pass {current}:")
        unit = entry.column.doc.unit if entry.column.doc else "?"
        definition = entry.column.definition or "(undocumented)"
        click.echo(f"  {entry.column.name:<{width}}  {unit:<11} {entry.module:<12} {definition}")


@analytics.command()
@click.argument("column")
@PIPELINE_OPTION
@JSON_OPTION
def explain(column: str, path: str | None, as_json: bool) -> None:
    """Explain COLUMN: its formula, unit, module, configuration path and options."""
    from basalt.catalog import explain_column
    from basalt.metrics import UNITS
    from basalt.plugins import get_registry

    config = _config(path)
    entries = explain_column(column, get_registry(), config)
    if not entries:
        where = f"the pipeline {path}" if path else "any installed analytic's default names"
        raise ConfigError(
            f"no column {column!r} in {where}; `basalt analytics list"
            f"{' --pipeline ' + path if path else ''}` shows the columns"
        )
    if as_json:
        _echo_json(entries)
        return
    for entry in entries:
        doc = entry.column.doc
        click.echo(entry.column.name)
        if doc is None:
            click.echo(f"  module:      {entry.module} (undocumented)")
            continue
        click.echo(f"  formula:     {entry.column.definition}")
        click.echo(f"  unit:        {doc.unit} ({UNITS[doc.unit]})")
        click.echo(f"  module:      {entry.module}")
        if entry.pass_name:
            click.echo(f"  pass:        {entry.pass_name}")
        click.echo(f"  config path: {entry.config_path}")
        if entry.options is not None:
            defaults = "" if entry.pass_name else " (the module's defaults)"
            click.echo(f"  options:     {json.dumps(entry.options, default=str)}{defaults}")
        if doc.description:
            click.echo(f"  description: {doc.description}")


@analytics.command()
def reference() -> None:
    """Print the column reference (Markdown) of the installed analytics."""
    from basalt.catalog import reference_markdown
    from basalt.plugins import get_registry

    click.echo(reference_markdown(get_registry()), nl=False)
