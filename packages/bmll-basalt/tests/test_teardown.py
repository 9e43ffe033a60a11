"""Processes that end without the interpreter's teardown keep their output and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

import pytest

from basalt.executors.local import LocalExecutor
from basalt.executors.workers import init_worker


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code, *args]
    return subprocess.run(command, check=False, capture_output=True, text=True)


def test_end_process_flushes_buffered_output_and_keeps_the_status() -> None:
    done = python(
        "import logging, sys\n"
        "from basalt.teardown import end_process\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "sys.stdout.write('buffered, no newline')\n"
        "logging.getLogger('x').warning('logged')\n"
        "end_process(3)\n"
    )
    assert (done.returncode, done.stdout) == (3, "buffered, no newline")
    assert "logged" in done.stderr


@pytest.mark.parametrize(("code", "status", "stderr"), [(None, 0, ""), (4, 4, ""), ("no", 1, "no")])
def test_exit_status_is_the_one_sys_exit_gives(code: object, status: int, stderr: str) -> None:
    done = python(
        f"from basalt.teardown import end_process, exit_status\nend_process(exit_status({code!r}))"
    )
    assert (done.returncode, done.stderr.strip()) == (status, stderr)


def test_skip_teardown_ends_after_the_later_exit_handlers() -> None:
    done = python(
        "import atexit\n"
        "from basalt.teardown import skip_teardown\n"
        "atexit.register(print, 'registered before: skipped')\n"
        "skip_teardown()\n"
        "atexit.register(print, 'registered after: runs')\n"
    )
    assert (done.returncode, done.stdout) == (0, "registered after: runs\n")


def test_the_basalt_command_keeps_its_exit_status_and_output() -> None:
    basalt = "from basalt.cli.main import main; main()"
    ok = python(basalt, "--version")
    assert (ok.returncode, ok.stdout) == (0, f"basalt, version {version('bmll-basalt')}\n")
    bad = python(basalt, "pipeline", "run", "--pipeline", "missing.yaml")
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr


def test_local_workers_end_without_teardown() -> None:
    with LocalExecutor(2) as executor:
        assert executor._pool is not None
        assert executor._pool._initializer is init_worker  # type: ignore[attr-defined]
        outcomes = list(executor.run(os.readlink, ["/proc/self"] * 2))
    assert all(outcome.error is None for outcome in outcomes)
