"""Every distribution installed together: discovery and one pipeline mixing their modules."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
from click.testing import Result

from basalt.catalog import reference_markdown
from basalt.lake import Lake
from basalt.plugins import Registry
from basalt.sampledata import generate_lake
from basalt.tables import L3Table

Invoke = Callable[..., Result]
DAY = dt.date(2024, 3, 4)


def test_every_first_party_plugin_is_listed(basalt_cli: Invoke) -> None:
    listing = json.loads(basalt_cli("plugins", "list", "--json").output)
    by_name = {p["name"]: p for p in listing["plugins"]}
    assert by_name["basalt"]["distribution"] == "bmll-basalt"
    assert by_name["characteristics"]["distribution"] == "bmll-basalt-characteristics"
    assert by_name["characteristics"]["registers"] == {
        "analytics": ["l3_characteristics", "trade_characteristics"]
    }
    assert listing["broken"] == []


def test_kernel_and_sibling_modules_agree_in_one_pass(basalt_cli: Invoke, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    generate_lake(lake, DAY, DAY, ["XLON", "XNAS"], listings=2, trades_per_listing=300)
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        f"""
START_DATE: "{DAY}"
DATA_ROOT: "{lake}"
PASSES:
  - name: mixed
    time_bucket_seconds: 900
    modules: [trade, trade_characteristics, l3_characteristics]
    trade:
      classifications: null
      generic_metrics: [{{measures: [Volume, Count]}}]
OUTPUT_TARGET:
  path_template: "{tmp_path}/out/{{pass}}.parquet"
"""
    )
    result = basalt_cli("pipeline", "run", "--pipeline", str(pipeline))
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "out" / "mixed.parquet")
    assert frame["ListingId"].n_unique() == 4
    trades = frame.filter(pl.col("TradeEventCount").is_not_null())
    assert (trades["TradeTotalCount"] == trades["TradeEventCount"]).all()
    assert (trades["TradeTotalVolume"] == trades["TradeVolume"]).all()
    l3_rows = sum(
        pl.read_parquet(L3Table.path(Lake(str(lake)), mic, DAY)).height for mic in ("XLON", "XNAS")
    )
    assert frame["L3EventCount"].sum() == l3_rows
    assert frame.select("ListingId", "TimeBucket").is_duplicated().sum() == 0


def test_the_column_reference_documents_every_installed_module() -> None:
    reference = Path(__file__).parents[2] / "docs" / "columns.md"
    generated = reference_markdown(Registry.create())
    assert reference.read_text() == generated, (
        "regenerate: basalt analytics reference > docs/columns.md (every distribution installed)"
    )
    assert "## `l3_characteristics`" in generated and "## `trade_characteristics`" in generated
