"""What the NATS forwarder reads and writes: its cursor and the settled part of the store.

Events go out in store order (``seq``). On SQLite one transaction writes at a time and
``seq`` grows with each commit, so every stored event is final once it is visible. On
PostgreSQL several writers overlap: a transaction can commit ``seq`` 101 while the one
holding 100 is still running, so reading "everything after the cursor" could step over
100 for good. :func:`settled_head` therefore waits for the writers that were busy when it
looked (their locks on ``events`` in ``pg_locks``) before it vouches for a ``seq``: any
event at or below it is then committed or never will be. Writers are never blocked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from collector.store import structured
from collector.tables import events, forwarder_cursors
from threadline.db import Capabilities, capabilities

# Writers usually commit within milliseconds; one stuck longer than this keeps its seqs
# (and everything after them) waiting for the next pass instead of holding this one up.
SETTLE_TIMEOUT_SECONDS = 2.0
SETTLE_POLL_SECONDS = 0.005

_WRITERS = sa.text(
    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
    "AND relation = 'events'::regclass AND mode = 'RowExclusiveLock' AND granted "
    "AND pid <> pg_backend_pid()"
)


@dataclass(frozen=True)
class ForwardedEvent:
    """A stored event on its way out: its place in the store and the CloudEvent."""

    seq: int
    event: dict[str, object]


@dataclass(frozen=True)
class Lag:
    """How far the forwarder is behind the store."""

    events: int
    """Events stored after the cursor."""
    oldest: datetime | None
    """When the oldest of them was stored (``None``: nothing waits)."""


def load_cursor(connection: sa.Connection, stream: str) -> int:
    """The ``seq`` of the last event ``stream`` acknowledged (0: none yet)."""
    seq = connection.execute(
        sa.select(forwarder_cursors.c.seq).where(forwarder_cursors.c.stream == stream)
    ).scalar_one_or_none()
    return int(seq or 0)


def save_cursor(connection: sa.Connection, stream: str, seq: int, now: datetime) -> None:
    """Record that ``stream`` has every event up to ``seq`` (never moves the cursor back)."""
    moved = connection.execute(
        sa.update(forwarder_cursors)
        .where(forwarder_cursors.c.stream == stream)
        .where(forwarder_cursors.c.seq <= seq)
        .values(seq=seq, updated_at=now)
    )
    if moved.rowcount == 0:
        insert = capabilities(connection).insert(forwarder_cursors)
        connection.execute(
            insert.values(stream=stream, seq=seq, updated_at=now).on_conflict_do_nothing()
        )


def settled_head(connection: sa.Connection, caps: Capabilities) -> int | None:
    """The highest ``seq`` at or below which no event can still appear (see the module);
    ``None`` while a writer that was busy when it looked has not finished."""
    head = _head(connection)
    if caps.single_writer:
        return head
    busy = set(connection.execute(_WRITERS).scalars())
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while busy:
        if time.monotonic() > deadline:
            return None
        time.sleep(SETTLE_POLL_SECONDS)
        busy &= set(connection.execute(_WRITERS).scalars())
    return head


def _head(connection: sa.Connection) -> int:
    # A fresh statement sees every commit so far (READ COMMITTED; SQLite autocommit reads).
    return int(connection.execute(sa.select(sa.func.max(events.c.seq))).scalar_one() or 0)


def events_after(
    connection: sa.Connection, after: int, until: int, limit: int
) -> list[ForwardedEvent]:
    """Stored events with ``after < seq <= until``, oldest first, at most ``limit``."""
    query = (
        sa.select(events)
        .where(events.c.seq > after, events.c.seq <= until)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [
        ForwardedEvent(int(row["seq"]), structured(dict(row)))
        for row in connection.execute(query).mappings()
    ]


def lag(connection: sa.Connection, cursor: int) -> Lag:
    """Events stored after ``cursor`` and when the oldest of them arrived."""
    row = connection.execute(
        sa.select(sa.func.count(), sa.func.min(events.c.received_at)).where(events.c.seq > cursor)
    ).one()
    return Lag(int(row[0]), row[1])


def first_seq_since(connection: sa.Connection, stored_since: datetime) -> int | None:
    """The first event stored at or after ``stored_since`` (``None``: none was)."""
    seq = connection.execute(
        sa.select(sa.func.min(events.c.seq)).where(events.c.received_at >= stored_since)
    ).scalar_one()
    return None if seq is None else int(seq)
