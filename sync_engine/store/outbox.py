"""The outbox: every CloudEvent the engine emits, written in the transaction that made
the change; the relay reads it in id order and marks what the collector acknowledged.

Order: on PostgreSQL every transaction that writes the outbox holds one
transaction-scoped advisory lock (:func:`lock_outbox`), so outbox ids commit in id order
and the relay never sees a later id before an earlier one. Writers take it first, before
any row lock, so two engines' transactions cannot deadlock on each other, and checks that
read other steps (is the ECO now production-ready? was it cancelled meanwhile?) see every
earlier write: taken last, two transactions finishing an ECO's last two steps could each
miss the other's and leave the ECO open. SQLite serialises writers anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from sync_engine import tables as t
from threadline import tracing
from threadline.db import capabilities

SOURCE = "/threadline/engine"
"""The CloudEvents ``source`` of everything the engine emits."""


OUTBOX_LOCK_KEY = 0x7468_7264_6F62  # "thrdob": one advisory lock for outbox writers


OUTBOX_BUFFER = "threadline.outbox_buffer"
TRACE_CACHE = "threadline.eco_traceparents"


def lock_outbox(connection: sa.Connection) -> None:
    """Take the outbox writers' lock for this transaction (PostgreSQL; a no-op on SQLite).

    Call it first in a transaction that may write events, before locking any row.
    """
    if not capabilities(connection).advisory_locks:
        return
    transaction = connection.get_transaction()
    if connection.info.get("outbox_locked_by") is transaction:
        return
    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(OUTBOX_LOCK_KEY)))
    connection.info["outbox_locked_by"] = transaction


def emit(
    connection: sa.Connection,
    data: ev.EventData,
    *,
    now: datetime,
    subject: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    traceparent: str | None = None,
) -> str:
    """Write the CloudEvent carrying ``data`` to the outbox; return its id.

    The type comes from the data's class, subject and correlation id from what it names
    (:func:`contracts.events.new_event`). The ``traceparent`` extension (CloudEvents
    distributed tracing) is the one given, else the root of the correlated ECO's trace,
    else the current span's, else that of a new trace of its own (:func:`traceparent_of`).

    Inside :func:`writing` events are buffered and written in one statement when the unit
    of work ends; otherwise at once. The ``sequence`` extension is the outbox row id,
    added by the relay when it sends.
    """
    correlation = correlationid if correlationid is not None else data.event_correlation()
    event = ev.new_event(
        data,
        source=SOURCE,
        time=now,
        subject=subject,
        correlationid=correlation,
        causationid=causationid,
        traceparent=traceparent or traceparent_of(connection, correlation, ev.type_of(data)),
    )
    row = {
        "event_id": event["id"],
        "type": event["type"],
        "subject": event.get("subject"),
        "event": event,
        "created_at": now,
    }
    buffer = connection.info.get(OUTBOX_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        lock_outbox(connection)
        connection.execute(sa.insert(t.outbox), [row])
    return str(event["id"])


def _trace_cache(connection: sa.Connection) -> dict[str, str]:
    """This transaction's ECO traceparents (a rolled-back one's are forgotten with it)."""
    transaction = connection.get_transaction()
    cached = connection.info.get(TRACE_CACHE)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        connection.info[TRACE_CACHE] = cached
    return cached[1]


def traceparent_of(connection: sa.Connection, eco: str | None, event_type: str) -> str:
    """The ``traceparent`` an event correlated with ``eco`` carries (see :func:`emit`)."""
    if eco is not None:
        cache = _trace_cache(connection)
        known = cache.get(eco)
        if known is None:
            known = connection.execute(
                sa.select(t.ecos.c.traceparent).where(t.ecos.c.number == eco)
            ).scalar_one_or_none()
            if known is not None:
                cache[eco] = known
        if known is not None:
            return known
    return tracing.current_traceparent() or tracing.start_trace(event_type, eco)


def flush_outbox(connection: sa.Connection) -> int:
    """Write the events buffered in this unit of work (in order); return how many."""
    buffer: list[dict[str, Any]] | None = connection.info.get(OUTBOX_BUFFER)
    if not buffer:
        return 0
    rows = list(buffer)
    buffer.clear()
    lock_outbox(connection)
    connection.execute(sa.insert(t.outbox), rows)
    return len(rows)


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One unit of work: a transaction that takes the outbox lock first, buffers the
    events it emits and writes them just before it commits."""
    with engine.begin() as connection:
        lock_outbox(connection)
        connection.info[OUTBOX_BUFFER] = []
        try:
            yield connection
            flush_outbox(connection)
        finally:
            # A connection the database dropped is invalid (and its info gone with it);
            # touching it would hide the error that dropped it.
            if not connection.invalidated:
                connection.info.pop(OUTBOX_BUFFER, None)


def undelivered(
    connection: sa.Connection, *, after: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Outbox events not yet acknowledged, oldest first, with their row ids."""
    rows = connection.execute(
        sa.select(t.outbox.c.id, t.outbox.c.event)
        .where(t.outbox.c.id > after)
        .where(t.outbox.c.delivered_at.is_(None))
        .order_by(t.outbox.c.id)
        .limit(limit)
    ).all()
    return [(int(row.id), dict(row.event)) for row in rows]


MARK_CHUNK = 1000
"""Outbox ids marked delivered per statement (the relay marks several batches at once)."""


def mark_delivered(connection: sa.Connection, ids: Sequence[int], now: datetime) -> None:
    """Record that the collector acknowledged these outbox rows."""
    for start in range(0, len(ids), MARK_CHUNK):
        chunk = ids[start : start + MARK_CHUNK]
        connection.execute(
            sa.update(t.outbox).where(t.outbox.c.id.in_(chunk)).values(delivered_at=now)
        )


def outbox_backlog(connection: sa.Connection) -> int:
    """How many events wait for delivery."""
    count = connection.execute(
        sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.delivered_at.is_(None))
    ).scalar_one()
    return int(count)


def prune_delivered(connection: sa.Connection, before: datetime) -> int:
    """Delete delivered outbox rows older than ``before``; the collector keeps the events."""
    result = connection.execute(
        sa.delete(t.outbox)
        .where(t.outbox.c.delivered_at.is_not(None))
        .where(t.outbox.c.delivered_at < before)
    )
    return int(result.rowcount)
