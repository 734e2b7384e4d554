from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from threadline import leases
from threadline.db import UTCDateTime, create_engine, metadata

probe = sa.Table(
    "tz_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime()),
)


def test_timestamps_come_back_timezone_aware_utc(engine: sa.Engine) -> None:
    probe.create(engine)
    paris = timezone(timedelta(hours=2))
    written = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=paris)
    with engine.begin() as connection:
        connection.execute(probe.insert(), [{"id": 1, "at": written}])
        at = connection.execute(sa.select(probe.c.at)).scalar_one()
    assert at == written
    assert at.tzinfo is UTC
    assert at.hour == 12


def test_naive_timestamps_are_refused(engine: sa.Engine) -> None:
    probe.create(engine)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as c:
        c.execute(probe.insert(), [{"id": 1, "at": datetime(2026, 1, 1)}])


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()


def test_constraint_names_follow_the_convention() -> None:
    assert metadata.naming_convention["pk"] == "pk_%(table_name)s"


def test_a_lease_is_held_by_one_holder_until_it_expires(engine: sa.Engine) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    ttl = timedelta(seconds=30)
    with engine.begin() as c:
        assert leases.try_acquire(c, "plm-poller", "engine-a", ttl, now)
    with engine.begin() as c:
        assert not leases.try_acquire(c, "plm-poller", "engine-b", ttl, now + timedelta(seconds=10))
        assert leases.try_acquire(c, "plm-poller", "engine-a", ttl, now + timedelta(seconds=10))
    with engine.begin() as c:
        assert leases.try_acquire(c, "plm-poller", "engine-b", ttl, now + timedelta(seconds=41))
        lease = leases.current(c, "plm-poller")
    assert lease is not None
    assert lease.holder == "engine-b"
    assert lease.lease_until == now + timedelta(seconds=71)
    with engine.begin() as c:
        leases.release(c, "plm-poller", "engine-b")
        assert leases.current(c, "plm-poller") is None
