"""The schema lock: every pass's output schema, found without data, against a lock file.

``SCHEMA_LOCK_MODE``: ``off`` (default); ``update`` writes the schemas to
``SCHEMA_LOCK_PATH``; ``warn`` and ``raise`` compare them with it (a missing lock file is
written, as with ``update``) and report every added, removed and retyped column, ``raise``
before any data is read.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl

from basalt.catalog import pass_schemas
from basalt.config.models import AnalyticsConfig
from basalt.errors import ConfigError
from basalt.plugins import Registry

__all__ = ["check_schema_lock", "schema_differences"]

log = logging.getLogger(__name__)
Schemas = dict[str, dict[str, str]]


def _as_text(schemas: dict[str, pl.Schema]) -> Schemas:
    return {name: {c: str(t) for c, t in schema.items()} for name, schema in schemas.items()}


def schema_differences(locked: Schemas, current: Schemas) -> list[str]:
    """The differences of ``current`` from ``locked``, one line per pass and kind."""
    found = []
    for name in sorted(set(locked) | set(current)):
        before, after = locked.get(name), current.get(name)
        if before is None or after is None:
            found.append(f"pass {name}: {'added' if before is None else 'removed'}")
            continue
        added = [c for c in after if c not in before]
        removed = [c for c in before if c not in after]
        retyped = [
            f"{c} {before[c]} -> {after[c]}" for c in after if before.get(c, after[c]) != after[c]
        ]
        for kind, columns in (("added", added), ("removed", removed), ("retyped", retyped)):
            if columns:
                found.append(f"pass {name}: {kind} {', '.join(columns)}")
    return found


def check_schema_lock(config: AnalyticsConfig, registry: Registry) -> list[str]:
    """Apply ``SCHEMA_LOCK_MODE``: the differences found (warn), or ConfigError (raise)."""
    mode = config.SCHEMA_LOCK_MODE
    if mode == "off":
        return []
    assert config.SCHEMA_LOCK_PATH is not None  # validated
    path = Path(config.SCHEMA_LOCK_PATH)
    current = _as_text(pass_schemas(config, registry))
    if mode == "update" or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current, indent=2) + "\n")
        log.info("schema lock written to %s", path)
        return []
    try:
        locked = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"SCHEMA_LOCK_PATH {path}: not a schema lock ({exc})") from None
    differences = schema_differences(locked, current)
    if differences and mode == "raise":
        raise ConfigError(f"the output schema differs from {path}: " + "; ".join(differences))
    for line in differences:
        log.warning("schema lock %s: %s", path, line)
    return [f"schema lock {path}: {line}" for line in differences]
