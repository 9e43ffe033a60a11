"""``basalt sample-data``: write a deterministic synthetic BMLL lake."""

from __future__ import annotations

import datetime as dt
import sys
import time

import click

__all__ = ["sample_data"]


def _mics(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    return [m.strip().upper() for m in value.split(",") if m.strip()]


@click.command("sample-data")
@click.option(
    "--root",
    required=True,
    type=click.Path(file_okay=False),
    help="Lake root directory to write into.",
)
@click.option("--start-date", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option(
    "--end-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day (inclusive); defaults to --start-date.",
)
@click.option(
    "--mics",
    required=True,
    callback=_mics,
    help="Comma-separated MICs (XLON, XPAR, XETR, XAMS, XNAS, XNYS).",
)
@click.option("--listings", required=True, type=int, help="Listings per MIC.")
@click.option(
    "--trades-per-listing",
    default=2000,
    show_default=True,
    type=int,
    help="Approximate trades per listing and day.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--include-weekends", is_flag=True, help="Also generate Saturdays and Sundays.")
def sample_data(
    root: str,
    start_date: dt.datetime,
    end_date: dt.datetime | None,
    mics: list[str],
    listings: int,
    trades_per_listing: int,
    seed: int,
    include_weekends: bool,
) -> None:
    """Write a deterministic, realistic synthetic lake (trades, L2, L3, market state, reference)
    in the BMLL layout and schemas. The same options always produce the same files."""
    from basalt.errors import ConfigError
    from basalt.sampledata import generate_lake
    from basalt.sampledata.generate import trading_days

    first, last = start_date.date(), (end_date or start_date).date()
    days = trading_days(first, last, exclude_weekends=not include_weekends)
    if first <= last and not days:
        raise ConfigError(
            f"{first} to {last} holds only Saturdays and Sundays, which are skipped: nothing "
            "to write; add --include-weekends to generate them"
        )
    started = time.perf_counter()
    bar = click.progressbar(
        length=len(days) * len(mics),
        label="writing days × MICs",
        file=sys.stderr,
        show_pos=True,
        hidden=not sys.stderr.isatty(),
    )
    with bar:
        summary = generate_lake(
            root,
            first,
            last,
            mics,
            listings,
            trades_per_listing=trades_per_listing,
            seed=seed,
            exclude_weekends=not include_weekends,
            progress=lambda day, mic: bar.update(1),
        )
    elapsed = time.perf_counter() - started
    click.echo(
        f"Wrote {len(summary.files)} files for {len(summary.days)} day(s) × "
        f"{len(summary.mics)} MIC(s) under {root} in {elapsed:.2f}s "
        f"({summary.total_rows:,} rows)"
    )
    for table, count in summary.rows.items():
        click.echo(f"  {table:<12} {count:>12,} rows")
