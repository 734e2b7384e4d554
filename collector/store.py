"""The event store: append events (de-duplicated) and keep the projections in step.

Every write is one transaction holding the new events and the projection rows they change,
so a reader never sees an event without its effect or the other way round. ``source`` +
``id`` identifies an event: storing it again is a counted duplicate that changes nothing.

Concurrent writers (several collectors, or the two writers of one, on PostgreSQL)
serialise per ECO: a batch takes a transaction-scoped advisory lock for every ECO it
touches, in sorted order, before it reads the rows it recomputes; a deadlock or
serialisation failure is retried. SQLite has one writer at a time anyway.

On PostgreSQL a batch costs two pipelined round trips plus the commit (see
:class:`collector.writers.PostgresWriter`); elsewhere it goes statement by statement
through SQLAlchemy.
"""

from __future__ import annotations

import base64
import time as _clock
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from collector.derived import ConfirmationSla
from collector.errors import CollectorError
from collector.projections import Projector, StoredEvent
from collector.rows import Needs, Row, Working
from collector.sourcing_facts import fact_changes
from collector.tables import (
    PROJECTIONS,
    drift,
    eco_plants,
    eco_status,
    events,
    operator_actions,
    plant_revisions,
    reconciliations,
    step_status,
    supplier_notices,
)
from collector.writers import writer_for
from contracts.events import owns
from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import StepState
from threadline.db import capabilities

# CloudEvent attributes with a column of their own; every other attribute is an extension.
COLUMN_ATTRIBUTES = (
    "subject",
    "datacontenttype",
    "dataschema",
    "correlationid",
    "causationid",
    "traceparent",
    "sequence",
)
CORE_ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "time", "data", "data_base64"})
NOT_EXTENSIONS = CORE_ATTRIBUTES | frozenset(COLUMN_ATTRIBUTES)

# PostgreSQL error codes worth one more try: a deadlock or a serialisation failure between
# two collectors writing the same rows.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
MAX_ATTEMPTS = 5

DEFAULT_PAGE = 100
MAX_PAGE = 1000


class AppendResult(NamedTuple):
    """What one append did: events newly stored, and events already stored before."""

    accepted: int
    duplicates: int


@dataclass(frozen=True)
class EventPage:
    """One page of stored events (structured CloudEvents) and the cursor of the next."""

    events: list[dict[str, Any]]
    next_cursor: str | None


class StoreError(CollectorError):
    """Base of the store's errors (see :mod:`collector.errors` for the hierarchy)."""


class BadCursor(StoreError, ValueError):
    """A pagination cursor that this store did not hand out."""


def event_row(event: Mapping[str, Any], producer: str, received_at: datetime) -> Row:
    """The ``events`` row of a structured CloudEvent (``time`` as text or ``datetime``)."""
    time = event.get("time")
    if isinstance(time, str):
        time = datetime.fromisoformat(time)
    extensions = {k: v for k, v in event.items() if k not in NOT_EXTENSIONS and v is not None}
    return {
        "source": event["source"],
        "id": event["id"],
        "type": event["type"],
        "subject": event.get("subject"),
        "time": time,
        "datacontenttype": event.get("datacontenttype"),
        "dataschema": event.get("dataschema"),
        "correlationid": event.get("correlationid"),
        "causationid": event.get("causationid"),
        "traceparent": event.get("traceparent"),
        "sequence": event.get("sequence"),
        "data": event.get("data"),
        "data_base64": event.get("data_base64"),
        "extensions": extensions or None,
        "producer": producer,
        "received_at": received_at,
    }


def structured(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event as a structured-mode CloudEvent (a JSON-ready ``dict``)."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": row["id"],
        "source": row["source"],
        "type": row["type"],
    }
    time = row["time"]
    if time is not None:
        event["time"] = time.isoformat().replace("+00:00", "Z")
    for name in COLUMN_ATTRIBUTES:
        if row[name] is not None:
            event[name] = row[name]
    event.update(row["extensions"] or {})
    if row["data_base64"] is not None:
        event["data_base64"] = row["data_base64"]
    elif row["data"] is not None:
        event["data"] = row["data"]
    return event


def _stored_event(row: Mapping[str, Any], seq: int) -> StoredEvent:
    return StoredEvent(
        seq=seq,
        type=row["type"],
        time=row["time"] or row["received_at"],
        sequence=row["sequence"],
        data=row["data"],
    )


class EventStore:
    """Appends CloudEvents to the ``events`` table and maintains every projection."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        sla: ConfirmationSla | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.projector = Projector(sla)
        self.clock = clock or (lambda: datetime.now(UTC))
        caps = capabilities(engine)
        self._writer = writer_for(caps)

    def append(self, batch: Sequence[Mapping[str, Any]], producer: str) -> AppendResult:
        """Store ``batch`` (structured CloudEvents, already validated) all or nothing.

        Returns how many were new and how many were already stored (or repeated within
        ``batch``). Projections are updated for the new ones only, in the same transaction.
        """
        return self.append_many([(batch, producer)])[0]

    def append_many(
        self, requests: Sequence[tuple[Sequence[Mapping[str, Any]], str]]
    ) -> list[AppendResult]:
        """Store several requests' events in one transaction (the collector's group commit).

        An event repeated across requests counts as new for the first request holding it
        and as a duplicate for the others.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    return self._append(connection, requests)
            except sa.exc.DBAPIError as exc:
                if attempt == MAX_ATTEMPTS or _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                    raise
                _clock.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def _append(
        self,
        connection: sa.Connection,
        requests: Sequence[tuple[Sequence[Mapping[str, Any]], str]],
    ) -> list[AppendResult]:
        received_at = self.clock()
        seen: set[tuple[str, str]] = set()
        rows: list[Row] = []
        owners: list[int] = []
        duplicates = [0] * len(requests)
        for index, (batch, producer) in enumerate(requests):
            for event in batch:
                key = (event["source"], event["id"])
                if key in seen:
                    duplicates[index] += 1
                    continue
                seen.add(key)
                rows.append(event_row(event, producer, received_at))
                owners.append(index)
        # Which rows the batch may touch is known before the insert says which events are
        # new, so the loads can share the insert's round trip.
        needs = self.projector.needs(
            (row["type"], row["data"]) for row in rows if owns(row["producer"], row["type"])
        )
        result, work = self._writer.insert_and_load(connection, rows, needs)
        inserted = {(source, id_): seq for seq, source, id_ in result}
        accepted = [0] * len(requests)
        new_events = []
        for row, owner in zip(rows, owners, strict=True):
            seq = inserted.get((row["source"], row["id"]))
            if seq is None:
                duplicates[owner] += 1
                continue
            accepted[owner] += 1
            if owns(row["producer"], row["type"]):
                new_events.append(_stored_event(row, seq))
        if new_events:
            self._project(connection, new_events, work, needs)
        return [AppendResult(a, d) for a, d in zip(accepted, duplicates, strict=True)]

    def _project(
        self,
        connection: sa.Connection,
        new_events: list[StoredEvent],
        work: Working,
        needs: Needs,
    ) -> None:
        originals: list[tuple[sa.Table, dict[Any, Row], dict[Any, Row]]] = [
            (table, rows, {key: dict(row) for key, row in rows.items()})
            for table, rows in (
                (eco_status, work.ecos),
                (step_status, work.steps),
                (eco_plants, work.plants),
                (supplier_notices, work.notices),
                (plant_revisions, work.revisions),
                (drift, work.drift),
                (reconciliations, work.reconciliations),
            )
        ]
        for event in sorted(new_events, key=lambda e: e.key):
            self.projector.apply(work, event)
        self.projector.derive(work, needs.ecos)
        changes = []
        for table, rows, before in originals:
            changed = [row for key, row in rows.items() if before.get(key) != row]
            if changed:
                changes.append((table, changed))
        if work.actions:
            changes.append((operator_actions, work.actions))
        changes.extend(fact_changes(new_events))
        if changes:
            self._writer.write(connection, changes)

    def query(
        self,
        *,
        correlationid: str | None = None,
        subject: str | None = None,
        type: str | None = None,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> EventPage:
        """Stored events matching every given filter, oldest first, one page at a time.

        ``since`` is inclusive and ``until`` exclusive (event time). ``cursor`` is the
        ``next_cursor`` of the previous page.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = sa.select(events).order_by(events.c.seq).limit(limit + 1)
        filters = {
            events.c.correlationid: correlationid,
            events.c.subject: subject,
            events.c.type: type,
            events.c.source: source,
        }
        for column, value in filters.items():
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(events.c.time >= since)
        if until is not None:
            query = query.where(events.c.time < until)
        if cursor is not None:
            query = query.where(events.c.seq > _decode_cursor(cursor))
        with self.engine.connect() as connection:
            rows = [dict(row) for row in _mappings(connection, query)]
        next_cursor = _encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return EventPage([structured(row) for row in rows[:limit]], next_cursor)

    def count(self) -> int:
        """How many events are stored."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(events)).one()[0])

    def summary(self) -> dict[str, int]:
        """Headline counts from the read models (what ``threadline up`` prints while it runs)."""
        counts = sa.select(
            sa.select(sa.func.count()).select_from(eco_status).scalar_subquery().label("ecos"),
            sa.select(sa.func.count())
            .where(eco_status.c.state == EcoState.PRODUCTION_READY)
            .scalar_subquery()
            .label("ready"),
            sa.select(sa.func.count())
            .where(step_status.c.state == StepState.AWAITING_CONFIRMATION)
            .scalar_subquery()
            .label("awaiting"),
            sa.select(sa.func.count())
            .where(eco_plants.c.state == PlantState.BLOCKED)
            .scalar_subquery()
            .label("blocked"),
            sa.select(sa.func.count())
            .where(supplier_notices.c.status == NoticeStatus.FAILED)
            .scalar_subquery()
            .label("failed"),
        )
        with self.engine.connect() as connection:
            row = connection.execute(counts).one()
        return {
            "ecos_received": int(row.ecos),
            "production_ready": int(row.ready),
            "awaiting_confirmation": int(row.awaiting),
            "blocked_plants": int(row.blocked),
            "failed_notices": int(row.failed),
        }

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def rebuild(
        self, *, batch_size: int = 2000, progress: Callable[[int], None] | None = None
    ) -> int:
        """Rebuild every projection from the stored events; return how many were replayed.

        One transaction: readers keep seeing the old projections until the new ones are
        complete. Events are read in pages of ``batch_size`` by ``seq``, never all at once.
        Appends wait meanwhile (on PostgreSQL the events table is locked against writes;
        on SQLite the write transaction excludes every other writer).
        """
        replayed = 0
        with self.engine.begin() as connection:
            self._writer.lock_for_rebuild(connection)
            for table in PROJECTIONS:
                connection.execute(table.delete())
            for page in _pages(connection, batch_size):
                # Only an owner's events: one stored before producers were checked is ignored.
                catalog_events = [
                    _stored_event(row, row["seq"])
                    for row in page
                    if owns(row["producer"], row["type"])
                ]
                if catalog_events:
                    needs = self.projector.needs((e.type, e.data) for e in catalog_events)
                    _, work = self._writer.insert_and_load(connection, [], needs, lock=False)
                    self._project(connection, catalog_events, work, needs)
                replayed += len(page)
                if progress is not None:
                    progress(replayed)
        return replayed


def _pages(connection: sa.Connection, batch_size: int) -> Iterable[list[Row]]:
    columns = [events.c.seq, events.c.type, events.c.producer, events.c.time, events.c.received_at]
    columns += [events.c.sequence, events.c.data]
    last = 0
    while True:
        query = (
            sa.select(*columns).where(events.c.seq > last).order_by(events.c.seq).limit(batch_size)
        )
        page = [dict(row) for row in _mappings(connection, query)]
        if not page:
            return
        yield page
        last = page[-1]["seq"]


def _mappings(connection: sa.Connection, query: sa.Executable) -> Iterable[sa.RowMapping]:
    return connection.execute(query).mappings()


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "seq" or not number.isdigit() or len(number) > 19:
            raise ValueError(cursor)
        return int(number)
    except (ValueError, UnicodeError) as exc:
        raise BadCursor(f"not a cursor of this collector: {cursor!r}") from exc


def _sqlstate(exc: sa.exc.DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
