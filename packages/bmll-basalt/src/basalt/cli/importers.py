"""``basalt import``: turn other market-data formats into a BMLL-shaped lake."""

from __future__ import annotations

from pathlib import Path

import click

from basalt.errors import ConfigError
from basalt.importers.lobster import import_lobster
from basalt.importers.lobster_files import parse_file_name

__all__ = ["import_group"]


def _check_names(
    ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]
) -> tuple[Path, ...]:
    for path in value:
        try:
            parse_file_name(path)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


@click.group(name="import")
def import_group() -> None:
    """Import market data from other formats into a BMLL-shaped lake."""


@import_group.command(name="lobster")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    callback=_check_names,
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
    summary = import_lobster(files, root, mic=mic)
    click.echo(f"wrote {len(summary.files)} file(s) under {root}")
    for path in summary.files:
        click.echo(f"  {path}")
    for table, rows in summary.rows.items():
        click.echo(f"{table:<12} {rows:>10,} rows")
