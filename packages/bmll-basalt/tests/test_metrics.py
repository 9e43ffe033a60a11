"""Column documentation: docs, the columns a configuration makes, the catalogue and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from basalt import Analytic, AnalyticContext
from basalt.analytics.l2 import L2Analytic
from basalt.analytics.trade import TradeAnalytic
from basalt.catalog import explain_column, pipeline_columns, reference_markdown
from basalt.config.loading import validate_config
from basalt.metrics import Column, MetricDoc, documented, module_columns, options_at
from basalt.plugins import Registry
from basalt.testing import CliInvoker, l2_frame, run_analytic, trades_frame, validate_options

REFERENCE = Path(__file__).parents[3] / "docs" / "columns.md"
TRADES = [
    {"TradeTimestamp": "2026-01-02T08:00:01", "Price": 10.0, "Size": 5.0, "AggressorSide": 1},
    {"TradeTimestamp": "2026-01-02T08:00:02", "Price": 11.0, "Size": 1.0, "AggressorSide": 2},
]
SNAPSHOT = {
    "EventTimestamp": "2026-01-02T08:00:01",
    **{
        f"{side}Price{k}": (10.0 - k if side == "Bid" else 10.0 + k)
        for side in ("Bid", "Ask")
        for k in range(1, 11)
    },
    **{f"{side}Quantity{k}": 100 for side in ("Bid", "Ask") for k in range(1, 11)},
    **{f"{side}NumOrders{k}": 2 for side in ("Bid", "Ask") for k in range(1, 11)},
}
EVERY_TRADE_METRIC = {
    "metric_prefix": "X_",
    "generic_metrics": [
        {
            "sides": ["Bid", "Ask", "Total", "Unknown"],
            "measures": [
                "Volume", "Count", "Notional", "NotionalEUR", "NotionalUSD",
                "VWAP", "OHLC", "AvgPrice", "MedianPrice",
            ],
        },
        {"sides": "Bid", "measures": "Volume", "output_name_pattern": "V_{side}"},
    ],
}  # fmt: skip
EVERY_L2_METRIC = {
    "liquidity": [
        {
            "levels": [1, 10],
            "measures": [
                "Quantity",
                "Price",
                "NumOrders",
                "CumQuantity",
                "CumOrders",
                "CumNotional",
            ],
        }
    ],
    "spreads": [{"variant": ["Abs", "BPS"]}],
    "imbalances": [
        {"levels": [1, 3], "measure": ["Quantity", "CumQuantity", "CumNotional", "Orders"]}
    ],
    "ohlc": [
        {"source": ["Mid", "Bid", "Ask", "WeightedMid"]},
        {"source": "Mid", "open_mode": "prev_close", "output_name_pattern": "C{source}{part}"},
    ],
}


def test_a_doc_matches_its_default_names_only() -> None:
    doc = MetricDoc(
        "Trade{side}VWAP", "XLOC", "VWAP of {side} trades", "", {"side": ("Bid", "Ask")}
    )
    assert doc.match("TradeAskVWAP") == {"side": "Ask"}
    assert doc.match("TradeTotalVWAP") is None
    assert doc.match("TradeAskVWAPx") is None
    assert Column("V", doc, {"side": "Bid"}).definition == "VWAP of Bid trades"
    assert Column("V", doc).definition == "VWAP of {side} trades"


def test_a_doc_needs_a_known_unit_and_values_for_its_placeholders() -> None:
    with pytest.raises(ValueError, match="unknown unit 'Apples'"):
        MetricDoc("X", "Apples", "x", "")
    with pytest.raises(ValueError, match=r"no values for placeholder\(s\) \['side'\]"):
        MetricDoc("Trade{side}", "Shares", "x", "")


def test_documented_strips_the_prefix_and_flags_unknown_names() -> None:
    doc = MetricDoc("Total{side}", "Shares", "Σ {side}", "", {"side": ("Bid",)})
    found = documented([doc], ["P_TotalBid", "P_Other"], "P_")
    assert [(c.name, c.doc, dict(c.values)) for c in found] == [
        ("P_TotalBid", doc, {"side": "Bid"}),
        ("P_Other", None, {}),
    ]


@pytest.mark.parametrize(
    ("analytic", "options", "tables"),
    [
        (TradeAnalytic, EVERY_TRADE_METRIC, {"trades": trades_frame(TRADES)}),
        (TradeAnalytic, {}, {"trades": trades_frame(TRADES)}),
        (L2Analytic, EVERY_L2_METRIC, {"l2": l2_frame([SNAPSHOT])}),
        (L2Analytic, {}, {"l2": l2_frame([SNAPSHOT])}),
    ],
)
def test_declared_columns_are_the_computed_ones_and_documented(
    analytic: type[Analytic], options: dict[str, Any], tables: dict[str, pl.LazyFrame]
) -> None:
    columns = module_columns(analytic, validate_options(analytic, options), Registry.create())
    computed = run_analytic(analytic, tables, options).columns
    assert [c.name for c in columns] == [c for c in computed if c not in analytic.join_keys]
    assert [c.name for c in columns if c.doc is None] == []
    for column in columns:
        assert "{" not in column.definition, column  # every placeholder filled


def test_every_builtin_analytic_documents_its_default_columns() -> None:
    registry = Registry.create(autoload=False)
    for name, analytic in registry.analytics.items():
        options = analytic.config_model()
        if not set(analytic().inputs(options)) <= set(registry.tables):
            continue  # its columns depend on the earlier pass it reads: see its contract test
        columns = module_columns(analytic, options, registry)
        assert columns, name
        assert [c.name for c in columns if c.doc is None] == [], name


class Undocumented(Analytic):
    """Trade sizes, one of them documented."""

    name = "sizes"
    requires = ("trades",)
    docs = (MetricDoc("SizeMax", "Shares", "largest Size", ""),)

    def compute(self, ctx: AnalyticContext, config: Any) -> pl.LazyFrame:
        size = pl.col("Size")
        return (
            ctx.table("trades")
            .group_by("ListingId", "TimeBucket")
            .agg(size.max().alias("SizeMax"), size.min().alias("SizeMin"))
        )


def test_columns_of_an_analytic_without_declared_columns_come_from_a_dry_run() -> None:
    columns = module_columns(Undocumented, Undocumented.config_model(), Registry.create())
    assert [(c.name, c.doc is not None) for c in columns] == [("SizeMax", True), ("SizeMin", False)]


def pipeline(**trade: Any) -> dict[str, Any]:
    return {
        "START_DATE": "2024-03-04",
        "PASSES": [
            {"name": "p1", "modules": ["trade", "l2"], "trade": trade, "l2": {"levels": 1}},
            {"name": "p2", "modules": ["trade"]},
        ],
    }


def test_pipeline_columns_carry_pass_module_path_and_options() -> None:
    registry = Registry.create()
    config = validate_config(
        pipeline(generic_metrics=[{"sides": "Bid", "measures": "VWAP"}, {"measures": "Count"}]),
        registry=registry,
    )
    entries = {(e.pass_name, e.column.name): e for e in pipeline_columns(config, registry)}
    count = entries[("p1", "TradeTotalCount")]
    assert (count.module, count.config_path) == ("trade", "PASSES[0].trade.generic_metrics[1]")
    assert count.options["measures"] == ["Count"]
    assert count.column.definition == "number of the bucket's Total trades"
    spread = entries[("p1", "SpreadBps")]
    assert (spread.module, spread.config_path) == ("l2", "PASSES[0].l2.spreads[0]")
    assert entries[("p2", "TimeBucket")].module == "keys"
    assert ("p2", "TradeTotalVWAP") in entries and ("p2", "SpreadBps") not in entries


def test_explain_without_a_pipeline_uses_default_names() -> None:
    [entry] = explain_column("AskCumNotional3", Registry.create())
    assert (entry.module, entry.column.doc and entry.column.doc.unit) == ("l2", "XLOC")
    assert entry.column.definition == "Σ price · quantity of Ask levels 1..3"
    assert explain_column("NoSuchColumn", Registry.create()) == []
    [vwap] = explain_column("TradeTotalVWAP", Registry.create())  # with the module's defaults
    assert vwap.options["classifications"] == ["LIT_CONTINUOUS"]
    assert vwap.options["generic_metrics"][0]["sides"] == ["Total"]


def test_options_at_walks_a_path() -> None:
    options = {"generic_metrics": [{"sides": ["Bid"]}, {"sides": ["Ask"]}]}
    assert options_at(options, "generic_metrics[1]") == {"sides": ["Ask"]}


def test_the_analytics_reference_in_docs_holds_the_kernel_modules() -> None:
    """Each section of the kernel's reference is in docs/columns.md, which also documents
    the sibling distributions' modules (checked where they are installed)."""
    sections = reference_markdown(Registry.create(autoload=False)).split("\n## ")
    written = REFERENCE.read_text()
    stale = [s.splitlines()[0] for s in sections if s not in written]
    assert not stale, f"regenerate with every distribution installed: {stale}"


# -- the command line ----------------------------------------------------------------------


def write(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_list_of_a_pipeline_as_json(basalt_cli: CliInvoker, tmp_path: Path) -> None:
    path = write(tmp_path, pipeline(metric_prefix="T_"))
    result = basalt_cli("analytics", "list", "--pipeline", path, "--json", "--module", "trade")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    names = [(r["pass"], r["column"]) for r in rows]
    assert ("p1", "T_TradeTotalVWAP") in names and ("p2", "TradeTotalVWAP") in names
    assert {r["module"] for r in rows} == {"trade"}
    vwap = next(r for r in rows if r["column"] == "T_TradeTotalVWAP")
    assert vwap["unit"] == "XLOC" and vwap["config_path"] == "PASSES[0].trade.generic_metrics[0]"


def test_list_without_a_pipeline_shows_patterns(basalt_cli: CliInvoker) -> None:
    result = basalt_cli("analytics", "list")
    assert result.exit_code == 0, result.output
    assert "Trade{side}VWAP" in result.output and "Imbalance{measure}{level}" not in result.output
    assert "ImbalanceOrders{level}" in result.output


def test_explain_a_renamed_column(basalt_cli: CliInvoker, tmp_path: Path) -> None:
    family = {"sides": "Ask", "measures": "OHLC", "output_name_pattern": "{measure}_{side}"}
    path = write(tmp_path, pipeline(generic_metrics=[family]))
    result = basalt_cli("analytics", "explain", "High_Ask", "--pipeline", path)
    assert result.exit_code == 0, result.output
    assert "highest LocalPrice of the bucket's Ask trades" in result.output
    assert "PASSES[0].trade.generic_metrics[0]" in result.output
    assert "XLOC" in result.output and '"output_name_pattern": "{measure}_{side}"' in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("analytics", "explain", "Nope"), "no column 'Nope'"),
        (("analytics", "list", "--module", "nope"), "unknown module(s) nope"),
    ],
)
def test_unknown_columns_and_modules_exit_2(
    basalt_cli: CliInvoker, args: tuple[str, ...], message: str
) -> None:
    result = basalt_cli(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_an_invalid_pipeline_exits_2_naming_the_problem(
    basalt_cli: CliInvoker, tmp_path: Path
) -> None:
    path = write(tmp_path, pipeline(generic_metrics=[{"measures": ["Volumes"]}]))
    result = basalt_cli("analytics", "list", "--pipeline", path)
    assert result.exit_code == 2
    assert "'Volumes' is not allowed" in result.output
