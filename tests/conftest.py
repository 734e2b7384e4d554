"""Shared fixtures: one storage suite over SQLite and PostgreSQL.

``database_url`` is parametrised over both dialects and gives each test a fresh, migrated
database: a copy of a migrated file on SQLite, a clone of a migrated template database on
PostgreSQL. PostgreSQL comes from ``THREADLINE_TEST_DATABASE_URL`` (default: the local
server). Outside CI an unreachable server skips those cases; in CI it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from threadline.db import create_engine
from threadline.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_ADMIN_URL = os.environ.get("THREADLINE_TEST_DATABASE_URL", DEFAULT_PG_URL)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_unreachable_reason() -> str | None:
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return (
            f"PostgreSQL is not reachable at {sa.make_url(PG_ADMIN_URL)!r} ({exc.orig}); "
            "start it or point THREADLINE_TEST_DATABASE_URL at a server to run these cases"
        )
    finally:
        engine.dispose()
    return None


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = sa.make_url(admin_url)
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"tl_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self.template: str | None = None

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}{clause}")
        self.created.append(name)
        return name

    def migrated(self) -> str:
        """A fresh database cloned from a migrated template."""
        if self.template is None:
            template = self.create()
            upgrade(self.url(template))
            self.template = template
        return self.create(template=self.template)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The PostgreSQL test server, or a skip (a failure in CI) when it is unreachable."""
    reason = _pg_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    databases = PostgresDatabases(PG_ADMIN_URL)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite+pysqlite:///{path}")
    return path


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """The dialect under test: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def database_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of the dialect under test."""
    if dialect == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "threadline.db"
        shutil.copyfile(template, path)
        yield f"sqlite+pysqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    name = databases.migrated()
    yield databases.url(name)
    databases.drop(name)


@pytest.fixture
def empty_database_url(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A fresh database with no schema at all."""
    if dialect == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'empty.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    name = databases.create()
    yield databases.url(name)
    databases.drop(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on the fresh database of the dialect under test."""
    db_engine = create_engine(database_url)
    yield db_engine
    db_engine.dispose()
