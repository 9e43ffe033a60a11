"""A run that reads nothing, or less than it was asked to, never says "ok": a missing data
root or a universe without data is a usage error (exit 2), a day with some tables missing
fails its partition (exit 1), and a day without any file for a MIC is a holiday, listed."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import Result

from basalt.lake import Lake
from basalt.sampledata import generate_lake
from basalt.tables import L2Table, ReferenceTable, TradesTable

FRIDAY, MONDAY = dt.date(2024, 3, 8), dt.date(2024, 3, 11)
Invoke = Callable[..., Result]
MISSING = "input file(s) missing while the other tables of their MIC have files that day"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FRIDAY, MONDAY, ["XLON", "XPAR"], listings=2, trades_per_listing=100)
    return root


@pytest.fixture
def lake(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the two-MIC lake (Friday and Monday) that a test may break."""
    return Path(shutil.copytree(pristine, tmp_path / "lake"))


def pipeline(tmp_path: Path, **keys: Any) -> str:
    raw = {
        "START_DATE": str(FRIDAY),
        "END_DATE": str(MONDAY),
        "BATCH_FREQ": "W",
        "EXECUTOR": "serial",
        "PASSES": [{"name": "p1", "modules": ["trade", "l2"]}],
        "OUTPUT_TARGET": {"path_template": f"{tmp_path}/out/{{start_date}}.parquet"},
        **keys,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def run(basalt_cli: Invoke, tmp_path: Path, *flags: str, **keys: Any) -> Result:
    return basalt_cli("pipeline", "run", "--pipeline", pipeline(tmp_path, **keys), *flags)


def test_a_missing_data_root_is_a_usage_error(basalt_cli: Invoke, tmp_path: Path) -> None:
    missing = run(basalt_cli, tmp_path, DATA_ROOT=str(tmp_path / "nowhere"))
    assert missing.exit_code == 2
    assert f"data root {tmp_path / 'nowhere'} does not exist" in missing.output
    (tmp_path / "file").write_text("")
    a_file = run(basalt_cli, tmp_path, "--data-root", str(tmp_path / "file"))
    assert a_file.exit_code == 2 and "is not a directory" in a_file.output
    assert "ok in" not in missing.output + a_file.output


def test_an_empty_or_missing_s3_prefix_is_a_usage_error(
    basalt_cli: Invoke, tmp_path: Path, s3_bucket: str, s3_endpoint: str
) -> None:
    empty = run(basalt_cli, tmp_path, DATA_ROOT=f"s3://{s3_bucket}/lake")
    assert empty.exit_code == 2 and f"data root s3://{s3_bucket}/lake does not exist" in (
        empty.output
    )
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key="elsewhere/x", Body=b"")
    assert run(basalt_cli, tmp_path, DATA_ROOT=f"s3://{s3_bucket}/lake").exit_code == 2
    no_bucket = run(basalt_cli, tmp_path, DATA_ROOT="s3://no-such-bucket-here/lake")
    assert no_bucket.exit_code == 2 and "bucket no-such-bucket-here does not exist" in (
        no_bucket.output
    )


@pytest.mark.parametrize(
    ("universe", "message"),
    [
        (
            "mic=XXXX",
            "universe 'mic=XXXX' has no listing with data in the lake on any day from 2024-03-08",
        ),
        (
            "ticker=NOSUCH",
            "universe 'ticker=NOSUCH' has no listing with data in the lake on any day",
        ),
        ("mic=", "UNIVERSE: mic= needs at least one MIC"),
        ("ticker= ,", "UNIVERSE: ticker= needs at least one ticker"),
    ],
)
def test_a_universe_without_listings_is_a_usage_error(
    basalt_cli: Invoke, lake: Path, tmp_path: Path, universe: str, message: str
) -> None:
    result = run(basalt_cli, tmp_path, DATA_ROOT=str(lake), UNIVERSE=universe)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_dates_without_data_are_a_usage_error(
    basalt_cli: Invoke, lake: Path, tmp_path: Path
) -> None:
    result = run(
        basalt_cli, tmp_path, "--start-date", "2024-05-06", "--end-date", "2024-05-07",
        DATA_ROOT=str(lake),
    )  # fmt: skip
    assert result.exit_code == 2
    expected = "universe 'all' has no listing with data in the lake on any day from 2024-05-06"
    assert f"{expected} to 2024-05-07" in result.output
    assert "no input file at all for XLON, XPAR" in result.output


def test_a_lake_without_reference_files_is_a_usage_error(
    basalt_cli: Invoke, lake: Path, tmp_path: Path
) -> None:
    shutil.rmtree(lake / ReferenceTable.folder)
    result = run(basalt_cli, tmp_path, DATA_ROOT=str(lake), UNIVERSE="mic=XLON")
    assert result.exit_code == 1, result.output  # XLON's trades are there: files are missing
    reference = ReferenceTable.path(Lake(str(lake)), "XLON", FRIDAY)
    assert f"{MISSING}: {reference}" in result.output
    everything = run(basalt_cli, tmp_path, DATA_ROOT=str(lake))  # no MIC left to list
    assert everything.exit_code == 2
    assert "universe 'all' has no listing with data in the lake on any day" in everything.output


def test_a_day_with_a_missing_table_fails_its_partition(
    basalt_cli: Invoke, lake: Path, tmp_path: Path
) -> None:
    trades = Path(TradesTable.path(Lake(str(lake)), "XPAR", MONDAY))
    trades.unlink()
    result = run(basalt_cli, tmp_path, DATA_ROOT=str(lake))
    assert result.exit_code == 1
    assert f"2024-03-11: {MISSING}: {trades}" in result.output
    assert "1 written, 0 skipped, 1 failed" in result.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.parquet")) == ["2024-03-08.parquet"]


def test_a_mic_without_any_file_on_a_day_is_a_holiday(
    basalt_cli: Invoke, lake: Path, tmp_path: Path
) -> None:
    for table in (TradesTable, L2Table, ReferenceTable):
        Path(table.path(Lake(str(lake)), "XPAR", MONDAY)).unlink()
    for folder in ("Equity-L3", "MarketState"):
        for path in (lake / folder / "XPAR" / "2024" / "03" / "11").glob("*.parquet"):
            path.unlink()
    result = run(basalt_cli, tmp_path, DATA_ROOT=str(lake))
    assert result.exit_code == 0, result.output
    assert "NO DATA pass p1: no input file at all on 2024-03-11 (XPAR)" in result.output
    assert "2 written, 0 skipped, 0 failed" in result.output


def test_a_universe_of_listings_without_rows_is_a_usage_error(
    basalt_cli: Invoke, lake: Path, tmp_path: Path
) -> None:
    listings = tmp_path / "u.csv"
    listings.write_text("ListingId,MIC\n999,XLON\n")  # on an open MIC, but never traded
    result = run(basalt_cli, tmp_path, DATA_ROOT=str(lake), UNIVERSE=f"file={listings}")
    assert result.exit_code == 2
    assert f"universe 'file={listings}' has no row in the lake on any day from 2024-03-08" in (
        result.output
    )


def test_sample_data_on_a_weekend_says_so(basalt_cli: Invoke, tmp_path: Path) -> None:
    result = basalt_cli(
        "sample-data", "--root", str(tmp_path / "lake"), "--start-date", "2024-03-09",
        "--end-date", "2024-03-10", "--mics", "XLON", "--listings", "1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "2024-03-09 to 2024-03-10 holds only Saturdays and Sundays" in result.output
    assert "--include-weekends" in result.output and not (tmp_path / "lake").exists()
