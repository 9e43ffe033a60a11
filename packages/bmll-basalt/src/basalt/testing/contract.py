"""``AnalyticContract``: the tests every analytic passes, as a base class to subclass.

.. code-block:: python

    class TestTradeSizeQuantile(AnalyticContract):
        analytic = TradeSizeQuantile
        tables = {"trades": trades_frame([{"TradeTimestamp": "2026-01-02T08:00:01",
                                           "Price": 10.0, "Size": 5.0}])}
        config = {"quantile": 0.9}
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import BaseModel

from basalt.analytic import Analytic
from basalt.config.loading import validate_config
from basalt.metrics import EarlierPasses, module_columns
from basalt.plugins import Registry
from basalt.testing.frames import DEFAULT_DATE
from basalt.testing.running import compute_analytic, run_analytic, validate_options
from basalt.timebuckets import BucketSpec

__all__ = ["PASCAL_CASE", "SNAKE_CASE", "AnalyticContract", "undescribed_fields"]

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def undescribed_fields(model: type[BaseModel], _seen: set[type] | None = None) -> list[str]:
    """``Model.field`` for every field of ``model`` and its nested models without a description."""
    seen = set() if _seen is None else _seen
    seen.add(model)
    missing = []
    for name, info in model.model_fields.items():
        if not (info.description or "").strip():
            missing.append(f"{model.__name__}.{name}")
        for nested in _models_in(info.annotation):
            if nested not in seen:
                missing += undescribed_fields(nested, seen)
    return missing


class AnalyticContract:
    """Contract tests for one analytic. Subclass it as ``Test…`` and set:

    ``analytic`` (the class), ``tables`` (input name → LazyFrame, built with
    :mod:`basalt.testing.frames`), ``config`` (the module's options, default ``{}``) and
    optionally ``expected_columns`` (the metric columns the configuration produces) and
    ``input_buckets`` (the bucket settings of inputs that stand for earlier passes).
    """

    analytic: ClassVar[type[Analytic]]
    tables: ClassVar[Mapping[str, pl.LazyFrame]]
    config: ClassVar[Mapping[str, Any]] = {}
    expected_columns: ClassVar[Sequence[str] | None] = None
    input_buckets: ClassVar[Mapping[str, BucketSpec]] = {}

    @property
    def _options(self) -> BaseModel:
        return validate_options(self.analytic, self.config)

    @property
    def _keys(self) -> list[str]:
        return list(self.analytic().keys(self._options))

    @property
    def _inputs(self) -> tuple[str, ...]:
        return self.analytic().inputs(self._options)

    def _compute(self, tables: Mapping[str, pl.LazyFrame] | None = None) -> pl.LazyFrame:
        frames = self.tables if tables is None else tables
        return compute_analytic(
            self.analytic, frames, self.config, input_buckets=self.input_buckets
        )

    def _result(self, tables: Mapping[str, pl.LazyFrame] | None = None) -> pl.DataFrame:
        frames = self.tables if tables is None else tables
        return run_analytic(self.analytic, frames, self.config, input_buckets=self.input_buckets)

    def _metric_columns(self, frame: pl.DataFrame) -> list[str]:
        return [c for c in frame.columns if c not in self._keys]

    def test_name_is_snake_case(self) -> None:
        name = getattr(self.analytic, "name", None)
        assert isinstance(name, str) and SNAKE_CASE.match(name), f"bad analytic name {name!r}"
        for alias in self.analytic.config_aliases:
            assert SNAKE_CASE.match(alias), f"bad config alias {alias!r}"

    def test_registered_by_an_installed_plugin(self) -> None:
        registry = Registry.create()
        name = self.analytic.name
        assert registry.analytics.get(name) is self.analytic, (
            f"no installed plugin registers {self.analytic.__qualname__} as {name!r}"
        )

    def test_config_defaults_validate(self) -> None:
        model = self.analytic.config_model
        assert isinstance(model, type) and issubclass(model, BaseModel)
        model.model_validate({})
        validate_options(self.analytic, self.config)

    def test_config_fields_are_described(self) -> None:
        assert undescribed_fields(self.analytic.config_model) == []

    def test_config_json_schema(self) -> None:
        schema = self.analytic.config_model.model_json_schema()
        assert json.loads(json.dumps(schema)) == schema

    def test_inputs_are_given(self) -> None:
        for name in self._inputs:
            assert name in self.tables, f"the contract's tables lack the input {name!r}"

    def test_options_accepted_in_a_pass(self) -> None:
        registry = Registry.create()
        if not set(self._inputs) <= set(registry.tables):
            pytest.skip("a pass reading earlier passes needs them in the pipeline")
        name = self.analytic.name
        expected = validate_options(self.analytic, self.config)
        for key in (name, *self.analytic.config_aliases):
            raw = {
                "START_DATE": DEFAULT_DATE.isoformat(),
                "PASSES": [{"name": "contract", "modules": [name], key: dict(self.config)}],
            }
            pass_config = validate_config(raw, registry=registry).PASSES[0]
            assert pass_config.module_config(name) == expected, f"options under {key!r}"

    def test_compute_is_lazy(self) -> None:
        assert isinstance(self._compute(), pl.LazyFrame)

    def test_output_unique_on_join_keys(self) -> None:
        result = self._result()
        keys = self._keys
        assert set(keys) <= set(result.columns), f"output lacks join keys {keys}"
        assert result.height > 0, "the contract's tables should produce output rows"
        assert not result.select(keys).is_duplicated().any(), f"output not unique on {keys}"

    def test_output_schema_is_declared_lazily(self) -> None:
        lazy = self._compute()
        assert lazy.collect_schema() == lazy.collect().schema

    def test_metric_columns_are_pascal_case(self) -> None:
        prefix = getattr(validate_options(self.analytic, self.config), "metric_prefix", "") or ""
        for column in self._metric_columns(self._result()):
            name = column.removeprefix(prefix)
            assert PASCAL_CASE.match(name), f"column {column!r} is not PascalCase"

    def test_expected_columns(self) -> None:
        expected = self.expected_columns
        if expected is None:
            pytest.skip("no expected_columns set")
        else:
            assert sorted(self._metric_columns(self._result())) == sorted(expected)

    def test_columns_are_documented(self) -> None:
        options = validate_options(self.analytic, self.config)
        registry = Registry.create()
        passes = {n: self.tables[n].clear() for n in self._inputs if n not in registry.tables}
        if passes and self.analytic().columns(options) is None:
            pytest.skip("its columns are an earlier pass's: documented there (pipeline_columns)")
        earlier = EarlierPasses(passes, self.input_buckets)
        columns = module_columns(self.analytic, options, registry, earlier)
        undocumented = [c.name for c in columns if c.doc is None]
        assert undocumented == [], f"columns without a MetricDoc in {self.analytic.__name__}.docs"
        produced = self._metric_columns(self._result())
        assert sorted(c.name for c in columns) == sorted(produced), "columns() ≠ the output"

    def test_deterministic(self) -> None:
        assert_frame_equal(self._result(), self._result())

    def test_empty_input(self) -> None:
        result = self._result({name: frame.clear() for name, frame in self.tables.items()})
        assert result.height == 0
        assert set(self._keys) <= set(result.columns)
