"""Engine heartbeats: each engine process touches its row every few seconds.

A row whose ``seen_at`` stops moving belongs to an engine that crashed or hangs; a clean
stop deletes its row, so a stopped engine is not mistaken for a stuck one. The console
reads the rows through :mod:`sync_engine.health`. Rows, like leases, are keyed by the
holder name :func:`new_holder` gives each engine process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sync_engine import tables as t
from threadline.db import insert_ignoring_conflicts

FORGET_AFTER = timedelta(days=1)
"""A crashed engine's row is dropped once it has been silent this long."""


@dataclass(frozen=True)
class Heartbeat:
    """One engine process: when it started and when it last said it is alive."""

    holder: str
    started_at: datetime
    seen_at: datetime


def new_holder(prefix: str = "engine") -> str:
    """A unique lease-holder name for one engine process."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def beat(connection: sa.Connection, holder: str, *, now: datetime) -> None:
    """Record that ``holder`` is alive at ``now`` (its first beat records its start)."""
    touched = connection.execute(
        sa.update(t.heartbeats).where(t.heartbeats.c.holder == holder).values(seen_at=now)
    )
    if touched.rowcount == 0:
        row = {"holder": holder, "started_at": now, "seen_at": now}
        insert_ignoring_conflicts(connection, t.heartbeats, [row])
    connection.execute(sa.delete(t.heartbeats).where(t.heartbeats.c.seen_at < now - FORGET_AFTER))


def stop_beating(connection: sa.Connection, holder: str) -> None:
    """Forget ``holder`` (on a clean stop)."""
    connection.execute(sa.delete(t.heartbeats).where(t.heartbeats.c.holder == holder))


def heartbeats(connection: sa.Connection) -> list[Heartbeat]:
    """Every engine heard from in the last day, the most recently seen first."""
    rows = connection.execute(
        sa.select(t.heartbeats).order_by(t.heartbeats.c.seen_at.desc(), t.heartbeats.c.holder)
    ).all()
    return [Heartbeat(row.holder, row.started_at, row.seen_at) for row in rows]
