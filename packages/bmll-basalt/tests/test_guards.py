"""Data-quality guards: the schema lock in every mode, quality checks and pass expectations
that warn or raise."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from basalt.cli.progress import format_summary
from basalt.config.loading import Pipeline, validate_config
from basalt.errors import ConfigError
from basalt.guards import PassExpectations, QualityChecks, expectation_problems, quality_problems
from basalt.runner import RunSummary, run_pipeline

TRADE = {"name": "p1", "modules": ["trade"]}


def run(lake: Path, tmp_path: Path, passes: list[dict[str, Any]], **settings: Any) -> RunSummary:
    raw = {
        "START_DATE": "2024-03-04",
        "DATA_ROOT": str(lake),
        "EXECUTOR": "serial",
        "PASSES": passes,
        "OUTPUT_TARGET": {"path_template": str(tmp_path / "{pass}.parquet")},
        **settings,
    }
    return run_pipeline(Pipeline(validate_config(raw), "test"))


# --- schema lock -------------------------------------------------------------------------------


def lock_settings(tmp_path: Path, mode: str) -> dict[str, str]:
    return {"SCHEMA_LOCK_MODE": mode, "SCHEMA_LOCK_PATH": str(tmp_path / "schema.lock.json")}


def test_update_writes_every_pass_schema(small_lake: Path, tmp_path: Path) -> None:
    assert run(small_lake, tmp_path, [TRADE], **lock_settings(tmp_path, "update")).ok
    lock = json.loads((tmp_path / "schema.lock.json").read_text())
    written = pl.read_parquet(tmp_path / "p1.parquet").schema
    assert lock == {"p1": {c: str(t) for c, t in written.items()}}


def test_off_writes_nothing(small_lake: Path, tmp_path: Path) -> None:
    assert run(small_lake, tmp_path, [TRADE], SCHEMA_LOCK_PATH=str(tmp_path / "x.json")).ok
    assert not (tmp_path / "x.json").exists()


def test_warn_lists_the_differences_and_runs(small_lake: Path, tmp_path: Path) -> None:
    run(small_lake, tmp_path, [TRADE], **lock_settings(tmp_path, "update"))
    lock_file = tmp_path / "schema.lock.json"
    lock = json.loads(lock_file.read_text())
    lock["p1"]["Gone"] = "Int64"
    lock["p1"]["TradeTotalVolume"] = "Int64"
    lock_file.write_text(json.dumps(lock))
    changed = {
        **TRADE,
        "trade": {"generic_metrics": [{"sides": "Total", "measures": ["Volume", "Count"]}]},
    }
    summary = run(small_lake, tmp_path, [changed], **lock_settings(tmp_path, "warn"))
    assert summary.ok
    assert [w.split(": ", 1)[1] for w in summary.warnings] == [
        "pass p1: removed TradeTotalNotionalEUR, TradeTotalVWAP, TradeTotalOpen, "
        "TradeTotalHigh, TradeTotalLow, TradeTotalClose, Gone",
        "pass p1: retyped TradeTotalVolume Int64 -> Float64",
    ]


def test_raise_stops_before_any_data_is_read(tmp_path: Path) -> None:
    lock_file = tmp_path / "schema.lock.json"
    lock_file.write_text(json.dumps({"p1": {"ListingId": "Int64"}, "p0": {}}))
    with pytest.raises(ConfigError, match="pass p1: added TimeBucket, MIC, Ticker") as raised:
        run(tmp_path / "no-lake", tmp_path, [TRADE], **lock_settings(tmp_path, "raise"))
    assert "pass p0: removed" in str(raised.value)
    assert not (tmp_path / "p1.parquet").exists()


def test_a_missing_lock_is_written_and_a_mode_needs_a_path(
    small_lake: Path, tmp_path: Path
) -> None:
    assert run(small_lake, tmp_path, [TRADE], **lock_settings(tmp_path, "raise")).ok
    assert (tmp_path / "schema.lock.json").is_file()
    with pytest.raises(ConfigError, match="needs SCHEMA_LOCK_PATH"):
        run(small_lake, tmp_path, [TRADE], SCHEMA_LOCK_MODE="warn")


# --- quality checks ------------------------------------------------------------------------------

FRAME = pl.LazyFrame(
    {
        "SpreadBps": [1.0, None, None, 4.0],
        "ImbalanceQuantity1": [-0.5, 0.2, 1.5, None],
        "TradeCount": [1, 2, 3, 4],
    }
)


def test_quality_problems_by_glob() -> None:
    checks = QualityChecks(
        enabled=True,
        null_rate_max=0.1,
        null_rates={"Spread*": 0.6},
        ranges={"Imbalance*": (-1, 1), "Trade*": (0, None)},
    )
    assert quality_problems(FRAME, checks) == [
        "ImbalanceQuantity1: 25.0% nulls, above 10.0%",
        "ImbalanceQuantity1: 1.5 above the maximum 1",
    ]
    strict = QualityChecks(enabled=True, null_rates={"*": 0.2}, ranges={"TradeCount": (2, 3)})
    assert quality_problems(FRAME, strict) == [
        "SpreadBps: 50.0% nulls, above 20.0%",
        "ImbalanceQuantity1: 25.0% nulls, above 20.0%",
        "TradeCount: 1 below the minimum 2",
        "TradeCount: 4 above the maximum 3",
    ]


def test_quality_checks_warn_or_fail_the_partition(small_lake: Path, tmp_path: Path) -> None:
    checks = {"ENABLED": True, "ranges": {"TradeTotalVolume": [0, 100]}}
    summary = run(small_lake, tmp_path, [TRADE], QUALITY_CHECKS=checks)
    assert summary.ok and (tmp_path / "p1.parquet").exists()
    assert summary.warnings == [
        "pass p1, partition 2024-03-04_2024-03-04: quality: TradeTotalVolume: 400 above the "
        "maximum 100"
    ]
    (tmp_path / "p1.parquet").unlink()
    own = {
        **TRADE,
        "quality_checks": {"enabled": True, "ranges": checks["ranges"], "action": "raise"},
    }
    summary = run(small_lake, tmp_path, [own], QUALITY_CHECKS={"ENABLED": True})
    assert not summary.ok and not (tmp_path / "p1.parquet").exists()
    assert "quality checks failed: TradeTotalVolume: 400 above" in summary.failures[0].error


# --- pass expectations ----------------------------------------------------------------------------


def test_expectation_problems() -> None:
    source = pl.LazyFrame({"ListingId": [1, 1, 2], "A": [1.0, 2.0, 3.0]})
    output = pl.DataFrame({"ListingId": [1, 1], "B": [math.nan, 1.0]})
    expectations = PassExpectations(
        preserve_listing_count=True, preserve_rows=True, preserve_columns=True, no_nans=True
    )
    assert expectation_problems(output, source, expectations) == [
        "2 rows from 3 input rows",
        "1 listings from 2 in the input",
        "input columns missing from the output: A",
        "B: 1 NaN",
    ]
    exempt = expectations.model_copy(update={"nan_exempt_columns": ["B*"]})
    assert "B: 1 NaN" not in expectation_problems(output, source, exempt)


def test_expectations_of_a_derived_pass(small_lake: Path, tmp_path: Path) -> None:
    keep = {"preserve_listing_count": True, "preserve_rows": True, "preserve_columns": True}
    copy = {"name": "copy", "modules": ["generic"], "generic": {"source_pass": "p1"}}
    summary = run(small_lake, tmp_path, [TRADE, {**copy, "expectations": keep}])
    assert summary.ok and summary.warnings == []
    regroup = {
        "group_by": ["MIC", "TimeBucket"],
        "aggregations": {"TradeTotalVolume": "sum"},
    }
    merged = {**copy, "generic": {**copy["generic"], **regroup}}
    summary = run(
        small_lake, tmp_path, [TRADE, {**merged, "expectations": {**keep, "action": "warn"}}]
    )
    assert summary.ok and any("listings from 3 in the input" in w for w in summary.warnings)
    summary = run(small_lake, tmp_path, [TRADE, {**merged, "expectations": keep}])
    assert not summary.ok
    assert "expectations of pass copy: 0 listings from 3" in summary.failures[0].error


def test_a_warning_repeated_by_many_tasks_is_listed_once() -> None:
    summary = RunSummary()
    for day in ("2024-03-04", "2024-03-05", "2024-03-06"):
        summary.warn(f"pass p2, {day}", "prices of listings in different currencies combined")
    summary.warn("pass p2, 2024-03-04", "another problem")
    assert summary.warnings == [
        "pass p2, 2024-03-04: prices of listings in different currencies combined",
        "pass p2, 2024-03-04: another problem",
    ]
    assert format_summary(summary).splitlines()[1:3] == [
        "WARNING pass p2, 2024-03-04: prices of listings in different currencies combined "
        "(and 2 more)",
        "WARNING pass p2, 2024-03-04: another problem",
    ]
