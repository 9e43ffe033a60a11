"""The ``sql`` output target: a table in SQLite or PostgreSQL (SQLAlchemy).

Each partition is written in one transaction — the table created when missing, the
partition's earlier rows deleted (``dedupe_on_partition``), the new rows inserted, its days
recorded in the ``basalt_manifest`` table — so a failed or killed write leaves the database
as it was. Writers of one table take turns: a transaction-scoped advisory lock per table on
PostgreSQL, an immediate (write-locking) transaction on SQLite; so two runs writing the same
partitions at once leave exactly one copy of every row. Table and column names are checked
identifiers; values travel as bound parameters, never in the SQL text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import polars as pl

from basalt.config.models import IDENTIFIER, PLACEHOLDERS, OutputConfig
from basalt.errors import ConfigError, DataError, TransientError
from basalt.outputs.base import OutputTarget, Partition
from basalt.retry import TRANSIENT_MESSAGE

__all__ = ["MANIFEST_TABLE", "SqlOutput", "table_name"]

BATCH_ROWS = 50_000
MANIFEST_TABLE = "basalt_manifest"
"""The table recording the days each partition write covered, per table and universe."""
DATABASE_BUSY = re.compile(
    r"could not connect|connection failed|server closed the connection|terminating "
    r"connection|database is locked",
    re.IGNORECASE,
)
"""Database errors worth retrying, besides those of :data:`basalt.retry.TRANSIENT_MESSAGE`."""
WRITING = "basalt_writing"
"""Execution option of the connections that write."""
SQLITE_WAIT_SECONDS = 600
"""How long a SQLite writer waits for another one to finish."""


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise ConfigError(
            'the sql output needs SQLAlchemy: pip install "bmll-basalt[sql]"'
        ) from None
    return sqlalchemy


def _sql_type(dtype: pl.DataType) -> Any:
    sa = _sqlalchemy()
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float():
        return sa.Float(precision=53)
    if dtype == pl.Boolean:
        return sa.Boolean()
    if isinstance(dtype, pl.Datetime):
        return sa.DateTime()
    if dtype == pl.Date:
        return sa.Date()
    if dtype in (pl.String, pl.Categorical):
        return sa.Text()
    raise ConfigError(f"the sql output cannot store columns of type {dtype}")


def _identifier(name: str, what: str) -> str:
    if not re.match(IDENTIFIER, name):
        raise ConfigError(f"sql {what} {name!r} is not an identifier (letters, digits, _)")
    return name


def _lock_key(name: str) -> int:
    """A signed 64-bit key of the PostgreSQL advisory lock of table ``name``."""
    digest = hashlib.blake2b(f"basalt:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _sqlite_transactions(engine: Any) -> None:
    """Make the transactions of ``engine`` (SQLite) include their DDL — the driver would
    otherwise begin lazily, after CREATE TABLE — and those of :data:`WRITING` connections
    take the write lock when they begin; reads do not wait for writers."""
    sa = _sqlalchemy()

    def no_driver_transactions(connection: Any, _: Any) -> None:
        connection.isolation_level = None

    def begin(connection: Any) -> None:
        writing = connection.get_execution_options().get(WRITING, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    sa.event.listen(engine, "connect", no_driver_transactions)
    sa.event.listen(engine, "begin", begin)


def _manifest_table(metadata: Any) -> Any:
    sa = _sqlalchemy()
    return sa.Table(
        MANIFEST_TABLE,
        metadata,
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("universe", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
    )


def table_name(location: str) -> str:
    """The table a rendered ``sql_table`` names: characters other than letters, digits and
    underscores, which only placeholder values (dates, universe specs) can bring, become
    underscores."""
    return _identifier(re.sub(r"\W", "_", location), "table")


class SqlOutput(OutputTarget):
    """A SQL table, one transaction per partition."""

    name = "sql"
    dedupes = True

    def __init__(self, config: OutputConfig, storage_options: tuple[tuple[str, str], ...] = ()):
        super().__init__(config, storage_options)
        self._engine: Any = None
        self._started: set[str] = set()

    @classmethod
    def check(cls, config: OutputConfig) -> None:
        if not config.sql_connection:
            raise ValueError("the sql output needs sql_connection (e.g. sqlite:///out.db)")
        if not config.sql_table:
            raise ValueError("the sql output needs sql_table")
        try:
            literal = config.sql_table.format(**dict.fromkeys(PLACEHOLDERS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"sql_table {config.sql_table!r} is not a valid template ({exc})"
            ) from None
        if not re.match(IDENTIFIER, literal):  # placeholder values are made safe when filled
            raise ValueError(f"sql_table {config.sql_table!r} is not an identifier")
        try:
            _sqlalchemy().engine.make_url(config.sql_connection)
        except Exception as exc:  # the URL's own error message names the problem
            raise ValueError(f"sql_connection is not a database URL: {exc}") from None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            assert self.config.sql_connection is not None
            url = _sqlalchemy().engine.make_url(self.config.sql_connection)
            sqlite = url.get_backend_name() == "sqlite"
            if url.drivername == "postgresql":  # the driver Basalt installs: psycopg 3
                url = url.set(drivername="postgresql+psycopg")
            # No pool: each partition's transaction opens and closes its own connection.
            self._engine = _sqlalchemy().create_engine(
                url,
                poolclass=_sqlalchemy().NullPool,
                connect_args={"timeout": SQLITE_WAIT_SECONDS} if sqlite else {},
            )
            if sqlite:
                _sqlite_transactions(self._engine)
        return self._engine

    def check_writable(self, location: str) -> None:
        url = self.engine.url.render_as_string(hide_password=True)
        try:
            with self._writing() as connection:  # SQLite: takes the write lock: checks it
                exists = _sqlalchemy().inspect(connection).has_table(table_name(location))
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ConfigError(f"cannot write to the database {url}: {reason}") from None
        if exists and self.config.sql_if_exists == "fail":
            raise ConfigError(f"sql table {table_name(location)!r} exists (sql_if_exists: fail)")

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        sa = _sqlalchemy()
        data = self.prepared(frame).collect()
        name = table_name(location)
        for column in data.columns:
            _identifier(column, "column")
        columns = [sa.Column(c, _sql_type(t)) for c, t in data.schema.items()]
        metadata = sa.MetaData()
        table = sa.Table(name, metadata, *columns)
        manifest = _manifest_table(metadata)
        first = name not in self._started
        with self._reported(), self._writing() as connection:  # one transaction: all or nothing
            self._lock(connection, name)
            exists = sa.inspect(connection).has_table(name)
            if exists and first and self.config.sql_if_exists == "fail":
                raise ConfigError(f"sql table {name!r} exists (sql_if_exists: fail)")
            if not sa.inspect(connection).has_table(MANIFEST_TABLE):
                self._lock(connection, MANIFEST_TABLE)  # one creator of the shared table
                manifest.create(connection, checkfirst=True)
            if exists and first and self.config.sql_if_exists == "replace":
                table.drop(connection)
                connection.execute(manifest.delete().where(manifest.c.table_name == name))
                exists = False
            table.create(connection, checkfirst=True)
            if exists and self.config.dedupe_on_partition:
                connection.execute(table.delete().where(self._rows(table, data, partition)))
            for chunk in data.iter_slices(BATCH_ROWS):
                connection.execute(table.insert(), chunk.to_dicts())
            self._record(connection, manifest, name, partition)
        self._started.add(name)
        return f"{self.engine.url.render_as_string(hide_password=True)}#{name}"

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        """Database errors inside the block as Basalt's: a lost or refused connection, a
        time-out or a locked database as :class:`TransientError` (retried), others as
        :class:`DataError`; both name the database."""
        try:
            yield
        except _sqlalchemy().exc.DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            url = self.engine.url.render_as_string(hide_password=True)
            transient = (
                exc.connection_invalidated
                or TRANSIENT_MESSAGE.search(reason)
                or DATABASE_BUSY.search(reason)
            )
            raise (TransientError if transient else DataError)(f"{url}: {reason}") from exc

    def _writing(self) -> Any:
        """A write transaction (on SQLite it holds the database's write lock)."""
        return self.engine.execution_options(**{WRITING: True}).begin()

    def _lock(self, connection: Any, name: str) -> None:
        """Wait for the other writers of ``name`` (PostgreSQL; SQLite transactions hold the
        database's write lock already)."""
        if connection.dialect.name == "postgresql":
            query = _sqlalchemy().text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(query, {"key": _lock_key(name)})

    def _record(self, connection: Any, manifest: Any, name: str, partition: Partition) -> None:
        """Record the days ``partition`` covered in table ``name``: they replace the
        earlier records of those days (of its universe only, with ``partition_columns``,
        whose rows of other universes stay)."""
        sa = _sqlalchemy()
        days = list(partition.covered)
        replaced = sa.and_(manifest.c.table_name == name, manifest.c.day.in_(days))
        if self.config.partition_columns:
            replaced = sa.and_(replaced, manifest.c.universe == partition.scope)
        connection.execute(manifest.delete().where(replaced))
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows = [
            {"table_name": name, "day": day, "universe": partition.scope, "written_at": now}
            for day in days
        ]
        connection.execute(manifest.insert(), rows)

    def _rows(self, table: Any, data: pl.DataFrame, partition: Partition) -> Any:
        sa = _sqlalchemy()
        rows = self.partition_rows(data, partition)
        bucket = table.c.TimeBucket
        where = sa.and_(bucket >= rows.low, bucket < rows.high)
        if rows.columns:  # NULL-safe: a row of the partition per tuple of values
            columns = [table.c[c] for c in rows.columns]
            tuples = (
                sa.and_(
                    *(
                        c.is_(None) if v is None else c == v
                        for c, v in zip(columns, row, strict=True)
                    )
                )
                for row in rows.values
            )
            where = sa.and_(where, sa.or_(sa.false(), *tuples))
        return where

    def scan(self, location: str) -> pl.LazyFrame:
        sa = _sqlalchemy()
        name = table_name(location)
        with self._reported(), self.engine.connect() as connection:
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            return self.in_nanoseconds(pl.read_database(sa.select(table), connection).lazy())

    def exists(self, location: str) -> bool:
        with self._reported():
            return bool(_sqlalchemy().inspect(self.engine).has_table(table_name(location)))

    def is_complete(self, location: str, partition: Partition) -> bool:
        sa = _sqlalchemy()
        name = table_name(location)
        with self._reported(), self.engine.connect() as connection:
            inspector = sa.inspect(connection)
            if not (inspector.has_table(name) and inspector.has_table(MANIFEST_TABLE)):
                return False
            manifest = _manifest_table(sa.MetaData())
            query = sa.select(manifest.c.day, manifest.c.universe).where(
                manifest.c.table_name == name, manifest.c.day.in_(list(partition.covered))
            )
            entries = [(_date(day), universe) for day, universe in connection.execute(query)]
        return partition.recorded(entries)


def _date(value: Any) -> dt.date:
    """A DATE as the driver returns it (SQLite: a string)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
