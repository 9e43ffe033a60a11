"""Where lakes and outputs live: local directories, or object stores such as S3.

Paths are strings: a local path or a URL (``s3://bucket/key``). A :class:`Storage` answers
the few questions Basalt asks of a file system — does a file exist, which directories does a
folder hold, what is in a Parquet footer — and writes Parquet atomically. Polars reads and
writes the same paths with :attr:`Storage.polars_options`.
"""

from __future__ import annotations

import functools
import glob
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from basalt.files import atomic_path

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["LocalStorage", "Storage", "is_url", "join", "open_storage"]


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (``s3://...``) rather than a local path."""
    return "://" in path


def join(root: str, *parts: str) -> str:
    """Join path parts with ``/`` for URLs and the OS separator for local paths."""
    if is_url(root):
        return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(root, *parts)


class Storage(ABC):
    """A file system holding lake files and outputs."""

    @property
    def polars_options(self) -> dict[str, str] | None:
        """``storage_options`` for polars scans and sinks (None for local files)."""
        return None

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether the file ``path`` exists."""

    @abstractmethod
    def list_dirs(self, path: str) -> list[str]:
        """Names of the directories (prefixes) directly under ``path``, sorted."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (on an object store: a prefix holding objects)."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """The files matching ``pattern`` (``*`` and ``?``), sorted."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete the file ``path``."""

    @abstractmethod
    def metadata(self, path: str) -> pq.FileMetaData:
        """The Parquet footer of ``path`` (schema, row groups, statistics)."""

    @abstractmethod
    def write_parquet(
        self, frame: pl.LazyFrame, path: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Write ``frame`` to ``path``, with key-value ``metadata`` in its footer, so that
        readers never see a partial file."""

    def file_metadata(self, path: str) -> dict[str, str]:
        """The key-value metadata of the Parquet footer of ``path``."""
        found = self.metadata(path).metadata or {}
        return {key.decode(): value.decode() for key, value in found.items()}

    def schema(self, path: str) -> pl.Schema:
        """The polars schema of the Parquet file ``path``, from its footer."""
        arrow = self.metadata(path).schema.to_arrow_schema()
        return pl.DataFrame(arrow.empty_table()).schema

    def scan_parquet(self, paths: str | list[str]) -> pl.LazyFrame:
        """Lazy scan of ``paths`` (a file, a list of files or a glob)."""
        return pl.scan_parquet(paths, storage_options=self.polars_options)


class LocalStorage(Storage):
    """The local file system."""

    def exists(self, path: str) -> bool:
        return os.path.isfile(path)

    def list_dirs(self, path: str) -> list[str]:
        if not os.path.isdir(path):
            return []
        return sorted(e.name for e in os.scandir(path) if e.is_dir())

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))

    def remove(self, path: str) -> None:
        os.remove(path)

    def metadata(self, path: str) -> pq.FileMetaData:
        import pyarrow.parquet as pq  # only where footers are inspected (planning)

        return pq.read_metadata(path)

    def schema(self, path: str) -> pl.Schema:
        return pl.Schema(pl.read_parquet_schema(path))

    def write_parquet(
        self, frame: pl.LazyFrame, path: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        with atomic_path(path) as partial:
            frame.sink_parquet(
                partial, compression="zstd", statistics=True, metadata=dict(metadata or {})
            )


def open_storage(root: str, options: tuple[tuple[str, str], ...] = ()) -> Storage:
    """The storage of ``root`` (S3 for ``s3://`` URLs, else the local file system), configured
    by ``options``; one instance per process and configuration."""
    scheme = root.split("://", 1)[0] if is_url(root) else "file"
    return _storage(scheme, options)


@functools.cache
def _storage(scheme: str, options: tuple[tuple[str, str], ...]) -> Storage:
    if scheme == "s3":
        from basalt.s3 import S3Storage

        return S3Storage(dict(options))
    if scheme != "file":
        from basalt.errors import ConfigError

        raise ConfigError(f"unsupported storage scheme {scheme}://; use a local path or s3://")
    return LocalStorage()
