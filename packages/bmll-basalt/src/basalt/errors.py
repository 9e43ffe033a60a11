"""Exceptions raised by Basalt. Each maps to a CLI exit code.

Every error survives pickling with its message and attributes, whatever its constructor
takes: errors raised in worker processes travel back to the process running the pipeline.
"""

from __future__ import annotations

import pickle
from typing import Any

__all__ = [
    "BasaltError",
    "ConfigError",
    "DataError",
    "ExpectationError",
    "PluginError",
    "QualityCheckError",
    "RunFailedError",
    "TableSchemaError",
    "TransientError",
    "WorkerError",
    "describe",
    "portable",
]


def _rebuild(kind: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class BasaltError(Exception):
    """Base class of every error Basalt reports to a user."""

    exit_code = 1

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, self.__dict__)


class ConfigError(BasaltError):
    """Invalid configuration or usage (CLI exit code 2)."""

    exit_code = 2


class PluginError(BasaltError):
    """A plugin could not be loaded or registers something invalid."""

    exit_code = 2


class DataError(BasaltError):
    """Input data is missing, unreadable or malformed."""


class TransientError(DataError):
    """Input or output failed in a way that may go away when tried again: throttling, a
    refused or dropped connection, a time-out, a server error."""


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


class WorkerError(BasaltError):
    """An error raised in a worker process that could not travel back as itself (it does
    not survive pickling); its message starts with the original type's name."""


def portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`WorkerError` with its type and
    message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return WorkerError(f"{type(exc).__name__}: {exc}")
    return exc


def describe(exc: BaseException) -> str:
    """``exc`` for a user: Basalt's own errors by their message, others prefixed with their
    type (``ZeroDivisionError: division by zero``)."""
    return str(exc) if isinstance(exc, BasaltError) else f"{type(exc).__name__}: {exc}"
