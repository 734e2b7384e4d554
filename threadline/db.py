"""The database: one engine factory, the shared ``MetaData`` and portable column types.

SQLite (the embedded default) and PostgreSQL (production) behave the same to callers:

- timestamps go in and come back as timezone-aware UTC ``datetime`` (:class:`UTCDateTime`);
- JSON documents use ``JSONB`` on PostgreSQL and ``JSON`` text on SQLite (:data:`JSONDoc`);
- SQLite runs in WAL mode with foreign keys on and a busy timeout, and write transactions
  start with ``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way.

SQLite mode is for one machine and one engine process; PostgreSQL is for everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

SQLITE_BUSY_TIMEOUT_MS = 10_000


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC on the way in and out.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Naive datetimes are
    refused on bind, so local times never sneak in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""A JSON document column: JSONB on PostgreSQL, JSON text on SQLite."""


@dataclass(frozen=True)
class Capabilities:
    """What a database can do that callers must plan around, decided once per dialect.

    Modules ask these flags instead of comparing dialect names.
    """

    skip_locked: bool
    """``SELECT ... FOR UPDATE SKIP LOCKED``: several engines may claim work side by side."""
    advisory_locks: bool
    """Transaction-scoped advisory locks (``pg_advisory_xact_lock``)."""
    single_writer: bool
    """One write transaction at a time (SQLite): one engine process, one collector writer."""
    jsonb: bool
    """A binary JSON column type the server parses itself (PostgreSQL ``JSONB``)."""
    batch_alter: bool
    """``ALTER TABLE`` is limited: migrations copy and move tables (Alembic batch mode)."""
    insert: Callable[[sa.Table], Any]
    """The dialect's ``INSERT`` construct, which knows ``ON CONFLICT``."""


POSTGRESQL = Capabilities(
    skip_locked=True,
    advisory_locks=True,
    single_writer=False,
    jsonb=True,
    batch_alter=False,
    insert=postgresql.insert,
)
SQLITE = Capabilities(
    skip_locked=False,
    advisory_locks=False,
    single_writer=True,
    jsonb=False,
    batch_alter=True,
    insert=sqlite.insert,
)


@cache
def _capabilities_of(backend: str) -> Capabilities:
    if backend not in ("postgresql", "sqlite"):
        raise ValueError(f"Threadline runs on PostgreSQL or SQLite, not {backend}")
    return POSTGRESQL if backend == "postgresql" else SQLITE


def capabilities(bind: str | sa.URL | sa.Engine | sa.Connection) -> Capabilities:
    """The :class:`Capabilities` of a database, from its URL, engine or connection."""
    if isinstance(bind, sa.Engine | sa.Connection):
        return _capabilities_of(bind.dialect.name)
    return _capabilities_of(sa.make_url(bind).get_backend_name())


# What an unreachable or stopped database raises: refused, reset, timed out, pool exhausted.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)

# A server that goes away without closing its connections (a host lost, a cable pulled)
# would leave a query waiting forever: libpq's TCP keepalives and user timeout notice a
# dead peer within about a minute, and a connection attempt gives up after ten seconds.
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


def create_engine(url: str | sa.URL, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """Create the engine for ``url`` with Threadline's settings for its dialect.

    ``read_only`` engines (the console's) start plain deferred transactions on SQLite, so
    readers never take the write lock; on PostgreSQL their transactions are READ ONLY.
    """
    url = sa.make_url(url)
    if capabilities(url).single_writer:
        return _sqlite_engine(url, read_only=read_only, **kwargs)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs["connect_args"] = {**POSTGRES_CONNECT_ARGS, **kwargs.get("connect_args", {})}
    engine = sa.create_engine(url, **kwargs)
    if read_only:
        engine = engine.execution_options(postgresql_readonly=True)
    return engine


def _sqlite_engine(url: sa.URL, *, read_only: bool, **kwargs: Any) -> Engine:
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


def load_all_tables() -> sa.MetaData:
    """Import every package's ``tables`` module so :data:`metadata` knows every table."""
    import importlib
    import pkgutil

    for package in ("threadline", "sync_engine", "collector", "alerts", "console"):
        module = importlib.import_module(package)
        names = {info.name for info in pkgutil.iter_modules(module.__path__)}
        if "tables" in names:
            importlib.import_module(f"{package}.tables")
    return metadata


def insert_ignoring_conflicts(
    connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
) -> int:
    """Insert ``rows``, skipping any that conflict with a unique key; return how many went in.

    ``INSERT ... ON CONFLICT DO NOTHING`` on both dialects.
    """
    if not rows:
        return 0
    insert = capabilities(connection).insert(table)
    # RETURNING counts exactly on both dialects, where executemany's rowcount does not.
    statement = insert.on_conflict_do_nothing().returning(sa.literal_column("1"))
    return len(connection.execute(statement, rows).all())
