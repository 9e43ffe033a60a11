"""Synthetic BMLL-shaped data for demos, tests and benchmarks."""
