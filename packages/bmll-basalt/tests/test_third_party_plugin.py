"""A third-party plugin, installed as a real distribution with entry points, used end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import polars as pl
import pytest
from click.testing import Result

from basalt.config.loading import Pipeline, validate_config
from basalt.errors import ConfigError, PluginError
from basalt.plugins import Registry
from basalt.runner import run_pipeline

Invoke = Callable[..., Result]

# The plugin of DESIGN.md section 2, verbatim in spirit: twenty lines, no kernel change.
HOOKS = dedent(
    '''
    import polars as pl
    from pydantic import BaseModel, Field
    from basalt import Analytic, AnalyticContext, MetricDoc, hookimpl

    class TradeSizeConfig(BaseModel):
        """Options of trade_size_quantile."""
        quantile: float = Field(0.5, description="Quantile of trade sizes.")

    class TradeSizeQuantile(Analytic):
        """Quantile of trade sizes per listing and bucket."""
        name = "trade_size_quantile"
        config_model = TradeSizeConfig
        requires = ("trades",)
        docs = (MetricDoc("TradeSizeQuantile", "Shares", "quantile of trade sizes", ""),)

        def compute(self, ctx: AnalyticContext, config: TradeSizeConfig) -> pl.LazyFrame:
            trades = ctx.table("trades")
            return trades.group_by("ListingId", "TimeBucket").agg(
                pl.col("Size").quantile(config.quantile).alias("TradeSizeQuantile"))

    @hookimpl
    def basalt_register_analytics():
        return [TradeSizeQuantile]
    '''
)
COMMAND = dedent(
    """
    import click

    @click.command()
    def hello():
        '''Say hello.'''
        click.echo("hello from a plugin")
    """
)


@pytest.fixture
def tradesize_plugin(temporary_distribution: Callable[..., Path]) -> Path:
    return temporary_distribution(
        name="basalt-tradesize",
        modules={
            "basalt_tradesize/__init__.py": "",
            "basalt_tradesize/hooks.py": HOOKS,
            "basalt_tradesize/cli.py": COMMAND,
        },
        entry_points={
            "basalt": {"tradesize": "basalt_tradesize.hooks"},
            "basalt.cli": {"hello": "basalt_tradesize.cli:hello"},
        },
    )


@pytest.mark.usefixtures("tradesize_plugin")
def test_plugin_is_discovered_and_used_in_a_run(small_lake: Path, tmp_path: Path) -> None:
    registry = Registry.create()
    assert registry.plugins["tradesize"].distribution == "basalt-tradesize"
    assert registry.provided_by("tradesize") == {"analytics": ["trade_size_quantile"]}
    config = validate_config(
        {
            "START_DATE": "2024-03-04",
            "DATA_ROOT": str(small_lake),
            "UNIVERSE": "mic=XLON",
            "PASSES": [
                {
                    "name": "p1",
                    "modules": ["trade", "trade_size_quantile"],
                    "trade": {"generic_metrics": [{"measures": ["Volume"]}]},
                    "trade_size_quantile": {"quantile": 1.0},
                }
            ],
            "OUTPUT_TARGET": {"path_template": f"{tmp_path}/out.parquet"},
        },
        registry=registry,
    )
    summary = run_pipeline(Pipeline(config, "test"), registry=registry)
    assert summary.ok, summary.failures
    frame = pl.read_parquet(tmp_path / "out.parquet")
    assert frame.select("ListingId", "TradeTotalVolume", "TradeSizeQuantile").rows() == [
        (1, 400.0, 300.0),
        (2, 5.0, 5.0),
    ]


@pytest.mark.usefixtures("tradesize_plugin")
def test_plugin_config_is_validated_and_in_the_schema(basalt_cli: Invoke) -> None:
    registry = Registry.create()
    with pytest.raises(ConfigError, match=r"PASSES\[0\]\.trade_size_quantile\.quantile"):
        validate_config(
            {
                "START_DATE": "2024-03-04",
                "PASSES": [
                    {
                        "name": "p",
                        "modules": ["trade_size_quantile"],
                        "trade_size_quantile": {"quantile": "high"},
                    }
                ],
            },
            registry=registry,
        )
    schema = json.loads(basalt_cli("pipeline", "config", "--schema").output)
    assert "trade_size_quantile" in schema["$defs"]["PassConfig"]["properties"]
    assert schema["$defs"]["TradeSizeConfig"]["properties"]["quantile"]["description"]


@pytest.mark.usefixtures("tradesize_plugin")
def test_plugin_cli_command_and_listing(basalt_cli: Invoke) -> None:
    assert basalt_cli("hello").output == "hello from a plugin\n"
    assert "hello" in basalt_cli("--help").output
    listing = json.loads(basalt_cli("plugins", "list", "--json").output)
    plugin = next(p for p in listing["plugins"] if p["name"] == "tradesize")
    assert plugin == {
        "name": "tradesize",
        "distribution": "basalt-tradesize",
        "version": "0.1.0",
        "registers": {"analytics": ["trade_size_quantile"]},
    }


@pytest.mark.usefixtures("tradesize_plugin")
def test_plugin_columns_are_listed_and_explained(basalt_cli: Invoke, tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "START_DATE: '2024-03-04'\n"
        "PASSES: [{name: p1, modules: [trade_size_quantile],"
        " trade_size_quantile: {quantile: 0.9}}]\n"
    )
    listed = json.loads(
        basalt_cli("analytics", "list", "--pipeline", str(pipeline), "--json").output
    )
    [quantile] = [row for row in listed if row["module"] == "trade_size_quantile"]
    assert (quantile["column"], quantile["unit"]) == ("TradeSizeQuantile", "Shares")
    explained = basalt_cli("analytics", "explain", "TradeSizeQuantile")
    assert explained.exit_code == 0, explained.output
    assert "quantile of trade sizes" in explained.output
    assert "module:      trade_size_quantile" in explained.output


@pytest.mark.usefixtures("tradesize_plugin")
def test_autoload_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASALT_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "tradesize" not in Registry.create().plugins
    assert "trade" in Registry.create().analytics


def test_broken_plugin_raises_in_library_and_is_reported_by_the_cli(
    temporary_distribution: Callable[..., Path], basalt_cli: Invoke
) -> None:
    temporary_distribution(
        name="basalt-broken",
        modules={
            "basalt_broken/__init__.py": "",
            "basalt_broken/hooks.py": "import not_a_module_anywhere\n",
        },
        entry_points={
            "basalt": {"broken": "basalt_broken.hooks"},
            "basalt.cli": {"broken": "basalt_broken.nope:cmd"},
        },
    )
    with pytest.raises(
        PluginError, match="plugin 'broken' from basalt-broken failed to load: ModuleNotFoundError"
    ):
        Registry.create()
    assert [b.name for b in Registry.create(strict=False).broken] == ["broken"]
    listing = basalt_cli("plugins", "list")
    assert listing.exit_code == 0
    assert "BROKEN broken (basalt-broken): ModuleNotFoundError" in listing.output
    command = basalt_cli("broken")
    assert command.exit_code == 2
    assert "command 'broken' from basalt-broken failed to load" in command.output


def test_duplicate_across_distributions_names_both(
    temporary_distribution: Callable[..., Path],
) -> None:
    for dist in ("basalt-one", "basalt-two"):
        package = dist.replace("-", "_")
        temporary_distribution(
            name=dist,
            modules={f"{package}/__init__.py": "", f"{package}/hooks.py": HOOKS},
            entry_points={"basalt": {package: f"{package}.hooks"}},
        )
    with pytest.raises(PluginError) as info:
        Registry.create()
    message = str(info.value)
    assert "duplicate analytic name 'trade_size_quantile'" in message
    assert "(basalt-one)" in message and "(basalt-two)" in message
