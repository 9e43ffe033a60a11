"""``basalt demo``: generate a sample lake, run a pipeline on it, show the result."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from basalt.errors import RunFailedError

__all__ = ["demo"]

SHOWN = (
    "ListingId",
    "TimeBucket",
    "MIC",
    "Ticker",
    "TradeTotalVolume",
    "TradeTotalVWAP",
    "TradeTotalOpen",
    "TradeTotalClose",
    "TradeBidVolume",
    "TradeAskVolume",
)


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the lake, pipeline and output (default: a temporary directory).",
)
def demo(directory: Path | None) -> None:
    """Run the demo pipeline end to end on generated sample data."""
    import polars as pl

    from basalt.cli.progress import ProgressBars, format_summary
    from basalt.demo import prepare_demo
    from basalt.runner import run_pipeline

    workdir = directory or Path(tempfile.mkdtemp(prefix="basalt-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    click.echo(f"writing a sample lake and the demo pipeline to {workdir}")
    pipeline = prepare_demo(workdir)
    summary = run_pipeline(pipeline, observer=ProgressBars())
    click.echo(format_summary(summary))
    if not summary.ok:
        raise RunFailedError("the demo run failed")
    for result in summary.passes:
        frame = pl.read_parquet(result.outputs)
        with pl.Config(tbl_rows=12, tbl_cols=len(SHOWN), tbl_width_chars=160):
            click.echo(f"\n{result.name}: {frame.height} rows × {frame.width} columns")
            click.echo(frame.select(c for c in SHOWN if c in frame.columns).head(12))
