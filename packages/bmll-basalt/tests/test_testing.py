"""Tests of :mod:`basalt.testing`: frame builders, running helpers, fixtures and contracts."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from basalt import Analytic, AnalyticContext, BucketSpec
from basalt.analytics.trade import TradeAnalytic, TradeConfig
from basalt.lake import Lake
from basalt.plugins import Registry
from basalt.tables import L2Table, L3Table, MarketStateTable, ReferenceTable, TradesTable
from basalt.tables.base import DataTable
from basalt.testing import (
    DEFAULT_DATE,
    DEFAULT_LISTING_ID,
    DEFAULT_MIC,
    AnalyticContract,
    CliInvoker,
    DistributionFactory,
    bmll_frame,
    cbbo_frame,
    compute_analytic,
    imbalance_frame,
    l2_frame,
    l3_frame,
    make_context,
    marketstate_frame,
    reference_frame,
    run_analytic,
    trades_frame,
)

pytest_plugins = ["pytester"]

NS = pl.Datetime("ns")
DAY = DEFAULT_DATE
TRADES = [
    {"TradeTimestamp": "2026-01-02T08:00:30", "Price": 10.0, "Size": 100.0, "AggressorSide": 1},
    {"TradeTimestamp": "2026-01-02T08:01:00", "Price": 10.5, "Size": 50.0, "AggressorSide": 2},
    {"TradeTimestamp": "2026-01-02T08:01:00.000001", "Price": 11.0, "Size": 10.0},
    {"TradeTimestamp": "2026-01-02T08:00:45", "Price": 9.0, "Size": 20.0, "ListingId": 2},
]
EXAMPLE_HOOKS = '''
import polars as pl
from basalt import Analytic, hookimpl


class ExampleCount(Analytic):
    """Trades per bucket."""

    name = "example_count"
    requires = ("trades",)

    def compute(self, ctx, config):
        return ctx.table("trades").group_by("ListingId", "TimeBucket").agg(
            pl.len().alias("ExampleCount"))


@hookimpl
def basalt_register_analytics():
    return [ExampleCount]
'''
EXAMPLE_CLI = """
import click


@click.command()
def hello():
    click.echo("hello from basalt-example")


@click.command()
def boom():
    raise RuntimeError("boom")
"""


def _example(factory: DistributionFactory) -> Path:
    return factory(
        "basalt-example",
        modules={
            "basalt_example/__init__.py": "",
            "basalt_example/hooks.py": EXAMPLE_HOOKS,
            "basalt_example/cli.py": EXAMPLE_CLI,
        },
        entry_points={
            "basalt": {"example": "basalt_example.hooks"},
            "basalt.cli": {"hello": "basalt_example.cli:hello", "boom": "basalt_example.cli:boom"},
        },
    )


def _names(group: str) -> set[str]:
    return {ep.name for ep in md.entry_points(group=group)}


# -- frame builders -------------------------------------------------------------------------


def test_trades_frame_defaults_derived_columns_and_buckets() -> None:
    frame = trades_frame(TRADES).collect()
    assert frame["ListingId"].to_list() == [1, 1, 1, 2]
    assert frame["MIC"].to_list() == ["XLON"] * 4
    assert frame["Classification"].to_list() == ["LIT_CONTINUOUS"] * 4
    assert frame["TradeDate"].to_list() == [dt.datetime(2026, 1, 2)] * 4
    assert frame["TradeNotional"].to_list() == [1000.0, 525.0, 110.0, 180.0]
    assert frame["LocalPrice"].to_list() == [10.0, 10.5, 11.0, 9.0]
    assert frame["AggressorSide"].to_list() == [1, 2, None, None]
    assert frame["TradeTimestamp"].dtype == NS
    # (start, end] buckets labelled by their end: 08:01:00 closes the first minute.
    assert frame["TimeBucket"].to_list() == [
        dt.datetime(2026, 1, 2, 8, 1),
        dt.datetime(2026, 1, 2, 8, 1),
        dt.datetime(2026, 1, 2, 8, 2),
        dt.datetime(2026, 1, 2, 8, 1),
    ]


def test_trades_frame_keeps_given_values_and_other_bucket_settings() -> None:
    row = {
        "TradeTimestamp": dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "Price": 2.0,
        "Size": 3.0,
        "TradeNotional": 7.0,
        "Classification": "OFF_BOOK_ON_EXCHANGE",
        "MIC": "XPAR",
    }
    frame = trades_frame([row], bucket=BucketSpec(300, anchor="start")).collect()
    first = frame.row(0, named=True)
    assert first["TradeTimestamp"] == dt.datetime(2026, 1, 5, 8, 0)
    assert first["TradeDate"] == dt.datetime(2026, 1, 5)
    assert (first["TradeNotional"], first["LocalPrice"]) == (7.0, 7.0 / 3.0)
    assert (first["Classification"], first["MIC"]) == ("OFF_BOOK_ON_EXCHANGE", "XPAR")
    # start-anchored, right-closed: 08:00:00 is the end of (07:55, 08:00], labelled 07:55.
    assert first["TimeBucket"] == dt.datetime(2026, 1, 5, 7, 55)


def test_timestamps_keep_nanoseconds_and_accept_offsets() -> None:
    frame = bmll_frame(
        TradesTable,
        [
            {"TradeTimestampNanoseconds": "2026-01-02T08:00:00.000001500"},
            {"TradeTimestampNanoseconds": "2026-01-02T09:00:00+01:00"},
            {"TradeTimestampNanoseconds": 1_767_340_800_000_000_007},
        ],
    )
    stamps = frame["TradeTimestampNanoseconds"]
    assert stamps.dt.epoch("ns").to_list() == [
        1_767_340_800_000_001_500,
        1_767_340_800_000_000_000,
        1_767_340_800_000_000_007,
    ]
    assert frame["TradeDate"].to_list() == [dt.datetime(2026, 1, 2)] * 3


def test_unknown_column_is_rejected() -> None:
    with pytest.raises(ValueError, match="trades table has no column"):
        trades_frame([{"Pirce": 1.0}])


def test_without_bucket_there_is_no_time_bucket() -> None:
    assert "TimeBucket" not in trades_frame(TRADES, bucket=None).collect_schema()
    assert "TimeBucket" not in reference_frame([{}]).collect_schema()


BUILDERS: list[tuple[Callable[[list[dict[str, Any]]], pl.LazyFrame], type[DataTable], str]] = [
    (trades_frame, TradesTable, "TradeTimestamp"),
    (l2_frame, L2Table, "EventTimestamp"),
    (l3_frame, L3Table, "TimestampNanoseconds"),
    (marketstate_frame, MarketStateTable, "TimestampNanoseconds"),
]


@pytest.mark.parametrize(("builder", "table", "stamp"), BUILDERS)
def test_schema_is_bmll_plus_derived_columns(
    builder: Callable[[list[dict[str, Any]]], pl.LazyFrame], table: type[DataTable], stamp: str
) -> None:
    derived: dict[str, pl.DataType] = {"EventTimestamp": NS}
    if table is TradesTable:
        derived = {"TradeTimestamp": NS, "LocalPrice": pl.Float64()}
    expected = pl.Schema({**table.schema(), **derived, "TimeBucket": NS})
    assert builder([{stamp: "2026-01-02T08:00:00"}]).collect_schema() == expected
    assert builder([]).collect().schema == expected
    assert bmll_frame(table, [{stamp: "2026-01-02T08:00:00"}]).schema == table.schema()


def test_reference_frame_defaults() -> None:
    frame = reference_frame([{"Ticker": "AAA"}, {"ListingId": 7, "MIC": "XPAR"}]).collect()
    assert frame.schema == ReferenceTable.schema()
    assert frame.select("ListingId", "MIC", "Ticker", "Date").rows() == [
        (1, "XLON", "AAA", dt.datetime(2026, 1, 2)),
        (7, "XPAR", None, dt.datetime(2026, 1, 2)),
    ]


@pytest.mark.parametrize(("builder", "table", "stamp"), BUILDERS)
def test_builders_match_what_the_table_scans_from_the_lake(
    builder: Callable[[list[dict[str, Any]]], pl.LazyFrame],
    table: type[DataTable],
    stamp: str,
    tmp_path: Path,
) -> None:
    rows = [
        {stamp: "2026-01-02T08:00:30", "Price": 1.5, "ListingId": 3},
        {stamp: "2026-01-02T08:01:00", "Price": 2.5, "ListingId": 3},
    ]
    rows = [{k: v for k, v in row.items() if k in table.schema()} for row in rows]
    path = Path(table.path(Lake(str(tmp_path)), "XLON", DAY))
    path.parent.mkdir(parents=True)
    bmll_frame(table, rows).write_parquet(path)
    scanned = table.scan(Lake(str(tmp_path)), ["XLON"], [DAY], bucket=BucketSpec()).collect()
    assert_frame_equal(builder(rows).collect(), scanned)


# -- running analytics ----------------------------------------------------------------------


def test_make_context_derives_the_universe() -> None:
    ctx = make_context({"trades": trades_frame(TRADES), "l3": l3_frame([{"ListingId": 5}])})
    assert ctx.universe.rows() == [(1, "XLON"), (2, "XLON"), (5, None)]
    assert (ctx.date, ctx.pass_name, ctx.bucket) == (DAY, "test", BucketSpec())
    assert ctx.table("l3").collect().height == 1
    given = pl.DataFrame({"ListingId": [9], "MIC": ["XAMS"]})
    assert make_context({}, universe=given, pass_name="p").universe is given


def test_run_analytic_validates_config_and_sorts() -> None:
    tables = {"trades": trades_frame(TRADES)}
    config = {"metric_prefix": "T_", "generic_metrics": [{"measures": ["Volume", "Count"]}]}
    result = run_analytic(TradeAnalytic, tables, config)
    assert result.columns == ["ListingId", "TimeBucket", "T_TradeTotalVolume", "T_TradeTotalCount"]
    assert result.rows() == [
        (1, dt.datetime(2026, 1, 2, 8, 1), 150.0, 2),
        (1, dt.datetime(2026, 1, 2, 8, 2), 10.0, 1),
        (2, dt.datetime(2026, 1, 2, 8, 1), 20.0, 1),
    ]
    assert_frame_equal(run_analytic(TradeAnalytic, tables, TradeConfig(**config)), result)
    with pytest.raises(ValidationError, match="measures"):
        run_analytic(TradeAnalytic, tables, {"generic_metrics": [{"sides": ["Bid"]}]})


def test_compute_must_return_a_lazy_frame() -> None:
    class Eager(Analytic):
        name = "eager"

        def compute(self, ctx: AnalyticContext, config: Any) -> pl.LazyFrame:
            return ctx.table("trades").collect()  # type: ignore[return-value]

    with pytest.raises(TypeError, match="not a LazyFrame"):
        compute_analytic(Eager, {"trades": trades_frame(TRADES)})


# -- the contract, applied to the kernel's trade analytic -----------------------------------


class TestTradeAnalyticContract(AnalyticContract):
    analytic = TradeAnalytic
    tables = {"trades": trades_frame(TRADES)}
    expected_columns = [
        f"TradeTotal{m}"
        for m in ("Volume", "Count", "NotionalEUR", "VWAP", "Open", "High", "Low", "Close")
    ]


class TestPrefixedTradeAnalyticContract(AnalyticContract):
    analytic = TradeAnalytic
    tables = {"trades": trades_frame(TRADES)}
    config = {
        "metric_prefix": "TR_",
        "generic_metrics": [{"sides": ["Bid", "Ask"], "measures": "Volume"}],
    }
    expected_columns = ["TR_TradeBidVolume", "TR_TradeAskVolume"]


BROKEN_CONTRACT = '''
import polars as pl
from pydantic import BaseModel
from basalt import Analytic
from basalt.testing import AnalyticContract, trades_frame


class Options(BaseModel):
    threshold: int = 1


class Broken(Analytic):
    """Sizes, one row per trade."""

    name = "BrokenName"
    config_model = Options
    requires = ("trades",)

    def compute(self, ctx, config):
        return ctx.table("trades").select("ListingId", "TimeBucket", pl.col("Size").alias("size"))


class TestBroken(AnalyticContract):
    analytic = Broken
    tables = {"trades": trades_frame([
        {"TradeTimestamp": "2026-01-02T08:00:01", "Price": 1.0, "Size": 1.0},
        {"TradeTimestamp": "2026-01-02T08:00:02", "Price": 1.0, "Size": 2.0},
    ])}
'''


def test_the_contract_catches_a_broken_analytic(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken=BROKEN_CONTRACT)
    result = pytester.runpytest("-rfs")
    result.assert_outcomes(passed=7, failed=7, skipped=1)
    for test in (
        "test_columns_are_documented",
        "test_name_is_snake_case",
        "test_registered_by_an_installed_plugin",
        "test_config_fields_are_described",
        "test_options_accepted_in_a_pass",
        "test_output_unique_on_join_keys",
        "test_metric_columns_are_pascal_case",
    ):
        result.stdout.fnmatch_lines([f"FAILED test_broken.py::TestBroken::{test} - *"])


# -- fixtures -------------------------------------------------------------------------------


def test_basalt_registry_is_fresh(basalt_registry: Registry) -> None:
    assert basalt_registry.analytics["trade"] is TradeAnalytic
    assert basalt_registry is not Registry.create()


def test_basalt_cli_lists_the_kernel_plugin(basalt_cli: CliInvoker) -> None:
    result = basalt_cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["basalt"]["distribution"] == "bmll-basalt"
    assert "trade" in plugins["basalt"]["registers"]["analytics"]


def test_temporary_distribution_is_installed(
    temporary_distribution: DistributionFactory, basalt_cli: CliInvoker
) -> None:
    root = _example(temporary_distribution)
    assert (root / "basalt_example-0.1.0.dist-info" / "METADATA").is_file()
    dist = md.distribution("basalt-example")
    assert (dist.version, dist.locate_file("")) == ("0.1.0", root)
    assert {"hooks.py", "RECORD"} <= {Path(str(f)).name for f in dist.files or []}
    [example] = [ep for ep in md.entry_points(group="basalt") if ep.name == "example"]
    assert example.dist is not None and example.dist.name == "basalt-example"
    registry = Registry.create()
    assert registry.plugins["example"].distribution == "basalt-example"
    counted = run_analytic(registry.analytics["example_count"], {"trades": trades_frame(TRADES)})
    assert counted["ExampleCount"].to_list() == [2, 1, 1]
    assert basalt_cli("hello").stdout == "hello from basalt-example\n"
    assert basalt_cli("boom").exit_code == 1
    debugged = basalt_cli("--debug", "boom")  # the traceback, and the same exit code
    assert debugged.exit_code == 1 and "Traceback" in debugged.output
    assert "RuntimeError: boom" in debugged.output


def test_temporary_distribution_reaches_child_processes(
    temporary_distribution: DistributionFactory,
) -> None:
    _example(temporary_distribution)
    script = (
        "import importlib.metadata as md; print([e.name for e in md.entry_points(group='basalt')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert "'example'" in out


INNER_DISTRIBUTION_TEST = """
import importlib.metadata as md


def test_install(temporary_distribution):
    temporary_distribution(
        "basalt-inner",
        modules={"basalt_inner/__init__.py": "VALUE = 1\\n", "basalt_inner/hooks.py": ""},
        entry_points={"basalt": {"inner": "basalt_inner.hooks"}},
    )
    import basalt_inner.hooks

    assert [ep.load() for ep in md.entry_points(group="basalt") if ep.name == "inner"]
"""


def test_temporary_distribution_is_gone_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["basalt.testing"]')
    pytester.makepyfile(test_inner=INNER_DISTRIBUTION_TEST)
    path_before, env_before = list(sys.path), os.environ.get("PYTHONPATH")
    pytester.runpytest().assert_outcomes(passed=1)
    assert "inner" not in _names("basalt")
    assert not [m for m in sys.modules if m.startswith("basalt_inner")]
    assert os.environ.get("PYTHONPATH") == env_before
    assert not [p for p in sys.path if "basalt-dist-" in p and p not in path_before]


def test_the_plugin_is_opt_in(pytester: pytest.Pytester) -> None:
    assert not [ep for ep in md.entry_points(group="pytest11") if ep.value.startswith("basalt")]
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_registry(basalt_registry):
                assert "trade" in basalt_registry.analytics
            """
        )
    )
    pytester.runpytest().assert_outcomes(errors=1)
    pytester.runpytest("-p", "basalt.testing").assert_outcomes(passed=1)


def test_cbbo_and_imbalance_frames_are_normalised_with_defaults() -> None:
    cbbo = cbbo_frame([{"TimestampNanoseconds": "2026-01-02T08:00:00.000000001"}]).collect()
    assert cbbo.schema["EventTimestamp"] == pl.Datetime("ns")
    first = cbbo.row(0, named=True)
    assert (first["ListingId"], first["MIC"]) == (DEFAULT_LISTING_ID, DEFAULT_MIC)
    assert cbbo["EventTimestamp"].dt.epoch("ns")[0] % 1000 == 1  # nanoseconds kept
    assert cbbo["TimeBucket"].to_list() == [dt.datetime(2026, 1, 2, 8, 1)]
    feed = imbalance_frame([{"Timestamp": "2026-01-02T08:00:30", "PairedQuantity": 5.0}])
    row = feed.collect().row(0, named=True)
    assert (row["EventTimestamp"], row["TradeDate"]) == (
        dt.datetime(2026, 1, 2, 8, 0, 30),
        dt.datetime(2026, 1, 2),
    )
