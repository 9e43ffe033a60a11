"""Venues of the synthetic lake: session schedule, time zone, currency, tick regime and FX."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

from basalt.errors import ConfigError

__all__ = [
    "FX_TO_EUR",
    "FX_TO_USD",
    "VENUES",
    "Session",
    "Venue",
    "get_venue",
    "session",
    "tick_size",
]

NS_PER_SECOND = 1_000_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Fixed FX rates: value of one unit of the currency in EUR / in USD (GBX is pence).
FX_TO_EUR: dict[str, float] = {"GBX": 0.0117, "EUR": 1.0, "USD": 0.925}
FX_TO_USD: dict[str, float] = {"GBX": 0.0127, "EUR": 1.081, "USD": 1.0}

# Tick size by price band (upper bound exclusive, tick), in the style of the MiFID II table for
# the most liquid band; prices above the last bound use the last tick.
_EU_TICKS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0001),
    (2.0, 0.0002),
    (5.0, 0.0005),
    (10.0, 0.001),
    (20.0, 0.002),
    (50.0, 0.005),
    (100.0, 0.01),
    (200.0, 0.02),
    (500.0, 0.05),
    (1000.0, 0.1),
    (2000.0, 0.2),
    (5000.0, 0.5),
    (10000.0, 1.0),
    (math.inf, 2.0),
)
_US_TICKS: tuple[tuple[float, float], ...] = ((1.0, 0.0001), (math.inf, 0.01))


@dataclass(frozen=True)
class Venue:
    """A trading venue (MIC) with its daily schedule in local time.

    The day runs ``CLOSED`` → ``OPENING_AUCTION`` (from ``auction_open``) →
    ``CONTINUOUS_TRADING`` (``continuous_open`` to ``continuous_close``) → ``CLOSING_AUCTION``
    (to ``auction_close``) → ``POST_TRADE`` (to ``post_close``) → ``CLOSED``.
    """

    mic: str
    code: int
    timezone: str
    currency: str
    country: str
    ticker_prefix: str
    ric_suffix: str
    auction_open: dt.time
    continuous_open: dt.time
    continuous_close: dt.time
    auction_close: dt.time
    post_close: dt.time

    @property
    def us_market(self) -> bool:
        """Whether the venue is a US exchange (cent ticks, 100-share round lots)."""
        return self.country == "US"

    @property
    def round_lot(self) -> int:
        """Shares per round lot (100 on US venues, 1 elsewhere)."""
        return 100 if self.us_market else 1

    @property
    def instrument_currency(self) -> str:
        """The major currency of the quote currency (GBP for GBX)."""
        return "GBP" if self.currency == "GBX" else self.currency

    @property
    def minor_currency_factor(self) -> float:
        """Quote-currency units per instrument-currency unit (100 for GBX)."""
        return 100.0 if self.currency == "GBX" else 1.0

    @property
    def jurisdiction(self) -> str:
        """Regulatory jurisdiction: UK, EU or US."""
        return {"GB": "UK", "US": "US"}.get(self.country, "EU")


_T = dt.time
VENUES: dict[str, Venue] = {
    v.mic: v
    for v in (
        Venue("XLON", 1, "Europe/London", "GBX", "GB", "L", "L",
              _T(7, 50), _T(8), _T(16, 30), _T(16, 35), _T(17, 15)),
        Venue("XPAR", 2, "Europe/Paris", "EUR", "FR", "P", "PA",
              _T(7, 15), _T(9), _T(17, 30), _T(17, 35), _T(17, 40)),
        Venue("XETR", 3, "Europe/Berlin", "EUR", "DE", "D", "DE",
              _T(8, 50), _T(9), _T(17, 30), _T(17, 35), _T(20)),
        Venue("XAMS", 4, "Europe/Amsterdam", "EUR", "NL", "A", "AS",
              _T(7, 15), _T(9), _T(17, 30), _T(17, 35), _T(17, 40)),
        Venue("XNAS", 5, "America/New_York", "USD", "US", "Q", "OQ",
              _T(9, 25), _T(9, 30), _T(16), _T(16, 1), _T(20)),
        Venue("XNYS", 6, "America/New_York", "USD", "US", "N", "N",
              _T(9, 20), _T(9, 30), _T(16), _T(16, 1), _T(20)),
    )
}  # fmt: skip


def get_venue(mic: str) -> Venue:
    """The venue of ``mic``; a :class:`ConfigError` listing the known MICs otherwise."""
    try:
        return VENUES[mic.upper()]
    except KeyError:
        known = ", ".join(VENUES)
        raise ConfigError(f"unknown MIC {mic!r} for sample data; known MICs: {known}") from None


def tick_size(price: float, us_market: bool) -> float:
    """Tick size of a share priced ``price`` (local currency units) on a venue."""
    table = _US_TICKS if us_market else _EU_TICKS
    return next(tick for bound, tick in table if price < bound)


@dataclass(frozen=True)
class Session:
    """One venue's trading day, as naive-UTC epoch nanoseconds.

    ``times`` holds the start of each market state in ``STATES`` order; ``tz_offset_minutes``
    is the venue's UTC offset during continuous trading (``Local* = UTC + offset``).
    """

    venue: Venue
    day: dt.date
    times: tuple[int, ...]
    tz_offset_minutes: int

    STATES: ClassVar[tuple[str, ...]] = (
        "CLOSED",
        "OPENING_AUCTION",
        "CONTINUOUS_TRADING",
        "CLOSING_AUCTION",
        "POST_TRADE",
        "CLOSED",
    )

    @property
    def auction_open(self) -> int:
        """Start of the opening auction."""
        return self.times[1]

    @property
    def continuous_open(self) -> int:
        """Start of continuous trading."""
        return self.times[2]

    @property
    def continuous_close(self) -> int:
        """End of continuous trading (start of the closing auction)."""
        return self.times[3]

    @property
    def auction_close(self) -> int:
        """End of the closing auction."""
        return self.times[4]

    @property
    def trade_date_ms(self) -> int:
        """The local trading date at midnight, as epoch milliseconds."""
        return (self.day - dt.date(1970, 1, 1)).days * 86_400_000


def _utc_ns(day: dt.date, local: dt.time, tz: ZoneInfo) -> int:
    moment = dt.datetime.combine(day, local, tzinfo=tz)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


def session(venue: Venue, day: dt.date) -> Session:
    """The session of ``venue`` on ``day``, UTC instants computed with ``zoneinfo``."""
    tz = ZoneInfo(venue.timezone)
    first = (dt.datetime.combine(day, venue.auction_open) - dt.timedelta(hours=1)).time()
    local: Sequence[dt.time] = (
        first,
        venue.auction_open,
        venue.continuous_open,
        venue.continuous_close,
        venue.auction_close,
        venue.post_close,
    )
    offset = dt.datetime.combine(day, venue.continuous_open, tzinfo=tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return Session(venue, day, tuple(_utc_ns(day, t, tz) for t in local), minutes)
