"""Loading pipelines from YAML, JSON or Python files, with readable validation errors.

A Python pipeline file defines ``USER_CONFIG`` (a dict of the same keys as YAML) and
optionally ``get_universe(date)`` returning a polars frame of listings for an ISO date.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import ValidationError

from basalt.config.build import config_model
from basalt.config.models import AnalyticsConfig
from basalt.errors import ConfigError
from basalt.lake import DATA_ROOT_ENV
from basalt.plugins import Registry, get_registry

__all__ = [
    "Pipeline",
    "dump_config",
    "format_validation_error",
    "load_pipeline",
    "validate_config",
]

UniverseFunction = Callable[[str], pl.DataFrame]
MAX_FILE_BYTES = 10 * 2**20
"""The largest pipeline file read (YAML or JSON)."""
MAX_VALUES = 100_000
"""The most values a pipeline may hold once YAML aliases are expanded (a pipeline of
hundreds of passes holds a few thousand; an alias bomb billions)."""
SHOWN_INPUT = 60
"""Characters of an offending value shown in a validation error."""


@dataclass(frozen=True)
class Pipeline:
    """A validated configuration and, for Python pipeline files, their ``get_universe``."""

    config: AnalyticsConfig
    source: str
    get_universe: UniverseFunction | None = None


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "literal[", "list[", "union[")) or "[" in part:
            continue  # pydantic's internal union/validator branch names
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def format_validation_error(
    exc: ValidationError, source: str, flags: Mapping[str, str] | None = None
) -> str:
    """One line per problem: ``PATH: message``; keys set by command-line options are named
    by their ``flags`` (``{"END_DATE": "--end-date"}``)."""
    lines = [f"invalid pipeline configuration in {source}:"]
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "literal_error":
            shown = _shorten(repr(error["input"]))
            message = f"{shown} is not allowed; {message[0].lower()}{message[1:]}"
        elif error["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = f"{_shorten(repr(error['input']))} should be a mapping of keys"
        if error["loc"]:
            lines.append(f"  {_location(tuple(error['loc']))}: {message}")
        else:  # problems found across the pipeline: each names its own place
            lines += [f"  {line}" for line in message.splitlines()]
    text = "\n".join(lines)
    for key, flag in (flags or {}).items():
        text = re.sub(rf"\b{key}\b", flag, text)
    return text


def _shorten(text: str) -> str:
    return text if len(text) <= SHOWN_INPUT else text[: SHOWN_INPUT - 1] + "…"


def _values(raw: Any, limit: int) -> int:
    """How many values ``raw`` holds with shared (aliased) parts counted each time they
    appear; counting stops past ``limit``."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if id(value) in sizes:
            return sizes[id(value)]
        children = value.values() if isinstance(value, dict) else value
        total = 1
        if isinstance(value, dict | list):
            for child in children:
                total += size(child)
                if total > limit:
                    break
        sizes[id(value)] = total
        return total

    return size(raw)


def validate_config(
    raw: Mapping[str, Any],
    source: str = "<config>",
    registry: Registry | None = None,
    flags: Mapping[str, str] | None = None,
) -> AnalyticsConfig:
    """Validate a raw configuration against the registered plugins; errors name the keys
    in ``flags`` by their command-line option."""
    data = dict(raw)
    if data.get("DATA_ROOT") is None and os.environ.get(DATA_ROOT_ENV):
        data["DATA_ROOT"] = os.environ[DATA_ROOT_ENV]
    model = config_model(registry or get_registry())
    try:
        if _values(data, MAX_VALUES) > MAX_VALUES:
            raise ConfigError(f"{source}: holds more than {MAX_VALUES:,} values: not a pipeline")
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, flags)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a pipeline") from None


def dump_config(config: AnalyticsConfig, registry: Registry | None = None) -> dict[str, Any]:
    """``config`` as JSON-ready data, each pass with the options of its own modules only
    (the others are their defaults)."""
    data = config.model_dump(mode="json", by_alias=False)
    modules = set((registry or get_registry()).analytics)
    for pass_data in data["PASSES"]:
        for unused in modules - set(pass_data["modules"]):
            pass_data.pop(unused, None)
    return data


def _read_python(path: Path) -> tuple[dict[str, Any], UniverseFunction | None]:
    name = f"basalt_pipeline_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python pipeline file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(
            f"{path}: importing the pipeline failed: {type(exc).__name__}: {exc}"
        ) from exc
    raw = getattr(module, "USER_CONFIG", None)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a Python pipeline file must define a USER_CONFIG dict")
    universe = getattr(module, "get_universe", None)
    if universe is not None and not callable(universe):
        raise ConfigError(f"{path}: get_universe must be a function of the date")
    return raw, universe


def _read_raw(path: Path) -> tuple[dict[str, Any], UniverseFunction | None]:
    if not path.is_file():
        raise ConfigError(f"pipeline file {path} does not exist")
    if path.suffix == ".py":
        return _read_python(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB: not a pipeline")
    raw = _parse(path, path.read_text())
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the pipeline must be a mapping of keys such as PASSES")
    return raw.get("USER_CONFIG", raw), None


def _parse(path: Path, text: str) -> Any:
    """The data of a YAML or JSON pipeline file; errors give the line and column."""
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        too_many = _values(raw, MAX_VALUES) > MAX_VALUES
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_shorten(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a pipeline") from None
    if too_many:
        raise ConfigError(
            f"{path}: holds more than {MAX_VALUES:,} values once its YAML aliases are "
            "expanded: not a pipeline"
        )
    return raw


def load_pipeline(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    flags: Mapping[str, str] | None = None,
) -> Pipeline:
    """Read, override (e.g. dates from the command line) and validate a pipeline file;
    ``flags`` name the options the overrides came from, for error messages."""
    file = Path(path)
    raw, get_universe = _read_raw(file)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    named = {k: flag for k, flag in (flags or {}).items() if k in given}
    config = validate_config({**raw, **given}, str(file), registry, named)
    return Pipeline(config, str(file), get_universe)
