"""``basalt pipeline``: run, validate and describe pipeline files.

Heavy modules are imported inside the commands so that ``basalt --help`` stays fast."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import click

from basalt.errors import RunFailedError

__all__ = ["pipeline"]

PIPELINE_FILE = click.Path(exists=True, dir_okay=False)
FLAGS = {
    "START_DATE": "--start-date",
    "END_DATE": "--end-date",
    "DATA_ROOT": "--data-root",
    "UNIVERSE": "--universe",
    "EXECUTOR": "--executor",
    "NUM_WORKERS": "--workers",
    "THREADS_PER_WORKER": "--threads-per-worker",
}
"""The option of ``pipeline run`` setting each key, named in validation errors."""


@click.group()
def pipeline() -> None:
    """Run and inspect pipelines (YAML, JSON or Python files)."""


def _date(_: click.Context, __: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _overrides(
    date: dt.date | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    data_root: str | None,
    universe: str | None,
) -> dict[str, Any]:
    if date and (start_date or end_date):
        raise click.UsageError("use either --date or --start-date/--end-date")
    start = date or start_date
    return {
        "START_DATE": start,
        "END_DATE": date or end_date or start,
        "DATA_ROOT": data_root,
        "UNIVERSE": universe,
    }


@pipeline.command()
@click.option("--pipeline", "path", type=PIPELINE_FILE, required=True, help="Pipeline file.")
@click.option("--date", callback=_date, help="Run a single day (YYYY-MM-DD).")
@click.option("--start-date", callback=_date, help="First day (overrides START_DATE).")
@click.option("--end-date", callback=_date, help="Last day (overrides END_DATE).")
@click.option("--data-root", envvar="BASALT_DATA_ROOT", help="Lake root (overrides DATA_ROOT).")
@click.option("--universe", help="Universe spec, e.g. mic=XLON (overrides UNIVERSE).")
@click.option("--executor", help="Where tasks run: local, dask, serial (overrides EXECUTOR).")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel workers (NUM_WORKERS).")
@click.option(
    "--threads-per-worker",
    type=click.IntRange(min=1),
    help="polars threads of each worker (THREADS_PER_WORKER).",
)
@click.option("--fail-fast", is_flag=True, default=None, help="Stop at the first failed task.")
@click.option(
    "--resume",
    is_flag=True,
    default=None,
    help="Skip partitions whose every day was written for the universe (RESUME).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A progress bar per pass, counting days (default: on a TTY).",
)
def run(
    path: str,
    date: dt.date | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    data_root: str | None,
    universe: str | None,
    executor: str | None,
    workers: int | None,
    threads_per_worker: int | None,
    fail_fast: bool | None,
    resume: bool | None,
    progress: bool | None,
) -> None:
    """Run a pipeline and print what each pass read and wrote.

    Exit code 0 when every partition was written (or kept), 1 when some failed (they are
    listed), 2 for an invalid pipeline or options, a data root that does not exist, a
    universe without data, or an output that cannot be written; 130/143 when stopped by
    Ctrl-C/SIGTERM.
    """
    from basalt.cli.progress import ProgressBars, format_summary
    from basalt.config.loading import load_pipeline
    from basalt.logs import configure_logging
    from basalt.runner import run_pipeline

    overrides = {
        **_overrides(date, start_date, end_date, data_root, universe),
        "EXECUTOR": executor,
        "NUM_WORKERS": workers,
        "THREADS_PER_WORKER": threads_per_worker,
        "FAIL_FAST": fail_fast,
        "RESUME": resume,
    }
    flags = {**FLAGS, **({"START_DATE": "--date", "END_DATE": "--date"} if date else {})}
    loaded = load_pipeline(path, overrides, flags=flags)
    root = click.get_current_context().find_root().params
    if "LOGGING_LEVEL" in loaded.config.model_fields_set and not (root["verbose"] or root["debug"]):
        configure_logging(logging.getLevelName(loaded.config.LOGGING_LEVEL))
    summary = run_pipeline(loaded, observer=ProgressBars(progress))
    click.echo(format_summary(summary))
    if not summary.ok:
        raise RunFailedError(f"{len(summary.failures)} failure(s), listed above")


@pipeline.command()
@click.argument("path", type=PIPELINE_FILE, required=False)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of pipeline files.")
def config(path: str | None, schema: bool) -> None:
    """Print the JSON Schema (--schema), or the validated configuration of PATH."""
    import yaml

    from basalt.config.build import config_model
    from basalt.config.loading import dump_config, load_pipeline
    from basalt.plugins import get_registry

    if schema:
        click.echo(json.dumps(config_model(get_registry()).model_json_schema(), indent=2))
        return
    if path is None:
        raise click.UsageError("give a pipeline file, or --schema")
    data = dump_config(load_pipeline(path).config)  # the options of the modules used only
    click.echo(yaml.safe_dump(data, sort_keys=False))
