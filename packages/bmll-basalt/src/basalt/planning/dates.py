"""Date batches: the output partitions of a pass.

A batch covers a calendar week (``W``), two weeks (``2W``, from the Monday of the first
week) or a month (``M``), clipped to ``[start, end]`` so it never starts before the first
day or ends after the last. Without a frequency the range length picks one: up to 7 days
one batch, up to 60 weekly, up to 180 fortnightly, beyond that monthly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from basalt.config.models import AnalyticsConfig, PassConfig

__all__ = ["BatchFreq", "DateBatch", "auto_freq", "date_batches", "pass_date_batches"]

BatchFreq = Literal["W", "2W", "M"]


@dataclass(frozen=True)
class DateBatch:
    """The days of one output partition."""

    start: dt.date
    end: dt.date
    days: tuple[dt.date, ...]

    @property
    def key(self) -> str:
        """``YYYY-MM-DD_YYYY-MM-DD``."""
        return f"{self.start}_{self.end}"


def auto_freq(start: dt.date, end: dt.date) -> BatchFreq | None:
    """The frequency for a range: None (a single batch) up to a week, then W, 2W, M."""
    length = (end - start).days + 1
    if length <= 7:
        return None
    return "W" if length <= 60 else "2W" if length <= 180 else "M"


def _period_start(day: dt.date, freq: BatchFreq | None, first: dt.date) -> dt.date:
    if freq is None:
        return first
    if freq == "M":
        return day.replace(day=1)
    monday = day - dt.timedelta(days=day.weekday())
    if freq == "W":
        return monday
    first_monday = first - dt.timedelta(days=first.weekday())
    return monday - dt.timedelta(days=((monday - first_monday).days // 7) % 2 * 7)


def date_batches(
    start: dt.date, end: dt.date, freq: BatchFreq | None, *, exclude_weekends: bool = True
) -> list[DateBatch]:
    """The batches of ``[start, end]``; batches without a day to process are dropped."""
    groups: dict[dt.date, list[dt.date]] = {}
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        if exclude_weekends and day.weekday() >= 5:
            continue
        groups.setdefault(_period_start(day, freq, start), []).append(day)
    batches = []
    for period, days in groups.items():
        first = max(period, start)
        last = min(_period_end(period, freq, end), end)
        batches.append(DateBatch(first, last, tuple(days)))
    return batches


def _period_end(period: dt.date, freq: BatchFreq | None, end: dt.date) -> dt.date:
    if freq is None:
        return end
    if freq == "M":
        following = (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    return period + dt.timedelta(days=6 if freq == "W" else 13)


def pass_date_batches(config: AnalyticsConfig, pass_config: PassConfig) -> list[DateBatch]:
    """The output partitions of ``pass_config``: BATCH_FREQ date batches (its own
    ``batch_freq`` first; automatic by the length of the range without either)."""
    freq = pass_config.batch_freq or config.BATCH_FREQ
    if freq is None:
        freq = auto_freq(config.START_DATE, config.end_date)
    return date_batches(
        config.START_DATE, config.end_date, freq, exclude_weekends=config.EXCLUDE_WEEKENDS
    )
