"""Atomic writes: a file is either absent/previous or complete, never partial; leftovers of
processes that are gone are removed, never those of live ones."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from basalt.files import HOST, atomic_path, remove_stale, run_directory, temporary_name


def test_success_renames_into_place(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.parquet"
    with atomic_path(str(target)) as partial:
        Path(partial).write_text("complete")
        assert not target.exists()
    assert target.read_text() == "complete"
    assert [p.name for p in target.parent.iterdir()] == ["out.parquet"]


def test_failure_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_text("previous")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(str(target)) as partial:
        Path(partial).write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_only_leftovers_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    target = str(tmp_path / "a")
    dead = tmp_path / f".a.{dead_pid()}-0f.tmp"
    live = tmp_path / f".a.{os.getpid()}-0f.tmp"
    other = Path(temporary_name(str(tmp_path / "a.b")))  # a live writer of another path
    legacy = tmp_path / f".a.{'0' * 32}.tmp"  # unnamed, from an older version
    for path in (dead, live, other, legacy):
        path.write_text("x")
    remove_stale(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_a_directory_swap_cut_short_is_undone(tmp_path: Path) -> None:
    """A killed writer moved the old directory aside and never put the new one in place."""
    target = tmp_path / "out"
    moved = tmp_path / f".out.{dead_pid()}-0f.tmp.old"
    (moved / "MIC=XLON").mkdir(parents=True)
    (moved / "MIC=XLON" / "0.parquet").write_text("old")
    remove_stale(str(target))
    assert (target / "MIC=XLON" / "0.parquet").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_run_directories_of_live_runs_are_kept(tmp_path: Path) -> None:
    gone = tmp_path / f"basalt-run-{HOST}-{dead_pid()}-x"
    older = tmp_path / f"basalt-run-{dead_pid()}-x"  # named before machines were
    alive = tmp_path / f"basalt-run-{HOST}-{os.getppid()}-y"
    elsewhere = tmp_path / f"basalt-run-{other_host()}-{dead_pid()}-z"  # can't be told
    for directory in (gone, older, alive, elsewhere):
        directory.mkdir()
    kept = sorted([alive.name, elsewhere.name])
    with run_directory(str(tmp_path)) as mine:
        assert Path(mine).name.startswith(f"basalt-run-{HOST}-{os.getpid()}-")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, Path(mine).name])
    assert sorted(p.name for p in tmp_path.iterdir()) == kept


def other_host() -> str:
    return "0" * 8 if HOST != "0" * 8 else "1" * 8


def test_leftovers_of_another_machine_are_kept(tmp_path: Path) -> None:
    """A shared directory: another machine's pid says nothing about its process here."""
    theirs = tmp_path / f".a.{other_host()}-{dead_pid()}-0f.tmp"
    ours = tmp_path / f".a.{HOST}-{dead_pid()}-0f.tmp"
    for path in (theirs, ours):
        path.write_text("x")
    remove_stale(str(tmp_path / "a"))
    assert [p.name for p in tmp_path.iterdir()] == [theirs.name]
