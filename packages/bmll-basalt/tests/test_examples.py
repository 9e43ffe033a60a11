"""The example pipelines of the repository validate and run on generated sample data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from basalt.catalog import pipeline_columns
from basalt.config.loading import load_pipeline
from basalt.plugins import get_registry
from basalt.runner import run_pipeline
from basalt.sampledata import generate_lake

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    day = dt.date(2024, 3, 4)
    generate_lake(
        root, day, day + dt.timedelta(days=1), ["XLON", "XPAR"], 2, trades_per_listing=300
    )
    return root


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_and_produces_its_documented_columns(
    example: Path, lake: Path, tmp_path: Path
) -> None:
    output = {"path_template": f"{tmp_path}/{{pass}}/{{start_date}}.parquet"}
    loaded = load_pipeline(
        example, {"DATA_ROOT": str(lake), "EXECUTOR": "serial", "OUTPUT_TARGET": output}
    )
    summary = run_pipeline(loaded)
    assert summary.ok, summary.failures
    for entry in summary.passes:
        frame = pl.read_parquet(entry.outputs)
        assert frame.height > 0
        listed = {
            e.column.name
            for e in pipeline_columns(loaded.config, get_registry())
            if e.pass_name == entry.name
        }
        assert set(frame.columns) <= listed
        assert set(frame.columns) >= listed - {"Ticker", "InstrumentId", "MIC"}
