"""The ``basalt`` command: subcommands are loaded lazily from entry-point group ``basalt.cli``.

Errors are reported as one paragraph with an exit code: 2 for bad usage or configuration,
1 for a failed run; ``--debug`` (or ``BASALT_DEBUG=1``) shows the traceback as well. Ctrl-C
and SIGTERM stop a command cleanly — workers stopped, temporary files removed — with one
line and exit code 130 or 143; a second signal while that cleaning up runs ends the process
at once.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import signal
import sys
import traceback
from types import FrameType
from typing import IO, Any, NoReturn

import click

from basalt import SUITE_FULL_NAME
from basalt.allocator import ALLOCATOR_ENV, prompt_release
from basalt.errors import BasaltError
from basalt.logs import configure_logging
from basalt.teardown import end_process, exit_status

__all__ = [
    "CLI_ENTRY_POINT_GROUP",
    "ReportedError",
    "Terminated",
    "cli",
    "main",
    "os_error_message",
]

CLI_ENTRY_POINT_GROUP = "basalt.cli"
SIGNAL_EXIT = 128
USAGE_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)
"""Errors of paths given on the command line (exit 2); other OSErrors (a full disk) exit 1."""


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM: it unwinds like Ctrl-C."""


def _stop_on_signal(number: int, _: FrameType | None) -> None:
    """Raise the interruption; a second signal while it unwinds ends the process at once."""
    signal.signal(signal.SIGINT, _stop_now)
    signal.signal(signal.SIGTERM, _stop_now)
    raise Terminated() if number == signal.SIGTERM else KeyboardInterrupt()


def _stop_now(number: int, _: FrameType | None) -> None:
    """The second signal: end now, leaving what the first was cleaning up (workers die
    with this process; the next run removes temporary files)."""
    os.write(2, b"stopped at once: temporary files are left for the next run to remove\n")
    os._exit(SIGNAL_EXIT + number)


class ReportedError(click.ClickException):
    """An error shown as ``error: message`` with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class EntryPointGroup(click.Group):
    """A click group whose commands come from entry points, imported only when invoked."""

    def _entry_points(self) -> dict[str, md.EntryPoint]:
        return {ep.name: ep for ep in md.entry_points(group=CLI_ENTRY_POINT_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._entry_points().get(cmd_name)
        if ep is None:
            return None
        dist = ep.dist.name if ep.dist else "unknown distribution"
        try:
            loaded = ep.load()
        except Exception as exc:
            click.echo(
                f"warning: command {cmd_name!r} from {dist} failed to load "
                f"({type(exc).__name__}: {exc}); skipped",
                err=True,
            )
            return None
        if not isinstance(loaded, click.Command):
            click.echo(
                f"warning: command {cmd_name!r} from {dist} is not a click command", err=True
            )
            return None
        return loaded

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as exc:  # cleaned up while unwinding: say so, once
            terminated = isinstance(exc, Terminated)
            number = signal.SIGTERM if terminated else signal.SIGINT
            what = "terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)"
            click.echo(
                f"{what}: stopped; temporary files removed, files written before stay complete",
                err=True,
            )
            raise click.exceptions.Exit(SIGNAL_EXIT + number) from None
        except BrokenPipeError:  # the reader went away (`basalt … | head`): stop quietly
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
            raise click.exceptions.Exit(0) from None
        except BasaltError as exc:
            _show_traceback(ctx)
            raise ReportedError(str(exc), exc.exit_code) from exc
        except USAGE_OS_ERRORS as exc:  # a path given that cannot be read or written
            _show_traceback(ctx)
            raise ReportedError(os_error_message(exc), 2) from exc
        except Exception as exc:
            _show_traceback(ctx)
            shown = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
            raise ReportedError(
                f"unexpected {type(exc).__name__}: {shown} (run with --debug for the traceback)",
                1,
            ) from exc


def _show_traceback(ctx: click.Context) -> None:
    """Print the traceback of the error being handled with ``--debug``."""
    if ctx.params.get("debug"):
        traceback.print_exc()


def os_error_message(exc: OSError) -> str:
    """``exc`` in words, without its errno: ``/x/y: permission denied``."""
    reason = (exc.strerror or str(exc)).lower()
    return f"{exc.filename}: {reason}" if exc.filename else reason


@click.group(cls=EntryPointGroup, help=f"Basalt — {SUITE_FULL_NAME}.")
@click.option("--debug", is_flag=True, envvar="BASALT_DEBUG", help="Show tracebacks on errors.")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="bmll-basalt")
def cli(debug: bool, verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 or debug else logging.INFO if verbose else logging.WARNING
    configure_logging(level)


def main() -> NoReturn:
    """Console entry point; the process ends without the interpreter's teardown
    (:mod:`basalt.teardown`)."""
    if "polars" not in sys.modules:  # polars reads the allocator's options when imported
        os.environ[ALLOCATOR_ENV] = prompt_release(os.environ.get(ALLOCATOR_ENV))
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        cli(prog_name="basalt")
    except SystemExit as done:
        end_process(exit_status(done.code))
    raise AssertionError("click's standalone mode always exits")
