"""The BMLL data-lake layout: where the file of a table, MIC and day lives.

``{root}/{Folder}/{MIC}/{YYYY}/{MM}/{DD}/{prefix}{MIC}-{YYYYMMDD}.parquet``; ``root`` is a
local directory or an ``s3://bucket/prefix`` URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from basalt.storage import Storage, join, open_storage

__all__ = ["DATA_ROOT_ENV", "Lake"]

DATA_ROOT_ENV = "BASALT_DATA_ROOT"


@dataclass(frozen=True)
class Lake:
    """A data lake at ``root``; ``options`` configure its storage (S3 endpoint, region, ...).

    Lakes are small and picklable: storage clients are created, and cached, in each process.
    """

    root: str
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def storage(self) -> Storage:
        """The storage holding the lake."""
        return open_storage(self.root, self.options)

    def file(self, folder: str, prefix: str, mic: str, day: dt.date) -> str:
        """Path of the file of ``folder`` for ``mic`` on ``day``."""
        name = f"{prefix}{mic}-{day:%Y%m%d}.parquet"
        return join(self.root, folder, mic, f"{day:%Y}", f"{day:%m}", f"{day:%d}", name)

    def exists(self, path: str) -> bool:
        """Whether ``path`` is an existing file."""
        return self.storage.exists(path)

    def mics(self, folder: str) -> list[str]:
        """The MICs that have a directory under ``folder``."""
        return self.storage.list_dirs(join(self.root, folder))
