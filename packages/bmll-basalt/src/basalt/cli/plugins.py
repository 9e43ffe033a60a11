"""``basalt plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

import json

import click

from basalt.plugins import Registry

__all__ = ["plugins"]


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List plugins: name, distribution, version and what each registers."""
    registry = Registry.create(strict=False)
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "registers": registry.provided_by(info.name),
        }
        for info in registry.plugins.values()
    ]
    broken = [
        {"name": b.name, "distribution": b.distribution, "error": b.error} for b in registry.broken
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "broken": broken}, indent=2))
        return
    for info in registry.plugins.values():
        click.echo(f"{info.name}  ({info.distribution} {info.version})")
        for kind, names in registry.provided_by(info.name).items():
            click.echo(f"    {kind}: {', '.join(names)}")
    for b in broken:
        click.echo(f"BROKEN {b['name']} ({b['distribution']}): {b['error']}", err=True)
