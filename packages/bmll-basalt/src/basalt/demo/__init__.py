"""The demo: a small sample lake and a pipeline over it."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from basalt.config.loading import Pipeline, load_pipeline
from basalt.sampledata import generate_lake

__all__ = ["DEMO_DAYS", "DEMO_MICS", "prepare_demo"]

DEMO_MICS = ("XLON", "XPAR")
DEMO_DAYS = (dt.date(2024, 3, 4), dt.date(2024, 3, 5))


def prepare_demo(directory: Path) -> Pipeline:
    """Write the demo lake and pipeline under ``directory`` and load the pipeline."""
    lake = directory / "lake"
    generate_lake(lake, DEMO_DAYS[0], DEMO_DAYS[-1], DEMO_MICS, listings=3, trades_per_listing=800)
    text = resources.files("basalt.demo").joinpath("pipeline.yaml").read_text()
    path = directory / "pipeline.yaml"
    path.write_text(text.replace("{lake}", str(lake)).replace("{out}", str(directory / "output")))
    return load_pipeline(path)
