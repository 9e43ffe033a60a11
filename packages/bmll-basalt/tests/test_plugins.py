"""The plugin registry: built-ins through the hooks, duplicates, broken and misspelled plugins."""

from __future__ import annotations

import types

import polars as pl
import pytest

from basalt import Analytic, AnalyticContext, hookimpl
from basalt.errors import PluginError
from basalt.plugins import Registry


def plugin_module(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, value in hooks.items():
        setattr(module, hook_name, hookimpl(lambda value=value: value))
    return module


def analytic_named(name: str) -> type[Analytic]:
    class Custom(Analytic):
        def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
            return pl.LazyFrame()

    Custom.name = name
    return Custom


def test_kernel_registers_through_the_hooks() -> None:
    registry = Registry.create(autoload=False)
    assert registry.analytics["trade"].__name__ == "TradeAnalytic"
    assert set(registry.tables) == {
        "trades",
        "l2",
        "l3",
        "marketstate",
        "reference",
        "cbbo",
        "imbalance",
    }
    assert set(registry.universes) == {"all", "mic", "ticker", "file"}
    assert "parquet" in registry.outputs and "serial" in registry.executors
    assert registry.provided_by("basalt")["analytics"] == [
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
    assert registry.plugins["basalt"].distribution == "bmll-basalt"


def test_code_registered_plugin_adds_an_analytic() -> None:
    extra = plugin_module("extra", basalt_register_analytics=[analytic_named("my_metric")])
    registry = Registry.create(autoload=False, plugins=[("extra", extra)])
    assert registry.get("analytics", "my_metric").name == "my_metric"
    assert registry.provided_by("extra") == {"analytics": ["my_metric"]}


def test_duplicate_name_names_both_providers() -> None:
    first = plugin_module("first", basalt_register_analytics=[analytic_named("dup")])
    second = plugin_module("second", basalt_register_analytics=[analytic_named("dup")])
    with pytest.raises(PluginError) as info:
        Registry.create(autoload=False, plugins=[("first", first), ("second", second)])
    message = str(info.value)
    assert message.startswith("duplicate analytic name 'dup': registered by plugin 'first'")
    assert "and by plugin 'second'" in message


def test_shadowing_a_kernel_analytic_is_a_duplicate() -> None:
    shadow = plugin_module("shadow", basalt_register_analytics=[analytic_named("trade")])
    with pytest.raises(PluginError) as info:
        Registry.create(autoload=False, plugins=[("shadow", shadow)])
    assert "plugin 'basalt' (bmll-basalt)" in str(info.value)
    assert "plugin 'shadow'" in str(info.value)


def test_misspelled_hook_is_caught() -> None:
    typo = plugin_module("typo", basalt_register_analytic=[analytic_named("x")])
    with pytest.raises(PluginError, match="unknown hook"):
        Registry.create(autoload=False, plugins=[("typo", typo)])


def test_registering_something_that_is_not_an_analytic_fails() -> None:
    wrong = plugin_module("wrong", basalt_register_analytics=[dict])
    with pytest.raises(PluginError, match="expected a subclass of Analytic"):
        Registry.create(autoload=False, plugins=[("wrong", wrong)])


def test_class_without_a_name_fails() -> None:
    class Nameless(Analytic):
        def compute(self, ctx: AnalyticContext, config: object) -> pl.LazyFrame:
            return pl.LazyFrame()

    nameless = plugin_module("nameless", basalt_register_analytics=[Nameless])
    with pytest.raises(PluginError, match="without a `name`"):
        Registry.create(autoload=False, plugins=[("nameless", nameless)])
