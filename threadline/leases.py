"""Named, time-limited leases held by one process at a time.

Used for the engine's PLM-poll leader and for refusing a second engine on SQLite. A
holder renews its lease before it runs out; a crashed holder's lease simply expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from threadline.db import insert_ignoring_conflicts
from threadline.tables import service_leases


@dataclass(frozen=True)
class Lease:
    """Who holds a lease and until when."""

    name: str
    holder: str
    lease_until: datetime


def try_acquire(
    connection: sa.Connection, name: str, holder: str, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew the lease ``name`` for ``holder``; ``False`` while another holds it."""
    until = now + ttl
    renewed = connection.execute(
        sa.update(service_leases)
        .where(service_leases.c.name == name)
        .where(sa.or_(service_leases.c.holder == holder, service_leases.c.lease_until < now))
        .values(holder=holder, lease_until=until, acquired_at=now)
    )
    if renewed.rowcount == 1:
        return True
    row = {"name": name, "holder": holder, "lease_until": until, "acquired_at": now}
    return insert_ignoring_conflicts(connection, service_leases, [row]) == 1


def release(connection: sa.Connection, name: str, holder: str) -> None:
    """Give the lease up at once (on a clean shutdown)."""
    connection.execute(
        sa.delete(service_leases)
        .where(service_leases.c.name == name)
        .where(service_leases.c.holder == holder)
    )


def current(connection: sa.Connection, name: str) -> Lease | None:
    """The lease ``name`` as stored, expired or not."""
    row = connection.execute(
        sa.select(service_leases).where(service_leases.c.name == name)
    ).one_or_none()
    if row is None:
        return None
    return Lease(name=row.name, holder=row.holder, lease_until=row.lease_until)
