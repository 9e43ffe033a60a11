"""Testing helpers for Basalt plugin authors, and an opt-in pytest plugin.

Enable the fixtures with ``pytest_plugins = ["basalt.testing"]`` in a top-level
``conftest.py`` (or ``pytest -p basalt.testing``); nothing is registered automatically.

- frames: :func:`trades_frame`, :func:`l2_frame`, :func:`l3_frame`, :func:`marketstate_frame`,
  :func:`cbbo_frame`, :func:`imbalance_frame`, :func:`reference_frame` build what an analytic
  sees in ``ctx.table(...)``; :func:`bmll_frame` builds the stored BMLL file.
- running: :func:`make_context`, :func:`compute_analytic`, :func:`run_analytic`,
  :func:`run_pass` (a one-pass pipeline over a lake).
- fixtures: ``basalt_registry``, ``basalt_cli``, ``temporary_distribution``.
- contracts: :class:`AnalyticContract`.
"""

from basalt.testing.contract import AnalyticContract
from basalt.testing.distributions import installed_distribution, write_distribution
from basalt.testing.fixtures import (
    CliInvoker,
    DistributionFactory,
    basalt_cli,
    basalt_registry,
    temporary_distribution,
)
from basalt.testing.frames import (
    DEFAULT_BUCKET,
    DEFAULT_DATE,
    DEFAULT_LISTING_ID,
    DEFAULT_MIC,
    bmll_frame,
    cbbo_frame,
    imbalance_frame,
    l2_frame,
    l3_frame,
    marketstate_frame,
    reference_frame,
    table_frame,
    trades_frame,
)
from basalt.testing.running import (
    compute_analytic,
    make_context,
    run_analytic,
    run_pass,
    universe_of,
    validate_options,
)

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_DATE",
    "DEFAULT_LISTING_ID",
    "DEFAULT_MIC",
    "AnalyticContract",
    "CliInvoker",
    "DistributionFactory",
    "basalt_cli",
    "basalt_registry",
    "bmll_frame",
    "cbbo_frame",
    "compute_analytic",
    "imbalance_frame",
    "installed_distribution",
    "l2_frame",
    "l3_frame",
    "make_context",
    "marketstate_frame",
    "reference_frame",
    "run_analytic",
    "run_pass",
    "table_frame",
    "temporary_distribution",
    "trades_frame",
    "universe_of",
    "validate_options",
    "write_distribution",
]
