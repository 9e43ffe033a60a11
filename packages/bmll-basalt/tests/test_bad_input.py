"""Bad input reaches a clear message and the right exit code, never a wrong branch: hostile
YAML, absurd numbers, unsafe placeholder values, failing user code, unwritable places; and
what the operator sees: flags named as flags, logs at -v/-vv, one line per failure."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result

from basalt.executors.local import OVERSUBSCRIBED, LocalExecutor

Invoke = Callable[..., Result]
PASS = "PASSES: [{name: p1, modules: [trade]}]\n"


def pipeline(directory: Path, lake: Path | str, *lines: str, passes: str = PASS) -> str:
    text = (
        "START_DATE: '2024-03-04'\n"
        f"DATA_ROOT: '{lake}'\n"
        "EXECUTOR: serial\n"
        f"OUTPUT_TARGET: {{path_template: '{directory}/out/{{pass}}_{{start_date}}.parquet'}}\n"
        + passes
        + "".join(f"{line}\n" for line in lines)
    )
    path = directory / "pipeline.yaml"
    path.write_text(text)
    return str(path)


def copied_by_p2(first: str) -> str:
    """PASSES: a trade pass named ``first``, and p2 reading it."""
    return (
        f"PASSES: [{{name: {first}, modules: [trade]}},"
        f" {{name: p2, modules: [generic], generic: {{source_pass: {first}}}}}]\n"
    )


def run(basalt_cli: Invoke, path: str, *flags: str) -> Result:
    return basalt_cli("pipeline", "run", "--pipeline", path, "--no-progress", *flags)


def test_a_yaml_alias_bomb_is_refused_at_once(basalt_cli: Invoke, tmp_path: Path) -> None:
    levels = [f"a0: &a0 [{', '.join(['x'] * 9)}]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)
    ]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    assert len(path.read_bytes()) < 700  # 9**10 values once expanded
    started = time.monotonic()
    result = run(basalt_cli, str(path))
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert "holds more than 100,000 values once its YAML aliases are expanded" in result.output
    assert len(result.output) < 300


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_a_usage_error(basalt_cli: Invoke, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = run(basalt_cli, str(path))
    assert result.exit_code == 2 and "nested too deeply to be a pipeline" in result.output


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"NUM_WORKERS: {10**35}", "NUM_WORKERS: Input should be less than or equal to 100000"),
        ("NUM_WORKERS: 1.0e+35", "NUM_WORKERS: Unable to parse input string as an integer"),
        ("TIME_BUCKET_SECONDS: 1.0e+23", "TIME_BUCKET_SECONDS: Input should be less than or"),
        (f"THREADS_PER_WORKER: {10**35}", "THREADS_PER_WORKER: Input should be less than or"),
        ("IO_RETRIES: 1000000", "IO_RETRIES: Input should be less than or equal to 100"),
        ("LOGGING_LEVEL: loud", "LOGGING_LEVEL: 'LOUD' is not allowed"),
        ("TIME_BUCKET_SECONDS: 7", "TIME_BUCKET_SECONDS: a bucket of 7 s does not divide a day"),
        ("TIME_BUCKET_SECONDS: .nan", "TIME_BUCKET_SECONDS: Input should be a finite number"),
    ],
)
def test_huge_numbers_are_validation_errors(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path, line: str, expected: str
) -> None:
    result = run(basalt_cli, pipeline(tmp_path, small_lake, line))
    assert result.exit_code == 2 and expected in result.output, result.output


def test_a_bucket_of_more_than_a_day_is_a_validation_error(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    passes = "PASSES: [{name: p1, modules: [trade], time_bucket_seconds: 1.0e+23}]\n"
    result = run(basalt_cli, pipeline(tmp_path, small_lake, passes=passes))
    assert result.exit_code == 2
    assert "PASSES[0].time_bucket_seconds: Input should be less than or equal to 86400" in (
        result.output
    )


def test_workers_far_above_the_cpus_are_capped(caplog: pytest.LogCaptureFixture) -> None:
    cpus = os.cpu_count() or 1
    with caplog.at_level(logging.WARNING, logger="basalt"):
        assert LocalExecutor(cpus).workers == cpus
        assert caplog.records == []
        many = LocalExecutor(100_000)  # not entered: no process starts
    assert many.workers == OVERSUBSCRIBED * cpus
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"NUM_WORKERS 100000 is more than {OVERSUBSCRIBED} per CPU on {cpus} CPUs: using "
        f"{OVERSUBSCRIBED * cpus} workers"
    )


def test_a_range_of_weekend_days_is_a_usage_error(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    path = pipeline(tmp_path, small_lake)
    result = run(basalt_cli, path, "--start-date", "2024-03-09", "--end-date", "2024-03-10")
    assert result.exit_code == 2
    assert "--start-date 2024-03-09 to --end-date 2024-03-10 holds only Saturdays and Sundays" in (
        result.output
    )
    saturday = run(basalt_cli, path, "--date", "2024-03-09")
    assert saturday.exit_code == 2 and "holds only Saturdays and Sundays" in saturday.output


def test_universe_values_are_made_safe_in_paths(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    listings = tmp_path / "lists" / "u.csv"
    listings.parent.mkdir()
    pl.DataFrame({"ListingId": [1], "MIC": ["XLON"]}).write_csv(listings)
    path = pipeline(tmp_path, small_lake, f"UNIVERSE: 'file={listings}'")
    text = Path(path).read_text().replace("{pass}_{start_date}", "{universe}/{start_date}")
    Path(path).write_text(text)
    result = run(basalt_cli, path)
    assert result.exit_code == 0, result.output
    [written] = (tmp_path / "out").iterdir()
    assert written.name == f"file={listings}".replace("/", "_")
    assert sorted(p.name for p in written.iterdir()) == [".basalt.lock", "2024-03-04.parquet"]


def test_a_failing_get_universe_is_named(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    path = tmp_path / "pipeline.py"
    path.write_text(
        "USER_CONFIG = {\n"
        "    'START_DATE': '2024-03-04',\n"
        f"    'DATA_ROOT': '{small_lake}',\n"
        "    'EXECUTOR': 'serial',\n"
        "    'PASSES': [{'name': 'p1', 'modules': ['trade']}],\n"
        f"    'OUTPUT_TARGET': {{'path_template': '{tmp_path}/out/{{start_date}}.parquet'}},\n"
        "}\n\n"
        "def get_universe(date):\n"
        "    raise KeyError(date)\n"
    )
    result = run(basalt_cli, str(path))
    assert result.exit_code == 1
    assert f"get_universe('2024-03-04') of {path} raised KeyError: '2024-03-04'" in result.output
    assert result.output.count("raised KeyError") == 1  # in the summary, once


def test_debug_keeps_the_exit_code(basalt_cli: Invoke, tmp_path: Path) -> None:
    path = pipeline(tmp_path, tmp_path / "no-lake")
    plain = run(basalt_cli, path)
    debugged = basalt_cli("--debug", "pipeline", "run", "--pipeline", path, "--no-progress")
    assert plain.exit_code == debugged.exit_code == 2
    assert "Traceback" in debugged.output and "Traceback" not in plain.output
    assert "error: data root" in debugged.output


def test_an_unwritable_root_is_a_usage_error(basalt_cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = basalt_cli(
        "sample-data", "--root", str(tmp_path / "file" / "lake"), "--start-date", "2024-03-04",
        "--mics", "XLON", "--listings", "1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'file' / 'lake'}: not a directory"


def test_an_unwritable_output_is_found_before_computing(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    (tmp_path / "out").write_text("")  # outputs would go under this file
    result = run(basalt_cli, pipeline(tmp_path, small_lake), "--executor", "local")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: cannot write {tmp_path}/out/p1_2024-03-04.parquet: {tmp_path}/out is a file, "
        "not a directory"
    )


def test_a_pass_named_like_a_table_is_refused(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    result = run(basalt_cli, pipeline(tmp_path, small_lake, passes=copied_by_p2("trades")))
    assert result.exit_code == 2
    assert "PASSES[0].name: 'trades' is the name of an input table" in result.output


def test_a_yaml_syntax_error_gives_line_and_column(basalt_cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("START_DATE: '2024-03-04'\nPASSES: [{name: p1, modules: [trade]}\n  x: : y\n")
    result = run(basalt_cli, str(path))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}:3:3: not valid YAML: ")
    assert len(result.output.strip().splitlines()) == 1


def test_errors_name_flags_as_flags_and_no_internal_class(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    path = pipeline(tmp_path, small_lake)
    dates = run(basalt_cli, path, "--start-date", "2024-03-08", "--end-date", "2024-03-04")
    assert dates.exit_code == 2
    assert "--end-date 2024-03-04 is before --start-date 2024-03-08" in dates.output
    Path(path).write_text(
        Path(path).read_text().replace("OUTPUT_TARGET: {", "X: {") + "OUTPUT_TARGET: 'x'\n"
    )
    output = run(basalt_cli, path)
    assert (
        output.exit_code == 2 and "OUTPUT_TARGET: 'x' should be a mapping of keys" in output.output
    )
    assert "Registered" not in output.output


def test_verbose_shows_info_and_debug_logs(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    path = pipeline(tmp_path, small_lake)
    quiet = run(basalt_cli, path)
    info = basalt_cli("-v", "pipeline", "run", "--pipeline", path, "--no-progress")
    debug = basalt_cli("-vv", "pipeline", "run", "--pipeline", path, "--no-progress")
    assert "INFO" not in quiet.output and "DEBUG" not in quiet.output
    assert "INFO basalt.runner: pass p1: 1 partition(s), 1 day(s)" in info.output
    assert "DEBUG" not in info.output
    assert "DEBUG basalt.planning.plan: 2024-03-04: 3 listing(s) on XLON, XPAR" in debug.output


def test_dask_logs_stay_quiet(basalt_cli: Invoke, small_lake: Path, tmp_path: Path) -> None:
    path = pipeline(tmp_path, small_lake, "NUM_WORKERS: 1")
    result = run(basalt_cli, path, "--executor", "dask")
    assert result.exit_code == 0, result.output
    assert "distributed" not in result.output and "INFO" not in result.output


def test_a_derived_pass_counts_the_rows_it_read(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    result = run(basalt_cli, pipeline(tmp_path, small_lake, passes=copied_by_p2("p1")))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:3]}
    assert rows["p1"][4] == "3" and rows["p2"][3] == "3"  # p2 read p1's three rows


def test_an_existing_table_with_sql_if_exists_fail_is_found_before_computing(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    sqlite3.connect(tmp_path / "out.db").execute(
        "CREATE TABLE metrics (x INTEGER)"
    ).connection.close()
    output = (
        f"OUTPUT_TARGET: {{type: sql, sql_connection: '{url}', sql_table: metrics, "
        "sql_if_exists: fail}"
    )
    path = pipeline(tmp_path, small_lake)
    text = "\n".join(
        line for line in Path(path).read_text().splitlines() if "OUTPUT_TARGET" not in line
    )
    Path(path).write_text(text + "\n" + output + "\n")
    result = run(basalt_cli, path)
    assert result.exit_code == 2
    assert result.output.strip() == "error: sql table 'metrics' exists (sql_if_exists: fail)"


def test_an_output_in_a_missing_bucket_is_found_before_computing(
    basalt_cli: Invoke, small_lake: Path, tmp_path: Path, s3_bucket: str
) -> None:
    path = pipeline(tmp_path, small_lake)
    text = Path(path).read_text().replace(f"'{tmp_path}/out/", "'s3://no-such-bucket-here/out/")
    Path(path).write_text(text)
    result = run(basalt_cli, path)
    assert result.exit_code == 2
    assert "cannot write s3://no-such-bucket-here/out/p1_2024-03-04.parquet" in result.output
    assert "bucket no-such-bucket-here does not exist" in result.output
