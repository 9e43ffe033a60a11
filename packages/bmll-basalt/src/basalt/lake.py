"""The BMLL data-lake layout: where the file of a table, MIC and day lives.

``{root}/{Folder}/{MIC}/{YYYY}/{MM}/{DD}/{prefix}{MIC}-{YYYYMMDD}.parquet``
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_ROOT_ENV", "Lake"]

DATA_ROOT_ENV = "BASALT_DATA_ROOT"


@dataclass(frozen=True)
class Lake:
    """A data lake rooted at a local directory."""

    root: str

    def file(self, folder: str, prefix: str, mic: str, day: dt.date) -> str:
        """Path of the file of ``folder`` for ``mic`` on ``day``."""
        return os.path.join(
            self.root,
            folder,
            mic,
            f"{day:%Y}",
            f"{day:%m}",
            f"{day:%d}",
            f"{prefix}{mic}-{day:%Y%m%d}.parquet",
        )

    def exists(self, path: str) -> bool:
        """Whether ``path`` is an existing file."""
        return os.path.isfile(path)

    def mics(self, folder: str) -> list[str]:
        """The MICs that have a directory under ``folder``."""
        base = Path(self.root, folder)
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
