"""LOBSTER files: names, message/orderbook pairing and CSV reading.

A file is named ``TICKER_YYYY-MM-DD_StartMs_EndMs_{message|orderbook}_LEVEL[_anything].csv``;
a message file and an orderbook file pair when ticker, date, window and level agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import polars as pl

from basalt.errors import ConfigError, DataError

__all__ = [
    "BOOK_FIELDS",
    "MAX_LEVELS",
    "PRICE_SCALE",
    "LobsterFile",
    "LobsterSource",
    "book_columns",
    "dollars",
    "pair_files",
    "parse_file_name",
    "read_source",
]

MAX_LEVELS = 10
BOOK_FIELDS = ("AskPrice", "AskQuantity", "BidPrice", "BidQuantity")
DUMMY_PRICE = 9_999_999_999
PRICE_SCALE = 10_000
"""LOBSTER prices are dollars × PRICE_SCALE."""
MESSAGE_SCHEMA = pl.Schema(
    {
        "Time": pl.Float64(),
        "Type": pl.Int8(),
        "OrderNo": pl.Int64(),
        "Size": pl.Int64(),
        "Price": pl.Int64(),
        "Direction": pl.Int8(),
    }
)
EVENT_TYPES = (1, 2, 3, 4, 5, 7)
HALT_PRICES = (-1, 0, 1)

_NAME = re.compile(
    r"(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<level>\d+)(?:_[^/\\]*)?\.csv"
)


@dataclass(frozen=True)
class LobsterFile:
    """A LOBSTER file and what its name says about it."""

    path: Path
    ticker: str
    day: dt.date
    start_ms: int
    end_ms: int
    kind: Literal["message", "orderbook"]
    level: int

    @property
    def key(self) -> tuple[str, dt.date, int, int, int]:
        """What a message file and its orderbook file share."""
        return (self.ticker, self.day, self.start_ms, self.end_ms, self.level)


@dataclass(frozen=True)
class LobsterSource:
    """A message file and, when given, its orderbook file."""

    message: LobsterFile
    orderbook: LobsterFile | None


def parse_file_name(path: Path | str) -> LobsterFile:
    """Ticker, date, window, kind and level from a LOBSTER file name."""
    path = Path(path)
    match = _NAME.fullmatch(path.name)
    if match is None:
        raise ConfigError(
            f"{path}: not a LOBSTER file name "
            "(expected TICKER_YYYY-MM-DD_StartMs_EndMs_{message|orderbook}_LEVEL[_...].csv)"
        )
    try:
        day = dt.date.fromisoformat(match["date"])
    except ValueError:
        raise ConfigError(f"{path}: invalid date {match['date']!r} in file name") from None
    start, end, level = int(match["start"]), int(match["end"]), int(match["level"])
    if not start < end <= 86_400_000 or level < 1:
        raise ConfigError(f"{path}: invalid time window or level in file name")
    kind: Literal["message", "orderbook"] = "message" if match["kind"] == "message" else "orderbook"
    return LobsterFile(path, match["ticker"], day, start, end, kind, level)


def pair_files(files: Sequence[LobsterFile]) -> list[LobsterSource]:
    """Pair message and orderbook files; sources of one ticker and day must not overlap in time."""
    messages: dict[tuple[str, dt.date, int, int, int], LobsterFile] = {}
    books: dict[tuple[str, dt.date, int, int, int], LobsterFile] = {}
    for file in files:
        seen = messages if file.kind == "message" else books
        if file.key in seen:
            raise ConfigError(f"{file.path}: same {file.kind} data as {seen[file.key].path}")
        seen[file.key] = file
    orphans = [str(books[key].path) for key in books.keys() - messages.keys()]
    if orphans:
        raise ConfigError(f"orderbook file(s) without their message file: {', '.join(orphans)}")
    sources = sorted(
        (LobsterSource(message, books.get(key)) for key, message in messages.items()),
        key=lambda s: s.message.key,
    )
    for before, after in pairwise(sources):
        a, b = before.message, after.message
        if (a.ticker, a.day) == (b.ticker, b.day) and b.start_ms < a.end_ms:
            raise ConfigError(
                f"{a.path} and {b.path} cover overlapping times of {a.ticker} on {a.day}; "
                "import one of them"
            )
    return sources


def dollars(price: pl.Expr) -> pl.Expr:
    """A LOBSTER price (dollars x 10000) in dollars, as the nearest Float64."""
    # Decimal division then conversion rounds correctly; a float division by a literal may not.
    return (price.cast(pl.Decimal(38, 4)) / PRICE_SCALE).cast(pl.Float64)


def book_columns(level: int) -> list[str]:
    """BMLL names of the first ``level`` (at most 10) levels, in LOBSTER column order."""
    return [f"{field}{i}" for i in range(1, min(level, MAX_LEVELS) + 1) for field in BOOK_FIELDS]


def _read_csv(path: Path, schema: pl.Schema) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, has_header=False, schema=schema)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: cannot read LOBSTER CSV ({exc})") from exc
    if frame.null_count().sum_horizontal().item():
        raise DataError(f"{path}: missing values (expected {len(schema)} numbers per row)")
    return frame


def _read_messages(file: LobsterFile) -> pl.DataFrame:
    frame = _read_csv(file.path, MESSAGE_SCHEMA)
    problems = {
        "unsupported event type": ~pl.col("Type").is_in(EVENT_TYPES),
        "direction other than 1 or -1": ~pl.col("Direction").is_in((-1, 1)),
        "negative size": pl.col("Size") < 0,
        "halt message with a price other than -1, 0, 1": (pl.col("Type") == 7)
        & ~pl.col("Price").is_in(HALT_PRICES),
        "time outside the day": (pl.col("Time") < 0) | (pl.col("Time") >= 86_400),
        "times not in increasing order": pl.col("Time").diff() < 0,
    }
    found = frame.select(expr.any().alias(name) for name, expr in problems.items()).row(0)
    bad = [name for name, hit in zip(problems, found, strict=True) if hit]
    if bad:
        raise DataError(f"{file.path}: malformed message file ({'; '.join(bad)})")
    # Below 86400 s a double resolves a time to far less than a nanosecond: rounding is exact.
    return frame.with_columns((pl.col("Time") * 1e9).round().cast(pl.Int64).alias("Nanos")).drop(
        "Time"
    )


def _read_orderbook(file: LobsterFile, rows: int) -> pl.DataFrame:
    raw = _read_csv(file.path, pl.Schema({f"c{i}": pl.Int64() for i in range(4 * file.level)}))
    if raw.height != rows:
        raise DataError(
            f"{file.path}: {raw.height} rows, but its message file has {rows}; "
            "an orderbook file has one row per message"
        )
    book = raw.select(
        pl.col(f"c{i}").alias(name) for i, name in enumerate(book_columns(file.level))
    )
    cleaned: list[pl.Expr] = []
    for i in range(1, min(file.level, MAX_LEVELS) + 1):
        for side in ("Ask", "Bid"):
            price, quantity = f"{side}Price{i}", f"{side}Quantity{i}"
            present = pl.col(price).abs() != DUMMY_PRICE
            cleaned.append(pl.when(present).then(dollars(pl.col(price))).alias(price))
            cleaned.append(pl.when(present).then(pl.col(quantity)).alias(quantity))
    return book.with_columns(cleaned)


def read_source(source: LobsterSource) -> pl.DataFrame:
    """Messages (``Nanos`` after midnight, ``Type``, ``OrderNo``, ``Size``, raw ``Price``,
    ``Direction``) beside the book after each message (BMLL names, dollars; dummy levels,
    i.e. empty ones, as null price and quantity) when the source has an orderbook file."""
    messages = _read_messages(source.message)
    if source.orderbook is None:
        return messages
    return pl.concat(
        [messages, _read_orderbook(source.orderbook, messages.height)], how="horizontal"
    )
