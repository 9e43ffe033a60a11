"""Exceptions raised by Basalt. Each maps to a CLI exit code."""

from __future__ import annotations

__all__ = [
    "BasaltError",
    "ConfigError",
    "DataError",
    "ExpectationError",
    "PluginError",
    "QualityCheckError",
    "RunFailedError",
    "TableSchemaError",
]


class BasaltError(Exception):
    """Base class of every error Basalt reports to a user."""

    exit_code = 1


class ConfigError(BasaltError):
    """Invalid configuration or usage (CLI exit code 2)."""

    exit_code = 2


class PluginError(BasaltError):
    """A plugin could not be loaded or registers something invalid."""

    exit_code = 2


class DataError(BasaltError):
    """Input data is missing, unreadable or malformed."""


class QualityCheckError(DataError):
    """A pass's output broke its quality checks (``action: raise``)."""


class ExpectationError(DataError):
    """A task's output broke its pass's expectations (``action: raise``)."""


class TableSchemaError(DataError):
    """An input file lacks columns its table requires."""

    def __init__(self, path: str, table: str, missing: list[str]) -> None:
        self.path = path
        self.table = table
        self.missing = missing
        super().__init__(
            f"{path}: the {table} table requires column(s) {', '.join(missing)}, "
            "which this file does not have"
        )


class RunFailedError(BasaltError):
    """A pipeline run finished with failed tasks."""
