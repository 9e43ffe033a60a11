"""Benchmark lakes: generated with :func:`basalt.sampledata.generate_lake` and cached.

A lake is identified by its generation parameters except the number of days. Days are
generated one at a time from ``START`` and recorded in ``lake.json`` once written, so a lake
cached for 20 days serves a 1-day run, and a longer run only generates the missing days.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from basalt.sampledata import generate_lake
from basalt.sampledata.generate import trading_days

__all__ = ["START", "LakeSpec", "ensure_lake", "file_rows", "input_rows", "weekdays"]

START = dt.date(2024, 3, 4)
MARKER = "lake.json"
TABLES = ("trades", "l2")


@dataclass(frozen=True)
class LakeSpec:
    """Generation parameters of a lake (every day has the same expected volume)."""

    mics: tuple[str, ...] = ("XLON", "XPAR")
    listings: int = 25
    trades_per_listing: int = 10_000
    seed: int = 0

    @property
    def name(self) -> str:
        """Directory name under the data directory."""
        mics = "-".join(self.mics)
        return f"{mics}_{self.listings}x{self.trades_per_listing}_seed{self.seed}"


def weekdays(count: int) -> list[dt.date]:
    """The first ``count`` weekdays from :data:`START`."""
    return trading_days(START, START + dt.timedelta(days=2 * count + 7))[:count]


def _key(spec: LakeSpec) -> dict[str, object]:
    return {**asdict(spec), "mics": list(spec.mics)}


def _read_marker(path: Path, spec: LakeSpec) -> dict[str, dict[str, int]]:
    """Rows per table of every day already generated with ``spec``."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if data.get("spec") != _key(spec):
        return {}
    days: dict[str, dict[str, int]] = data["days"]
    return days


def ensure_lake(data_dir: Path, spec: LakeSpec, days: int) -> Path:
    """The root of a lake of ``spec`` holding at least ``days`` weekdays (generated if
    missing)."""
    root = (data_dir / spec.name).resolve()
    marker = root / MARKER
    done = _read_marker(marker, spec)
    for day in weekdays(days):
        if day.isoformat() in done:
            continue
        started = time.perf_counter()
        summary = generate_lake(
            root,
            day,
            day,
            spec.mics,
            spec.listings,
            trades_per_listing=spec.trades_per_listing,
            seed=spec.seed,
        )
        done[day.isoformat()] = {t: summary.rows[t] for t in TABLES}
        marker.write_text(json.dumps({"spec": _key(spec), "days": done}))
        print(f"  generated {spec.name} {day} in {time.perf_counter() - started:.1f} s", flush=True)
    return root


def file_rows(root: Path, folder: str, days: int) -> int:
    """Rows of the files under ``folder`` of the first ``days`` weekdays (from footers)."""
    paths = [p for day in weekdays(days) for p in root.glob(f"{folder}/*/{day:%Y/%m/%d}/*")]
    if not paths:
        return 0
    return int(pl.scan_parquet(paths).select(pl.len()).collect().item())


def input_rows(root: Path, days: int, tables: tuple[str, ...] = TABLES) -> int:
    """Rows of the ``tables`` files of the first ``days`` weekdays of the lake at ``root``."""
    done: dict[str, dict[str, int]] = json.loads((root / MARKER).read_text())["days"]
    return sum(done[day.isoformat()][table] for day in weekdays(days) for table in tables)
