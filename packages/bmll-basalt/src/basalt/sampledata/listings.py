"""Listings of the synthetic lake: identifiers, cross-listings, prices and reference rows.

Listing ``i`` of a MIC gets ``ListingId = 1_000_000 * venue.code + i + 1``, so ids are stable
whatever other MICs are generated. On every requested MIC after the first, each fourth listing
(``i % 4 == 3``) is a secondary listing of listing ``i`` of the first MIC: it shares the
``InstrumentId``, ticker, ISIN and price level (converted to its currency) and has
``IsPrimary = False``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from basalt.sampledata.venues import FX_TO_EUR, Venue, get_venue
from basalt.tables.bmll import ReferenceTable

__all__ = ["Listing", "build_listings", "open_price", "reference_frame"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FIGI_ALPHABET = "BCDFGHJKLMNPQRSTVWXYZ0123456789"
_THREE_LETTERS = 26**3


@dataclass(frozen=True)
class Listing:
    """One listing (instrument on a venue) with its reference attributes."""

    venue: Venue
    index: int
    listing_id: int
    instrument_id: int
    ticker: str
    isin: str
    is_primary: bool

    @property
    def mic(self) -> str:
        """The listing's MIC."""
        return self.venue.mic


def _base26(n: int, width: int) -> str:
    chars: list[str] = []
    while n or len(chars) < width:
        n, rest = divmod(n, 26)
        chars.append(_LETTERS[rest])
    return "".join(reversed(chars))


def _ticker(venue: Venue, index: int) -> str:
    scrambled = (index * 7793 + 1234) % _THREE_LETTERS if index < _THREE_LETTERS else index
    return venue.ticker_prefix + _base26(scrambled, 3)


def _isin(country: str, body: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in country + body)
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if pos % 2 == 0 else 1)
        total += value // 10 + value % 10
    return f"{country}{body}{(10 - total % 10) % 10}"


def _figi(number: int) -> str:
    chars: list[str] = []
    for _ in range(9):
        number, rest = divmod(number, len(_FIGI_ALPHABET))
        chars.append(_FIGI_ALPHABET[rest])
    return "BBG" + "".join(reversed(chars))


def build_listings(mics: Sequence[str], per_mic: int) -> list[Listing]:
    """``per_mic`` listings on each of ``mics`` (validated MIC codes), first MIC first."""
    venues = [get_venue(mic) for mic in mics]
    primary = venues[0]
    out: list[Listing] = []
    for position, venue in enumerate(venues):
        for i in range(per_mic):
            secondary = position > 0 and i % 4 == 3
            home = primary if secondary else venue
            out.append(
                Listing(
                    venue=venue,
                    index=i,
                    listing_id=1_000_000 * venue.code + i + 1,
                    instrument_id=50_000_000 + 1_000_000 * home.code + i + 1,
                    ticker=_ticker(home, i),
                    isin=_isin(home.country, f"{home.code:02d}{i + 1:07d}"),
                    is_primary=not secondary,
                )
            )
    return out


def open_price(listing: Listing, day: dt.date, seed: int) -> float:
    """The listing's opening price on ``day`` in its quote currency.

    An instrument's price level depends only on ``seed`` and the instrument, with a small
    day-to-day drift, so cross-listings trade at the same price after FX conversion.
    """
    level = np.random.default_rng([seed, listing.instrument_id])
    drift = np.random.default_rng([seed, listing.instrument_id, day.toordinal()])
    price_eur = float(np.exp(level.uniform(np.log(4.0), np.log(400.0))))
    price_eur *= float(np.exp(drift.normal(0.0, 0.015)))
    return price_eur / FX_TO_EUR[listing.venue.currency]


def reference_frame(listings: Sequence[Listing], day: dt.date) -> pl.DataFrame:
    """Reference rows of ``listings`` for ``day``, in the BMLL reference schema."""
    tickers = [x.ticker for x in listings]
    mics = [x.mic for x in listings]
    data = {
        "ListingId": [x.listing_id for x in listings],
        "InstrumentId": [x.instrument_id for x in listings],
        "CurrencyCode": [x.venue.currency for x in listings],
        "Description": [f"{t} Sample Equity Ordinary Shares" for t in tickers],
        "DisplayName": [f"{t} {m}" for t, m in zip(tickers, mics, strict=True)],
        "FIGI": [_figi(x.listing_id) for x in listings],
        "FIGIComposite": [_figi(x.instrument_id * 7 + x.venue.code) for x in listings],
        "FIGIShareClass": [_figi(x.instrument_id * 3) for x in listings],
        "ISIN": [x.isin for x in listings],
        "InstrumentType": ["Equity"] * len(listings),
        "IsAlive": [True] * len(listings),
        "IsPrimary": [x.is_primary for x in listings],
        "MIC": mics,
        "MarketDataLevel": ["L3"] * len(listings),
        "OPOL": mics,
        "OperatingMic": mics,
        "ReutersInstrumentId": [str(8_000_000_000 + x.instrument_id) for x in listings],
        "ReutersOrganizationId": [str(4_000_000_000 + x.instrument_id) for x in listings],
        "ReutersQuoteId": [f"{x.ticker}.{x.venue.ric_suffix}" for x in listings],
        "SegmentCode": [None] * len(listings),
        "Ticker": tickers,
        "Date": [dt.datetime.combine(day, dt.time())] * len(listings),
    }
    return pl.DataFrame(data, schema=ReferenceTable.schema())
