"""Atomic writes: a file is either absent/previous or complete, never partial."""

from __future__ import annotations

from pathlib import Path

import pytest

from basalt.files import atomic_path


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
