"""Stopping a run: SIGTERM and Ctrl-C end it cleanly (exit 143/130, one line, workers
stopped, temporary files removed); SIGKILL of the command takes its workers with it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from basalt.sampledata import generate_lake

FIRST, LAST = dt.date(2024, 3, 4), dt.date(2024, 3, 15)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, FIRST, LAST, ["XLON"], listings=4, trades_per_listing=3000)
    return root


def children(pid: int) -> set[int]:
    """Every descendant process of ``pid``."""
    found: set[int] = set()
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            direct = {int(c) for c in tasks.read_text().split()}
        except OSError:
            continue
        for child in direct:
            found |= {child} | children(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """The processes of ``pids`` that still exist and are not zombies."""
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def started(lake: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], set[int], Path]]:
    """A ``basalt pipeline run`` with two workers, busy; its workers (and resource tracker)
    and its temporary directory."""
    temp = tmp_path / "temp"
    raw = {
        "START_DATE": str(FIRST),
        "END_DATE": str(LAST),
        "DATA_ROOT": str(lake),
        "NUM_WORKERS": 2,
        "BATCH_FREQ": "W",
        "TEMP_DIR": str(temp),
        "PASSES": [{"name": "p1", "modules": ["trade", "l2tw", "l3"]}],
        "OUTPUT_TARGET": {"path_template": f"{tmp_path}/out/{{start_date}}.parquet"},
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(raw))
    basalt = str(Path(sys.executable).with_name("basalt"))
    command = [basalt, "pipeline", "run", "--pipeline", str(tmp_path / "pipeline.yaml")]
    process = subprocess.Popen(
        [*command, "--no-progress"], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and not list(temp.glob("basalt-run-*/part-*")):
        workers |= children(process.pid)
        time.sleep(0.05)
    workers |= children(process.pid)
    assert process.poll() is None, "the run ended before it could be stopped"
    assert sum("spawn_main" in command_line(pid) for pid in workers) == 2
    try:
        yield process, workers, temp
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()  # reaps it and closes its stderr pipe


def gone_within(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


@pytest.mark.parametrize(
    ("name", "group", "code", "line"),
    [
        ("SIGTERM", False, 143, "terminated (SIGTERM): stopped"),
        ("SIGINT", True, 130, "interrupted (Ctrl-C): stopped"),  # Ctrl-C: the whole group
    ],
)
def test_a_signal_stops_the_run_cleanly(
    started: tuple[subprocess.Popen[str], set[int], Path],
    name: str,
    group: bool,
    code: int,
    line: str,
) -> None:
    process, workers, temp = started
    number = getattr(signal, name)
    os.killpg(process.pid, number) if group else os.kill(process.pid, number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.splitlines() == [stderr.strip()] and stderr.startswith(line), stderr
    assert not gone_within(workers, 10), "the workers were stopped"
    assert not list(temp.iterdir()), "the temporary files were removed"


def test_killing_the_command_takes_its_workers_with_it(
    started: tuple[subprocess.Popen[str], set[int], Path],
) -> None:
    process, workers, _ = started
    tracker = {pid for pid in workers if "resource_tracker" in command_line(pid)}
    assert tracker, "multiprocessing's resource tracker runs beside the workers"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not gone_within(workers, 10), "workers and resource tracker ended with the command"


def test_a_second_signal_during_the_clean_up_ends_the_process_at_once() -> None:
    code = (
        "import os, signal, time\n"
        "from basalt.cli import main\n"
        "signal.signal(signal.SIGTERM, main._stop_on_signal)\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)\n"
        "except KeyboardInterrupt:  # the clean-up, slow, and signalled again\n"
        "    os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)\n"
        "print('not reached')\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert time.monotonic() - started < 4
    assert (done.returncode, done.stdout) == (143, "")
    assert done.stderr == "stopped at once: temporary files are left for the next run to remove\n"
