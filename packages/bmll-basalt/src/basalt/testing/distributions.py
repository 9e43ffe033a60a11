"""Temporarily installed distributions: modules plus a real ``.dist-info``, visible to
``importlib.metadata`` (and so to plugin discovery) in this process and in child processes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from basalt.plugins import get_registry

__all__ = ["EntryPoints", "installed_distribution", "write_distribution"]

EntryPoints = Mapping[str, Mapping[str, str]]
"""Entry points by group: ``{"basalt": {"example": "basalt_example.hooks"}}``."""


def _record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


def _module_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"module path {name!r} must be relative, inside the distribution")
    return path


def write_distribution(
    root: Path,
    name: str,
    version: str,
    modules: Mapping[str, str],
    entry_points: EntryPoints,
) -> Path:
    """Write ``modules`` (relative path → source) and ``<name>-<version>.dist-info`` with
    METADATA, entry_points.txt and RECORD into the directory ``root``; return the latter."""
    files = [root / _module_path(relative) for relative in modules]
    for path, source in zip(files, modules.values(), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    dist_info = root / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    sections = (
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
        for group, points in entry_points.items()
    )
    (dist_info / "entry_points.txt").write_text("\n".join(sections))
    files += [dist_info / "METADATA", dist_info / "entry_points.txt"]
    record = [_record_line(root, path) for path in files]
    record.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    return dist_info


def _refresh() -> None:
    importlib.invalidate_caches()
    get_registry.cache_clear()


@contextlib.contextmanager
def installed_distribution(
    name: str,
    *,
    version: str = "0.1.0",
    modules: Mapping[str, str] | None = None,
    entry_points: EntryPoints | None = None,
) -> Iterator[Path]:
    """Install a distribution into a fresh directory (yielded) for the duration of the block.

    The directory is prepended to ``sys.path`` and ``PYTHONPATH``; import and metadata
    caches (and the process-wide registry) are cleared on entry and exit. On exit the
    directory, the path entries and every imported module of the distribution are removed.
    """
    modules = modules or {}
    root = Path(tempfile.mkdtemp(prefix="basalt-dist-"))
    packages = {_module_path(m).parts[0].removesuffix(".py") for m in modules if m.endswith(".py")}
    previous = os.environ.get("PYTHONPATH")
    try:
        write_distribution(root, name, version, modules, entry_points or {})
        sys.path.insert(0, str(root))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), previous]))
        _refresh()
        yield root
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
        for module in [m for m in sys.modules if m.partition(".")[0] in packages]:
            del sys.modules[module]
        shutil.rmtree(root, ignore_errors=True)
        _refresh()
