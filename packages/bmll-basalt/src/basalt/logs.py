"""Logging of the ``basalt`` command and of the worker processes it starts.

The command sets the level (``-v`` info, ``-vv`` debug, else the pipeline's
``LOGGING_LEVEL`` when it sets one, else warnings); worker processes inherit it through
``BASALT_LOG_LEVEL`` so that their records show too.
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_FORMAT", "LOG_LEVEL_ENV", "configure_logging", "configure_worker_logging"]

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
LOG_LEVEL_ENV = "BASALT_LOG_LEVEL"


def configure_logging(level: int) -> None:
    """Log records of ``level`` and above to standard error, here and in workers."""
    logging.basicConfig(level=level, format=LOG_FORMAT, force=True)
    os.environ[LOG_LEVEL_ENV] = logging.getLevelName(level)


def configure_worker_logging() -> None:
    """In a worker process: the level the command set, if any."""
    level = os.environ.get(LOG_LEVEL_ENV)
    if level:
        logging.basicConfig(level=level, format=LOG_FORMAT)
