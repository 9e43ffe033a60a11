"""The pytest fixtures of :mod:`basalt.testing`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from click.testing import CliRunner, Result

from basalt.plugins import Registry
from basalt.testing.distributions import EntryPoints, installed_distribution

__all__ = [
    "CliInvoker",
    "DistributionFactory",
    "basalt_cli",
    "basalt_registry",
    "temporary_distribution",
]


class CliInvoker(Protocol):
    """``invoke("plugins", "list", "--json")``: run the ``basalt`` command in-process."""

    def __call__(self, *args: str, **kwargs: Any) -> Result: ...


class DistributionFactory(Protocol):
    """Install a distribution for the rest of the test; see :func:`temporary_distribution`."""

    def __call__(
        self,
        name: str = ...,
        *,
        version: str = ...,
        modules: Mapping[str, str] | None = ...,
        entry_points: EntryPoints | None = ...,
    ) -> Path: ...


@pytest.fixture
def basalt_registry() -> Registry:
    """A fresh registry of the built-in plugin and every installed ``basalt`` entry point."""
    return Registry.create()


@pytest.fixture
def basalt_cli() -> CliInvoker:
    """Run ``basalt`` (:data:`basalt.cli.main.cli`) with click's ``CliRunner``.

    Exceptions the command does not handle itself propagate to the test; keyword arguments
    (``input``, ``env``, ...) go to ``CliRunner.invoke``.
    """
    from basalt.cli.main import cli

    def invoke(*args: str, **kwargs: Any) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def temporary_distribution() -> Iterator[DistributionFactory]:
    """A factory installing distributions until the end of the test.

    ``temporary_distribution(name="basalt-example", modules={"basalt_example/__init__.py":
    source}, entry_points={"basalt": {"example": "basalt_example.hooks"}})`` writes the
    modules and a ``.dist-info`` into a temporary directory, puts it first on ``sys.path`` and
    ``PYTHONPATH`` (so child processes see it too) and returns that directory. After the
    test, the directory, the path entries and the distribution's imported modules are gone.
    """
    with contextlib.ExitStack() as stack:

        def install(
            name: str = "basalt-example",
            *,
            version: str = "0.1.0",
            modules: Mapping[str, str] | None = None,
            entry_points: EntryPoints | None = None,
        ) -> Path:
            return stack.enter_context(
                installed_distribution(
                    name, version=version, modules=modules, entry_points=entry_points
                )
            )

        yield install
