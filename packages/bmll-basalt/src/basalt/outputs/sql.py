"""The ``sql`` output target: a table in SQLite or PostgreSQL (SQLAlchemy).

Each partition is written in one transaction — the table created when missing, the
partition's earlier rows deleted (``dedupe_on_partition``), the new rows inserted — so a
failed write leaves the table as it was. Table and column names are checked identifiers;
values travel as bound parameters, never in the SQL text.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from basalt.config.models import IDENTIFIER, OutputConfig
from basalt.errors import ConfigError
from basalt.outputs.base import OutputTarget, Partition

__all__ = ["SqlOutput", "table_name"]

BATCH_ROWS = 50_000


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
        names = ("datasetname", "universe", "start_date", "end_date", "pass")
        literal = config.sql_table.format(**dict.fromkeys(names, "x"))
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
            if url.drivername == "postgresql":  # the driver Basalt installs: psycopg 3
                url = url.set(drivername="postgresql+psycopg")
            # No pool: each partition's transaction opens and closes its own connection.
            self._engine = _sqlalchemy().create_engine(url, poolclass=_sqlalchemy().NullPool)
        return self._engine

    def write(self, frame: pl.LazyFrame, location: str, partition: Partition) -> str:
        sa = _sqlalchemy()
        data = self.prepared(frame).collect()
        name = table_name(location)
        for column in data.columns:
            _identifier(column, "column")
        columns = [sa.Column(c, _sql_type(t)) for c, t in data.schema.items()]
        table = sa.Table(name, sa.MetaData(), *columns)
        first = name not in self._started
        with self.engine.begin() as connection:  # one transaction: all of it or nothing
            exists = sa.inspect(connection).has_table(name)
            if exists and first and self.config.sql_if_exists == "fail":
                raise ConfigError(f"sql table {name!r} exists (sql_if_exists: fail)")
            if exists and first and self.config.sql_if_exists == "replace":
                table.drop(connection)
                exists = False
            table.create(connection, checkfirst=True)
            if exists and self.config.dedupe_on_partition:
                connection.execute(table.delete().where(self._rows(table, data, partition)))
            for chunk in data.iter_slices(BATCH_ROWS):
                connection.execute(table.insert(), chunk.to_dicts())
        self._started.add(name)
        return f"{self.engine.url.render_as_string(hide_password=True)}#{name}"

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
        with self.engine.connect() as connection:
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            return self.in_nanoseconds(pl.read_database(sa.select(table), connection).lazy())

    def exists(self, location: str) -> bool:
        return bool(_sqlalchemy().inspect(self.engine).has_table(table_name(location)))

    def is_complete(self, location: str, partition: Partition) -> bool:
        if not self.exists(location):
            return False
        sa = _sqlalchemy()
        low, high = partition.bounds()
        with self.engine.connect() as connection:
            table = sa.Table(table_name(location), sa.MetaData(), autoload_with=connection)
            bucket = table.c.TimeBucket
            query = sa.select(sa.func.count()).where(bucket >= low, bucket < high)
            return bool(connection.execute(query).scalar_one())
