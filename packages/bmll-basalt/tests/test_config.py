"""Pipeline configuration: loading, defaults, and errors naming path and allowed values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from basalt.config.build import config_model
from basalt.config.loading import dump_config, load_pipeline, validate_config
from basalt.errors import ConfigError
from basalt.plugins import Registry

MINIMAL = {"START_DATE": "2024-03-04", "PASSES": [{"name": "p1", "modules": ["trade"]}]}


def errors_of(raw: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(raw)
    return str(info.value)


def test_defaults() -> None:
    config = validate_config(MINIMAL)
    assert config.end_date == dt.date(2024, 3, 4)
    assert config.PASSES[0].bucket(config.TIME_BUCKET_SECONDS).seconds == 60
    assert config.OUTPUT_TARGET.type == "parquet"
    assert config.PASSES[0].module_config("trade").classifications == ["LIT_CONTINUOUS"]


def test_seed_long_module_key_is_an_alias() -> None:
    raw = {
        **MINIMAL,
        "PASSES": [
            {"name": "p1", "modules": ["trade"], "trade_analytics": {"metric_prefix": "X_"}}
        ],
    }
    assert validate_config(raw).PASSES[0].module_config("trade").metric_prefix == "X_"


def test_error_names_path_and_allowed_values() -> None:
    raw = {
        "START_DATE": "2024-03-04",
        "PASSES": [
            {"name": "p1", "modules": ["trade"]},
            {
                "name": "p2",
                "modules": ["trade", "trdae"],
                "trade": {"generic_metrics": [{"measures": ["Volume", "Volumes"]}]},
            },
        ],
    }
    message = errors_of(raw)
    assert "PASSES[1].modules[1]: 'trdae' is not allowed" in message
    assert "'trade'" in message
    assert "PASSES[1].trade.generic_metrics[0].measures[1]: 'Volumes' is not allowed" in message
    assert "'VWAP'" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"UNIVERSE": "isin=GB00"},
            "UNIVERSE: unknown universe 'isin'; allowed: all, file, mic, ticker",
        ),
        (
            {"OUTPUT_TARGET": {"type": "csv"}},
            "OUTPUT_TARGET.type: unknown output type 'csv'; allowed: delta, parquet, sql",
        ),
        ({"END_DATE": "2024-03-01"}, "END_DATE 2024-03-01 is before START_DATE 2024-03-04"),
        ({"START_DATE": "4 March"}, "START_DATE:"),
        ({"TABLES_TO_LOAD": ["l4"]}, "TABLES_TO_LOAD[0]: 'l4' is not allowed"),
        ({"SURPRISE": 1}, "SURPRISE: unknown key"),
        ({"PASSES": []}, "PASSES: List should have at least 1 item"),
        (
            {"PASSES": [{"name": "a", "modules": ["trade"]}] * 2},
            "pass names must be unique; repeated: a",
        ),
        (
            {"PASSES": [{"name": "a", "modules": ["trade"], "time_bucket_seconds": 0}]},
            "PASSES[0].time_bucket_seconds: Input should be greater than 0",
        ),
        (
            {"PASSES": [{"name": "a", "modules": ["trade"], "time_bucket_anchor": "middle"}]},
            "PASSES[0].time_bucket_anchor: 'middle' is not allowed",
        ),
    ],
)
def test_invalid_values(change: dict[str, object], expected: str) -> None:
    assert expected in errors_of({**MINIMAL, **change})


def test_duplicate_metric_names_are_rejected() -> None:
    trade = {
        "generic_metrics": [{"measures": ["Volume"]}, {"sides": "Total", "measures": "Volume"}]
    }
    raw = {**MINIMAL, "PASSES": [{"name": "p", "modules": ["trade"], "trade": trade}]}
    assert "column 'TradeTotalVolume' would be produced twice" in errors_of(raw)


def test_yaml_json_and_python_files_load_the_same(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "START_DATE: '2024-03-04'\nPASSES:\n  - name: p1\n    modules: [trade]\n"
    )
    (tmp_path / "p.json").write_text(json.dumps(MINIMAL))
    (tmp_path / "p.py").write_text(
        "import polars as pl\n"
        f"USER_CONFIG = {MINIMAL!r}\n"
        "def get_universe(date):\n"
        "    return pl.DataFrame({'ListingId': [1], 'MIC': ['XLON']})\n"
    )
    loaded = [load_pipeline(tmp_path / f"p.{ext}") for ext in ("yaml", "json", "py")]
    assert loaded[0].config == loaded[1].config == loaded[2].config
    universe = loaded[2].get_universe
    assert universe is not None and universe("2024-03-04")["MIC"].to_list() == ["XLON"]


def test_overrides_win_and_none_overrides_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(MINIMAL))
    pipeline = load_pipeline(
        tmp_path / "p.json", {"END_DATE": dt.date(2024, 3, 8), "UNIVERSE": None}
    )
    assert pipeline.config.end_date == dt.date(2024, 3, 8)
    assert pipeline.config.days() == [dt.date(2024, 3, d) for d in (4, 5, 6, 7, 8)]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("p.yaml", "PASSES: [", "not valid YAML"),
        ("p.yaml", "- a\n- b\n", "must be a mapping"),
        ("p.py", "X = 1\n", "must define a USER_CONFIG dict"),
        (
            "p.py",
            "raise RuntimeError('boom')\n",
            "importing the pipeline failed: RuntimeError: boom",
        ),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_pipeline(tmp_path / name)


def test_json_schema_includes_module_configs() -> None:
    schema = config_model(Registry.create(autoload=False)).model_json_schema()
    defs = schema["$defs"]
    assert set(defs["PassConfig"]["properties"]) >= {"name", "modules", "trade"}
    assert "TradeGenericConfig" in defs
    measures = defs["TradeGenericConfig"]["properties"]["measures"]["items"]["enum"]
    assert "VWAP" in measures and "OHLC" in measures
    assert schema["properties"]["PASSES"]["description"]


def test_dump_keeps_the_options_of_each_pass_s_own_modules_only() -> None:
    raw = {
        "START_DATE": "2024-03-04",
        "PASSES": [
            {"name": "a", "modules": ["trade"], "trade": {"metric_prefix": "A_"}},
            {"name": "b", "modules": ["l2", "l3"], "l2": {"levels": 3}},
        ],
    }
    dumped = dump_config(validate_config(raw))
    first, second = dumped["PASSES"]
    assert first["trade"]["metric_prefix"] == "A_" and "l2" not in first and "l3" not in first
    assert second["l2"]["levels"] == 3 and "l3" in second and "trade" not in second
    assert validate_config(dumped) == validate_config(raw)  # the dropped ones are defaults
