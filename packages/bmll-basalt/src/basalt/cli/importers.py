"""``basalt import``: turn other market-data formats into a BMLL-shaped lake."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["import_group"]


@click.group(name="import")
def import_group() -> None:
    """Import market data from other formats into a BMLL-shaped lake."""


@import_group.command(name="lobster")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--root",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Lake root directory (created if needed).",
)
@click.option("--mic", default="XNAS", show_default=True, help="MIC the listings trade on.")
def lobster(files: tuple[Path, ...], root: Path, mic: str) -> None:
    """Import LOBSTER message (and orderbook) FILES into the lake at --root.

    Files are named TICKER_YYYY-MM-DD_StartMs_EndMs_{message|orderbook}_LEVEL[_...].csv;
    a message file without its orderbook file yields every table but l2.
    """
    from basalt.importers.lobster import import_lobster

    summary = import_lobster(files, root, mic=mic)
    click.echo(f"wrote {len(summary.files)} file(s) under {root}")
    for path in summary.files:
        click.echo(f"  {path}")
    for table, rows in summary.rows.items():
        click.echo(f"{table:<12} {rows:>10,} rows")
