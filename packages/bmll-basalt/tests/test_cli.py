"""The basalt command line: commands, output and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
from click.testing import Result

from basalt.cli.progress import ProgressBars
from basalt.lake import Lake
from basalt.tables import TradesTable

Invoke = Callable[..., Result]


def write_pipeline(directory: Path, lake: Path, **extra: str) -> Path:
    lines = [
        "START_DATE: '2024-03-04'",
        f"DATA_ROOT: '{lake}'",
        "PASSES:",
        "  - name: p1",
        "    modules: [trade]",
        "OUTPUT_TARGET:",
        f"  path_template: '{directory}/out/{{pass}}.parquet'",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    path = directory / "pipeline.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_lists_kernel_commands(basalt_cli: Invoke) -> None:
    result = basalt_cli("--help")
    assert result.exit_code == 0
    for command in ("pipeline", "plugins", "sample-data", "import", "demo"):
        assert command in result.output


def test_pipeline_run_prints_a_summary(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    result = basalt_cli(
        "pipeline", "run", "--pipeline", str(write_pipeline(tmp_path, small_lake)), "--no-progress"
    )
    assert result.exit_code == 0, result.output
    assert "p1" in result.output and f"{tmp_path}/out/p1.parquet" in result.output
    assert "ok in" in result.output
    assert pl.read_parquet(tmp_path / "out" / "p1.parquet").height == 3


def test_date_flags_override_the_file(basalt_cli: Invoke, small_lake: Path, tmp_path: Path) -> None:
    path = str(write_pipeline(tmp_path, small_lake))
    result = basalt_cli("pipeline", "run", "--pipeline", path, "--date", "2024-03-05")
    assert result.exit_code == 2, result.output  # the lake has 2024-03-04 only
    expected = "universe 'all' has no listing with data in the lake on any day from 2024-03-05"
    assert expected in result.output
    assert not (tmp_path / "out").exists()
    bad = basalt_cli(
        "pipeline", "run", "--pipeline", path, "--date", "2024-03-05", "--start-date", "2024-03-04"
    )
    assert bad.exit_code == 2 and "either --date or --start-date" in bad.output
    nodate = basalt_cli("pipeline", "run", "--pipeline", path, "--date", "March")
    assert nodate.exit_code == 2 and "'March' is not a date" in nodate.output


def test_invalid_config_exits_2_naming_the_problem(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    path = write_pipeline(tmp_path, small_lake, UNIVERSE="'isin=X'")
    result = basalt_cli("pipeline", "run", "--pipeline", str(path))
    assert result.exit_code == 2
    assert "error: invalid pipeline configuration" in result.output
    assert "UNIVERSE: unknown universe 'isin'" in result.output
    assert "Traceback" not in result.output


def test_missing_data_root_exits_2(basalt_cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("START_DATE: '2024-03-04'\nPASSES: [{name: p1, modules: [trade]}]\n")
    result = basalt_cli("pipeline", "run", "--pipeline", str(path), env={"BASALT_DATA_ROOT": ""})
    assert result.exit_code == 2 and "no data root" in result.output


def test_failed_run_exits_1_and_lists_failures(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    Path(TradesTable.path(Lake(str(small_lake)), "XPAR", dt.date(2024, 3, 4))).write_bytes(b"junk")
    result = basalt_cli("pipeline", "run", "--pipeline", str(write_pipeline(tmp_path, small_lake)))
    assert result.exit_code == 1
    assert "FAILED pass p1, 2024-03-04, planning (partition 2024-03-04_2024-03-04)" in result.output
    assert "cannot read parquet" in result.output


def test_unknown_command_and_missing_file_exit_2(basalt_cli: Invoke, tmp_path: Path) -> None:
    assert basalt_cli("frobnicate").exit_code == 2
    result = basalt_cli("pipeline", "run", "--pipeline", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_config_schema_and_effective_config(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    schema = json.loads(basalt_cli("pipeline", "config", "--schema").output)
    assert "trade" in schema["$defs"]["PassConfig"]["properties"]
    effective = basalt_cli("pipeline", "config", str(write_pipeline(tmp_path, small_lake)))
    assert effective.exit_code == 0
    assert (
        "  trade:\n    metric_prefix: ''\n    classifications:\n    - LIT_CONTINUOUS"
        in effective.output
    )
    assert basalt_cli("pipeline", "config").exit_code == 2


def test_plugins_list(basalt_cli: Invoke) -> None:
    listing = json.loads(basalt_cli("plugins", "list", "--json").output)
    kernel = next(p for p in listing["plugins"] if p["name"] == "basalt")
    assert kernel["distribution"] == "bmll-basalt" and kernel["version"] == "0.1.0"
    assert kernel["registers"]["analytics"] == [
        "cbbo_analytics",
        "correlation",
        "execution",
        "external_events",
        "generic",
        "l2",
        "l2tw",
        "l3",
        "observed_events",
        "reaggregate",
        "retail_imbalance",
        "trade",
    ]
    text = basalt_cli("plugins", "list").output
    assert (
        "basalt  (bmll-basalt 0.1.0)" in text and "analytics: cbbo_analytics, correlation" in text
    )


def test_a_closed_output_pipe_ends_the_command_quietly() -> None:
    basalt = Path(sys.executable).with_name("basalt")
    listing = subprocess.Popen(
        [str(basalt), "analytics", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listing.stdout is not None and listing.stdout.readline().strip()
    listing.stdout.close()  # as `basalt analytics list | head -1` does
    _, errors = listing.communicate()
    assert (listing.returncode, errors) == (0, "")


def test_console_script_maps_errors_to_exit_codes(tmp_path: Path) -> None:
    basalt = Path(sys.executable).with_name("basalt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("START_DATE: nope\nPASSES: []\n")
    result = subprocess.run(
        [str(basalt), "pipeline", "run", "--pipeline", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid pipeline configuration")
    assert "Traceback" not in result.stderr


def test_help_imports_no_heavy_dependency() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from basalt.cli.main import cli; "
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0; "
        "print(sorted(m for m in ('polars', 'pyarrow', 'pydantic', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_progress_can_be_forced(basalt_cli: Invoke, small_lake: Path, tmp_path: Path) -> None:
    path = str(write_pipeline(tmp_path, small_lake))
    shown = basalt_cli("pipeline", "run", "--pipeline", path, "--progress")
    assert shown.exit_code == 0 and "pass p1: 1 day(s)" in shown.output
    quiet = basalt_cli("pipeline", "run", "--pipeline", path, "--no-progress")
    assert "2024-03-04_2024-03-04  " not in quiet.output and "p1 2024" not in quiet.output


def test_execution_flags(basalt_cli: Invoke, small_lake: Path, tmp_path: Path) -> None:
    path = str(write_pipeline(tmp_path, small_lake))
    first = basalt_cli("pipeline", "run", "--pipeline", path, "--executor", "serial")
    assert first.exit_code == 0 and "1 written, 0 skipped" in first.output
    again = basalt_cli("pipeline", "run", "--pipeline", path, "--resume", "--workers", "1")
    assert again.exit_code == 0 and "0 written, 1 skipped" in again.output
    bad = basalt_cli("pipeline", "run", "--pipeline", path, "--executor", "cluster")
    assert bad.exit_code == 2 and "--executor: unknown executor 'cluster'; allowed:" in bad.output
    zero = basalt_cli("pipeline", "run", "--pipeline", path, "--workers", "0")
    assert zero.exit_code == 2 and "--workers" in zero.output
    flags = ("--executor", "serial", "--threads-per-worker")
    threaded = basalt_cli("pipeline", "run", "--pipeline", path, *flags, "1")
    assert threaded.exit_code == 0 and "1 written" in threaded.output
    no_threads = basalt_cli("pipeline", "run", "--pipeline", path, *flags, "0")
    assert no_threads.exit_code == 2 and "--threads-per-worker" in no_threads.output


def test_a_pass_bar_counts_days_across_overlapping_partitions() -> None:
    bars = ProgressBars(enabled=True)
    bars.pass_started("p1", {"2024-03-04_2024-03-08": 5, "2024-03-11_2024-03-15": 5})
    assert (bars._bar.length, bars._bar.label) == (1000, "pass p1: 10 day(s)")
    bars.partition_started("p1", "2024-03-04_2024-03-08", 2)
    bars.task_finished("p1", "2024-03-04_2024-03-08", "pass p1, 2024-03-04, batch 0", True)
    assert bars._bar.pos == 250  # half of the first partition's five days
    bars.partition_started("p1", "2024-03-11_2024-03-15", 1)  # before the first one ends
    assert bars._bar.label == "pass p1: 10 day(s)"  # the label stays
    bars.task_finished("p1", "2024-03-04_2024-03-08", "pass p1, 2024-03-08, batch 0", True)
    bars.partition_finished("p1", "2024-03-04_2024-03-08", "written")
    assert bars._bar.pos == 500
    bars.partition_finished("p1", "2024-03-11_2024-03-15", "failed")  # its days all at once
    assert bars._bar is None  # every day is done


def test_a_bad_output_is_a_usage_error_before_any_data_is_read(
    basalt_cli: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "START_DATE: '2024-03-04'\n"
        f"DATA_ROOT: '{tmp_path / 'no-lake'}'\n"
        "PASSES: [{name: p1, modules: [trade]}]\n"
        "OUTPUT_TARGET: {type: sql, sql_table: metrics}\n"
    )
    result = basalt_cli("pipeline", "run", "--pipeline", str(path), "--no-progress")
    assert result.exit_code == 2
    assert "OUTPUT_TARGET: the sql output needs sql_connection" in result.output
