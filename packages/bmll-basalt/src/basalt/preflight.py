"""Checks before a run computes anything: that there is data to read and somewhere to write.

A run that could read nothing, or could not write what it computes, is a usage error
(:class:`~basalt.errors.ConfigError`, exit 2) found before any work.
"""

from __future__ import annotations

from basalt.config.models import AnalyticsConfig
from basalt.errors import ConfigError, DataError, TransientError
from basalt.lake import Lake
from basalt.passes import reads_lake
from basalt.planning.dates import pass_date_batches
from basalt.planning.plan import output_location
from basalt.plugins import Registry
from basalt.retry import with_retries

__all__ = ["check_data_root", "check_outputs"]


def check_data_root(config: AnalyticsConfig, registry: Registry) -> None:
    """Raise ConfigError unless the data root of ``config`` is an existing directory (or
    object store prefix), when some pass reads the lake."""
    if not any(reads_lake(p, registry) for p in config.PASSES):
        return
    root = config.DATA_ROOT
    if root is None:
        raise ConfigError("no data root: set DATA_ROOT, --data-root or BASALT_DATA_ROOT")
    storage = Lake(root, config.storage_options).storage
    try:
        found = with_retries(
            lambda: storage.is_dir(root), retries=config.IO_RETRIES, what=f"reading {root}"
        )
    except TransientError:
        raise  # still failing after the retries: a failed run, not a usage error
    except DataError as exc:
        raise ConfigError(f"data root: {exc}") from exc
    if not found:
        raise ConfigError(
            f"data root {root} does not exist or is not a directory "
            "(DATA_ROOT, --data-root or BASALT_DATA_ROOT)"
        )


def check_outputs(config: AnalyticsConfig, registry: Registry) -> None:
    """Raise ConfigError if some pass could not write its first partition (a read-only
    directory, an unreachable database): found before anything is computed."""
    for pass_config in config.PASSES:
        output = config.output_for(pass_config)
        target = registry.outputs[output.type](output, config.storage_options)
        batches = pass_date_batches(config, pass_config)
        if batches:
            target.check_writable(output_location(config, pass_config, batches[0]))
