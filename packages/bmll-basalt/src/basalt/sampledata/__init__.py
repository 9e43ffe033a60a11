"""Synthetic BMLL-shaped data for demos, tests and benchmarks: :func:`generate_lake`."""

from basalt.sampledata.generate import SampleSummary, generate_lake

__all__ = ["SampleSummary", "generate_lake"]
