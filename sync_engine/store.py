"""The step store: every query on the engine's tables, and the one :func:`transition`.

Each function takes a :class:`sqlalchemy.Connection` inside a transaction the caller
opened (``with writing(engine) as connection``, or ``engine.begin()``), so a state change
and the CloudEvent that records it always commit together.

Claiming: on PostgreSQL due steps are selected ``FOR UPDATE SKIP LOCKED`` and leased
(``lease_holder``, ``lease_until``), so any number of engines share the work; a crashed
engine's lease expires and :func:`reap_expired` hands its steps back. On SQLite the
clause is not rendered: write transactions start with ``BEGIN IMMEDIATE`` and run one at a
time, and only one engine process runs (see :mod:`sync_engine.runner`).

Outbox order: on PostgreSQL every transaction that writes the outbox holds one
transaction-scoped advisory lock (:func:`lock_outbox`), so outbox ids commit in id order
and the relay never sees a later id before an earlier one. Writers take it first, before
any row lock, so two engines' transactions cannot deadlock on each other, and checks that
read other steps (is the ECO now production-ready? was it cancelled meanwhile?) see every
earlier write: taken last, two transactions finishing an ECO's last two steps could each
miss the other's and leave the ECO open. SQLite serialises writers anyway.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from contracts import events as ev
from contracts.model import Eco, Item
from contracts.plan import PlannedStep, idempotency_key, withdrawal_step
from contracts.steps import ErrorCategory, StepKind, StepState, System
from sync_engine import tables as t
from sync_engine.errors import CallError, StaleStep, TransitionNotAllowed
from sync_engine.states import CANCELLABLE, allowed
from threadline.db import capabilities, insert_ignoring_conflicts

SOURCE = "/threadline/engine"
"""The CloudEvents ``source`` of everything the engine emits."""

OUTBOX_LOCK_KEY = 0x7468_7264_6F62  # "thrdob": one advisory lock for outbox writers
OUTBOX_BUFFER = "threadline.outbox_buffer"
DONE = (StepState.SUCCEEDED.value, StepState.SKIPPED.value)
FINAL = tuple(s.value for s in StepState if s.is_final)
NOT_PLANT_WORK = (StepKind.SUPPLIER_NOTICE.value, StepKind.ERP_BOM_WITHDRAWAL.value)


class EcoState:
    """Where an ECO stands in the engine (``sync_ecos.state``)."""

    IN_PROGRESS = "in_progress"
    PRODUCTION_READY = "production_ready"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class StepRecord(BaseModel):
    """A stored step, as read; field names are the column names."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    eco: str
    eco_approved_at: datetime
    kind: StepKind
    system: System
    plant: str | None
    item: str | None
    revision: str | None
    supplier: str | None
    state: StepState
    attempt: int
    generation: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    lease_holder: str | None
    idempotency_key: str
    payload: dict[str, Any]
    external_id: str | None
    external_status: str | None
    production_version: str | None
    requested_at: datetime | None
    overdue_at: datetime | None
    last_error_category: str | None
    last_error_code: str | None
    last_error_message: str | None
    last_error_status: int | None
    fingerprint: str | None
    created_at: datetime
    updated_at: datetime


def _record(row: sa.Row[Any]) -> StepRecord:
    return StepRecord.model_validate(dict(row._mapping))


def fingerprint(kind: StepKind, code: str) -> str:
    """Groups like failures: the same kind of step failing with the same code."""
    return f"{kind.value}:{code}"


def step_error(kind: StepKind, error: CallError) -> ev.StepError:
    """The event form of a classified call error."""
    return ev.StepError(
        category=error.category,
        code=error.code,
        message=error.message[:2000],
        http_status=error.http_status,
        fingerprint=fingerprint(kind, error.code),
    )


# --- outbox -------------------------------------------------------------------------------


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
) -> str:
    """Write the CloudEvent carrying ``data`` to the outbox; return its id.

    The type comes from the data's class, subject and correlation id from what it names
    (:func:`contracts.events.new_event`).

    Inside :func:`writing` events are buffered and written in one statement when the unit
    of work ends; otherwise at once. The ``sequence`` extension is the outbox row id,
    added by the relay when it sends.
    """
    event = ev.new_event(
        data,
        source=SOURCE,
        time=now,
        subject=subject,
        correlationid=correlationid,
        causationid=causationid,
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


def mark_delivered(connection: sa.Connection, ids: Sequence[int], now: datetime) -> None:
    """Record that the collector acknowledged these outbox rows."""
    if ids:
        connection.execute(
            sa.update(t.outbox).where(t.outbox.c.id.in_(ids)).values(delivered_at=now)
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


# --- the one transition -------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One requested state change of a step, with the columns it sets."""

    step: StepRecord
    to: StepState
    changes: Mapping[str, Any] = field(default_factory=dict)
    error: ev.StepError | None = None
    reason: str | None = None
    actor: str | None = None
    event_fields: Mapping[str, Any] | None = None


def apply_moves(
    connection: sa.Connection, moves: Sequence[Move], *, now: datetime, locked: bool = False
) -> list[StepRecord | None]:
    """Apply state changes in bulk: the one place a step's state changes.

    Every move is checked against the transition table (:class:`TransitionNotAllowed`
    otherwise). A move applies only while its step is still in the state (and, when
    running, under the lease) it was read in: the current rows are read and locked first,
    and a stale move yields ``None`` and writes nothing. Each applied move writes its step
    event to the outbox in the same transaction. ``locked`` says the caller read (and
    locked) these very rows in this transaction, so they need no second read.
    """
    for move in moves:
        if not allowed(move.step.state, move.to):
            raise TransitionNotAllowed(
                f"{move.step.step_id}: {move.step.state} -> {move.to} is not allowed"
            )
    if not moves:
        return []
    lock_outbox(connection)
    ids = list({m.step.step_id for m in moves})
    current: dict[str, tuple[str, str | None]] = {}
    if locked:
        current = {m.step.step_id: (m.step.state.value, m.step.lease_holder) for m in moves}
    for chunk in range(0, 0 if locked else len(ids), 500):
        rows = connection.execute(
            sa.select(t.steps.c.step_id, t.steps.c.state, t.steps.c.lease_holder)
            .where(t.steps.c.step_id.in_(ids[chunk : chunk + 500]))
            .with_for_update()
        ).all()
        current.update({row.step_id: (row.state, row.lease_holder) for row in rows})
    results: list[StepRecord | None] = []
    applied: list[tuple[Move, StepRecord]] = []
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for move in moves:
        step = move.step
        state, holder = current.pop(step.step_id, (None, None))
        if state != step.state.value or (
            step.state is StepState.RUNNING and holder != step.lease_holder
        ):
            results.append(None)
            continue
        values: dict[str, Any] = {"state": move.to.value, "updated_at": now, **move.changes}
        if move.error is not None:
            values.update(
                last_error_category=move.error.category.value,
                last_error_code=move.error.code,
                last_error_message=move.error.message,
                last_error_status=move.error.http_status,
                fingerprint=move.error.fingerprint,
            )
        groups.setdefault(tuple(sorted(values)), []).append(
            {"b_step_id": step.step_id, **{f"b_{k}": v for k, v in values.items()}}
        )
        updated = step.model_copy(update={**values, "state": move.to})
        applied.append((move, updated))
        results.append(updated)
    for keys, params in groups.items():
        statement = (
            sa.update(t.steps)
            .where(t.steps.c.step_id == sa.bindparam("b_step_id"))
            .values({key: sa.bindparam(f"b_{key}", type_=t.steps.c[key].type) for key in keys})
        )
        connection.execute(statement, params)
    for move, updated in applied:
        _step_event(connection, move, updated, now)
    return results


def _step_event(connection: sa.Connection, move: Move, updated: StepRecord, now: datetime) -> None:
    step = move.step
    data = ev.step_transition(
        move.to,
        eco=step.eco,
        step_id=step.step_id,
        kind=step.kind,
        system=step.system,
        plant=step.plant,
        item=step.item,
        revision=step.revision,
        supplier=step.supplier,
        from_state=step.state,
        attempt=updated.attempt,
        idempotency_key=updated.idempotency_key,
        error=move.error,
        next_attempt_at=updated.next_attempt_at,
        reason=move.reason,
        actor=move.actor,
        **(move.event_fields or {}),
    )
    emit(connection, data, now=now)


def transition(
    connection: sa.Connection,
    step: StepRecord,
    to: StepState,
    *,
    now: datetime,
    error: ev.StepError | None = None,
    reason: str | None = None,
    actor: str | None = None,
    event_fields: Mapping[str, Any] | None = None,
    **changes: Any,
) -> StepRecord:
    """Move one step (see :func:`apply_moves`); :class:`StaleStep` if it changed under us."""
    (updated,) = apply_moves(
        connection,
        [Move(step, to, changes, error, reason, actor, event_fields)],
        now=now,
    )
    if updated is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return updated


# --- reading steps ------------------------------------------------------------------------


def get_step(connection: sa.Connection, step_id: str) -> StepRecord | None:
    """One step by id."""
    row = connection.execute(sa.select(t.steps).where(t.steps.c.step_id == step_id)).one_or_none()
    return None if row is None else _record(row)


def steps_of(connection: sa.Connection, eco: str) -> list[StepRecord]:
    """Every step of an ECO, in plan order of creation."""
    rows = connection.execute(
        sa.select(t.steps).where(t.steps.c.eco == eco).order_by(t.steps.c.created_at)
    ).all()
    return [_record(row) for row in rows]


def find_steps(
    connection: sa.Connection,
    *,
    states: Iterable[StepState] | None = None,
    kind: StepKind | None = None,
    fingerprint: str | None = None,
    eco: str | None = None,
    plant: str | None = None,
    step_ids: Sequence[str] | None = None,
    lock: bool = False,
) -> list[StepRecord]:
    """Steps matching every given filter, oldest first."""
    query = sa.select(t.steps)
    if states is not None:
        query = query.where(t.steps.c.state.in_([s.value for s in states]))
    if kind is not None:
        query = query.where(t.steps.c.kind == kind.value)
    if fingerprint is not None:
        query = query.where(t.steps.c.fingerprint == fingerprint)
    if eco is not None:
        query = query.where(t.steps.c.eco == eco)
    if plant is not None:
        query = query.where(t.steps.c.plant == plant)
    if step_ids is not None:
        query = query.where(t.steps.c.step_id.in_(list(step_ids)))
    query = query.order_by(t.steps.c.eco_approved_at, t.steps.c.step_id)
    if lock:
        query = query.with_for_update()
    return [_record(row) for row in connection.execute(query).all()]


def count_by_state(connection: sa.Connection) -> dict[str, int]:
    """How many steps are in each state."""
    rows = connection.execute(
        sa.select(t.steps.c.state, sa.func.count()).group_by(t.steps.c.state)
    ).all()
    return {str(state): int(count) for state, count in rows}


# --- ECOs ---------------------------------------------------------------------------------


def eco_row(connection: sa.Connection, number: str) -> sa.Row[Any] | None:
    """The stored ECO, if the engine has seen it."""
    return connection.execute(sa.select(t.ecos).where(t.ecos.c.number == number)).one_or_none()


def eco_states(connection: sa.Connection) -> dict[str, str]:
    """Every known ECO's engine state."""
    rows = connection.execute(sa.select(t.ecos.c.number, t.ecos.c.state)).all()
    return {row.number: row.state for row in rows}


def record_eco(
    connection: sa.Connection,
    eco: Eco,
    items: Mapping[str, Item],
    planned: Sequence[PlannedStep],
    *,
    now: datetime,
    plm_updated_at: datetime | None = None,
) -> bool:
    """Store a newly approved ECO with its planned steps (all ``waiting``).

    Returns ``False`` (and writes nothing) if the ECO is already known, so polling the same
    ECO twice, from one engine or two, plans it once.
    """
    inserted = insert_ignoring_conflicts(
        connection,
        t.ecos,
        [
            {
                "number": eco.number,
                "title": eco.title,
                "plm_status": eco.status.value,
                "state": EcoState.IN_PROGRESS,
                "approved_at": eco.approved_at,
                "effectivity": eco.effectivity,
                "plm_updated_at": plm_updated_at,
                "received_at": now,
                "document": eco.model_dump(mode="json"),
            }
        ],
    )
    if not inserted:
        return False
    families = sorted({items[i].product_family for i in eco.items if i in items})
    emit(
        connection,
        ev.EcoReceived(
            eco=eco.number,
            title=eco.title,
            approved_at=eco.approved_at,
            effectivity=eco.effectivity,
            items=list(eco.items),
            revisions={a.item: a.new_revision for a in eco.affected_items},
            product_families=families,
            plants=list(eco.plants),
            suppliers=list(eco.suppliers),
            steps=len(planned),
        ),
        now=now,
    )
    _insert_steps(connection, planned, eco.approved_at, StepState.WAITING, now)
    return True


def _insert_steps(
    connection: sa.Connection,
    planned: Sequence[PlannedStep],
    approved_at: datetime,
    state: StepState,
    now: datetime,
) -> None:
    if not planned:
        return
    connection.execute(
        sa.insert(t.steps),
        [
            {
                "step_id": p.step_id,
                "eco": p.eco,
                "eco_approved_at": approved_at,
                "kind": p.kind.value,
                "system": p.system.value,
                "plant": p.plant,
                "item": p.item,
                "revision": p.revision,
                "supplier": p.supplier,
                "state": state.value,
                "attempt": 0,
                "generation": 0,
                "idempotency_key": p.idempotency_key,
                "payload": p.payload,
                "created_at": now,
                "updated_at": now,
            }
            for p in planned
        ],
    )
    dependencies = [{"step_id": p.step_id, "depends_on": d} for p in planned for d in p.depends_on]
    if dependencies:
        connection.execute(sa.insert(t.step_dependencies), dependencies)
    for p in planned:
        emit(
            connection,
            ev.StepScheduled(
                eco=p.eco,
                step_id=p.step_id,
                kind=p.kind,
                system=p.system,
                plant=p.plant,
                item=p.item,
                revision=p.revision,
                supplier=p.supplier,
                from_state=None,
                to_state=state,
                idempotency_key=p.idempotency_key,
            ),
            now=now,
        )


def record_rejected(
    connection: sa.Connection,
    number: str,
    violations: Sequence[ev.Violation],
    document: Mapping[str, Any],
    *,
    now: datetime,
) -> bool:
    """Record an ECO that broke the contract and emit ``eco.rejected`` once."""
    inserted = insert_ignoring_conflicts(
        connection,
        t.ecos,
        [
            {
                "number": number,
                "title": str(document.get("title") or "")[:200],
                "plm_status": str(document.get("status") or "approved")[:20],
                "state": EcoState.REJECTED,
                "received_at": now,
                "document": dict(document),
            }
        ],
    )
    if inserted:
        emit(
            connection,
            ev.EcoRejected(eco=number, violations=list(violations)),
            now=now,
        )
    return bool(inserted)


def _eco_cancelled(connection: sa.Connection, number: str) -> bool:
    state = connection.execute(
        sa.select(t.ecos.c.state).where(t.ecos.c.number == number)
    ).scalar_one_or_none()
    return state == EcoState.CANCELLED


def _maybe_production_ready(connection: sa.Connection, number: str, now: datetime) -> bool:
    return bool(_production_ready_many(connection, {number}, now))


def _production_ready_many(
    connection: sa.Connection, numbers: set[str], now: datetime
) -> list[str]:
    """Mark the ECOs among ``numbers`` whose plant work is all done production-ready and
    emit ``eco.production_ready`` for each, once."""
    if not numbers:
        return []
    candidates = sorted(numbers)
    still_open = {
        str(row.eco)
        for row in connection.execute(
            sa.select(t.steps.c.eco)
            .where(t.steps.c.eco.in_(candidates))
            .where(t.steps.c.kind.not_in(NOT_PLANT_WORK))
            .where(t.steps.c.state.not_in(DONE))
            .distinct()
        ).all()
    }
    ready = [n for n in candidates if n not in still_open]
    if not ready:
        return []
    rows = connection.execute(
        sa.update(t.ecos)
        .where(t.ecos.c.number.in_(ready))
        .where(t.ecos.c.state == EcoState.IN_PROGRESS)
        .values(state=EcoState.PRODUCTION_READY, production_ready_at=now)
        .returning(
            t.ecos.c.number, t.ecos.c.approved_at, t.ecos.c.first_confirmed_at, t.ecos.c.document
        )
    ).all()
    for row in sorted(rows, key=lambda r: str(r.number)):
        approved_at: datetime = row.approved_at
        emit(
            connection,
            ev.EcoProductionReady(
                eco=row.number,
                approved_at=approved_at,
                erp_confirmed_at=row.first_confirmed_at,
                production_ready_at=now,
                cycle_time_seconds=max(0.0, (now - approved_at).total_seconds()),
                plants=list(row.document.get("plants", [])),
            ),
            now=now,
        )
    return [str(row.number) for row in rows]


# --- moving steps along -------------------------------------------------------------------


def _lock(query: sa.Select[Any]) -> sa.Select[Any]:
    # Rendered on PostgreSQL only; SQLite's BEGIN IMMEDIATE already holds the write lock.
    return query.with_for_update(skip_locked=True, of=t.steps)


def promote_ready(connection: sa.Connection, *, now: datetime, limit: int) -> list[StepRecord]:
    """Make ``waiting`` steps ``pending`` once their dependencies are done and no earlier
    ECO's step of the same kind on the same item (at the same plant) is still open.

    So every system sees the changes to an item in approval order (BOM versions, routings,
    production versions, MES routings, releases), while a later ECO's other steps do not
    wait for the earlier ECO's confirmation: ECOs on one item pipeline instead of queueing.
    A blocked step of the earlier ECO holds back the same step of every later one.
    """
    dep = t.step_dependencies.alias("dep")
    prior = t.steps.alias("prior")
    needed = t.steps.alias("needed")
    s = t.steps
    deps_open = (
        sa.select(sa.literal(1))
        .select_from(dep.join(needed, needed.c.step_id == dep.c.depends_on))
        .where(dep.c.step_id == s.c.step_id)
        .where(needed.c.state.not_in(DONE))
    )
    earlier_open = (
        sa.select(sa.literal(1))
        .where(prior.c.item == s.c.item)
        .where(prior.c.kind == s.c.kind)
        .where(prior.c.eco != s.c.eco)
        .where(
            sa.or_(
                prior.c.plant == s.c.plant, sa.and_(prior.c.plant.is_(None), s.c.plant.is_(None))
            )
        )
        .where(prior.c.state.not_in(FINAL))
        .where(
            sa.or_(
                prior.c.eco_approved_at < s.c.eco_approved_at,
                sa.and_(prior.c.eco_approved_at == s.c.eco_approved_at, prior.c.eco < s.c.eco),
            )
        )
    )
    query = (
        sa.select(s)
        .where(s.c.state == StepState.WAITING.value)
        .where(~deps_open.exists())
        .where(~earlier_open.exists())
        .order_by(s.c.eco_approved_at, s.c.step_id)
        .limit(limit)
    )
    rows = connection.execute(_lock(query)).all()
    moves = [Move(_record(row), StepState.PENDING) for row in rows]
    promoted = apply_moves(connection, moves, now=now, locked=True)
    return [step for step in promoted if step is not None]


def claim_due(
    connection: sa.Connection,
    *,
    holder: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    kinds: Iterable[StepKind] | None = None,
) -> list[StepRecord]:
    """Claim up to ``limit`` due steps for ``holder``: each becomes ``running`` under a lease."""
    s = t.steps
    query = (
        sa.select(s)
        .where(s.c.state.in_([StepState.PENDING.value, StepState.RETRYING.value]))
        .where(sa.or_(s.c.next_attempt_at.is_(None), s.c.next_attempt_at <= now))
        .order_by(s.c.eco_approved_at, s.c.step_id)
        .limit(limit)
    )
    if kinds is not None:
        query = query.where(s.c.kind.in_([k.value for k in kinds]))
    rows = connection.execute(_lock(query)).all()
    until = now + timedelta(seconds=lease_seconds)
    moves = []
    for row in rows:
        step = _record(row)
        changes = {
            "attempt": step.attempt + 1,
            "lease_holder": holder,
            "lease_until": until,
            "next_attempt_at": None,
        }
        moves.append(Move(step, StepState.RUNNING, changes))
    claimed = apply_moves(connection, moves, now=now, locked=True)
    return [step for step in claimed if step is not None]


def reap_expired(connection: sa.Connection, *, now: datetime, limit: int = 500) -> list[str]:
    """Hand back running steps whose lease expired (their engine died): ``pending`` again."""
    s = t.steps
    query = (
        sa.select(s)
        .where(s.c.state == StepState.RUNNING.value)
        .where(s.c.lease_until < now)
        .order_by(s.c.lease_until)
        .limit(limit)
    )
    moves = [
        Move(
            step,
            StepState.PENDING,
            {"lease_holder": None, "lease_until": None},
            reason=f"lease of {step.lease_holder} expired",
        )
        for step in (_record(row) for row in connection.execute(_lock(query)).all())
    ]
    reaped = apply_moves(connection, moves, now=now, locked=True)
    return [step.step_id for step in reaped if step is not None]


@dataclass(frozen=True)
class Success:
    """A running step's call applied, with what the system answered."""

    step: StepRecord
    external_id: str | None = None
    external_status: str | None = None
    reason: str | None = None


def succeed_many(
    connection: sa.Connection, successes: Sequence[Success], *, now: datetime
) -> list[StepRecord | None]:
    """Record applied calls in bulk (``None`` for a step whose lease was lost)."""
    moves = [
        Move(
            s.step,
            StepState.SUCCEEDED,
            {
                "external_id": s.external_id,
                "external_status": s.external_status,
                "lease_holder": None,
                "lease_until": None,
            },
            reason=s.reason,
        )
        for s in successes
    ]
    results = apply_moves(connection, moves, now=now)
    done = [(s, r) for s, r in zip(successes, results, strict=True) if r is not None]
    versions = [
        {"b_eco": r.eco, "b_plant": r.plant, "b_item": r.item, "b_pv": s.external_id}
        for s, r in done
        if r.kind is StepKind.ERP_PRODUCTION_VERSION
    ]
    if versions:
        # The confirmation polls this version, and MES is told it.
        connection.execute(
            sa.update(t.steps)
            .where(t.steps.c.eco == sa.bindparam("b_eco"))
            .where(t.steps.c.plant == sa.bindparam("b_plant"))
            .where(t.steps.c.item == sa.bindparam("b_item"))
            .where(
                # Not IN: an expanding list cannot be sent with executemany.
                sa.or_(
                    t.steps.c.kind == StepKind.ERP_CONFIRMATION.value,
                    t.steps.c.kind == StepKind.MES_ROUTING.value,
                )
            )
            .values(production_version=sa.bindparam("b_pv")),
            versions,
        )
    cancelled = _cancelled_among(connection, {r.eco for _, r in done if r.kind is StepKind.ERP_BOM})
    for success, step in done:
        if step.kind is StepKind.MES_ROUTING:
            _record_plant_revision(connection, step, System.MES, now)
        elif step.kind is StepKind.SUPPLIER_NOTICE:
            emit(
                connection,
                ev.SupplierNoticeSent(
                    eco=step.eco,
                    supplier=step.supplier or "",
                    notice_id=success.external_id or "",
                    items=list(step.payload.get("items", [])),
                    attempt=max(1, step.attempt),
                ),
                now=now,
            )
        elif (
            step.kind is StepKind.ERP_BOM
            and success.external_status == "scheduled"
            and step.eco in cancelled
        ):
            _schedule_withdrawal(connection, step, now)
    _production_ready_many(connection, {r.eco for _, r in done}, now)
    return results


def succeed(
    connection: sa.Connection,
    step: StepRecord,
    *,
    now: datetime,
    external_id: str | None = None,
    external_status: str | None = None,
    reason: str | None = None,
) -> StepRecord:
    """Record one running step's call as applied (see :func:`succeed_many`)."""
    (done,) = succeed_many(
        connection, [Success(step, external_id, external_status, reason)], now=now
    )
    if done is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return done


def _cancelled_among(connection: sa.Connection, numbers: set[str]) -> set[str]:
    if not numbers:
        return set()
    rows = connection.execute(
        sa.select(t.ecos.c.number)
        .where(t.ecos.c.number.in_(sorted(numbers)))
        .where(t.ecos.c.state == EcoState.CANCELLED)
    ).all()
    return {str(row.number) for row in rows}


def await_confirmations(
    connection: sa.Connection, steps: Sequence[StepRecord], *, now: datetime
) -> list[StepRecord | None]:
    """Claimed confirmation steps start waiting for ERP to activate their versions."""
    moves = [
        Move(
            step,
            StepState.AWAITING_CONFIRMATION,
            {"requested_at": now, "lease_holder": None, "lease_until": None},
            event_fields={"production_version": step.production_version},
        )
        for step in steps
    ]
    return apply_moves(connection, moves, now=now)


def await_confirmation(connection: sa.Connection, step: StepRecord, *, now: datetime) -> StepRecord:
    """One claimed confirmation step starts waiting (see :func:`await_confirmations`)."""
    (waiting,) = await_confirmations(connection, [step], now=now)
    if waiting is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return waiting


def awaiting_confirmations(
    connection: sa.Connection, *, limit: int, now: datetime | None = None
) -> list[StepRecord]:
    """Steps waiting for ERP to confirm a production version, longest waiting first;
    with ``now``, only those due for another look (see :func:`defer_polls`)."""
    query = sa.select(t.steps).where(t.steps.c.state == StepState.AWAITING_CONFIRMATION.value)
    if now is not None:
        query = query.where(
            sa.or_(t.steps.c.next_attempt_at.is_(None), t.steps.c.next_attempt_at <= now)
        )
    rows = connection.execute(query.order_by(t.steps.c.requested_at).limit(limit)).all()
    return [_record(row) for row in rows]


def defer_polls(connection: sa.Connection, due: Mapping[str, datetime]) -> None:
    """When to ask ERP again about each still-pending confirmation (not a state change)."""
    if due:
        connection.execute(
            sa.update(t.steps)
            .where(t.steps.c.step_id == sa.bindparam("b_step_id"))
            .where(t.steps.c.state == StepState.AWAITING_CONFIRMATION.value)
            .values(next_attempt_at=sa.bindparam("b_due", type_=t.steps.c.next_attempt_at.type)),
            [{"b_step_id": step_id, "b_due": at} for step_id, at in due.items()],
        )


def confirm(
    connection: sa.Connection, step: StepRecord, *, now: datetime, confirmed_at: datetime
) -> StepRecord:
    """ERP reported the production version active: the plant builds the new revision."""
    done = transition(connection, step, StepState.SUCCEEDED, now=now)
    plant, item, revision = step.plant or "", step.item or "", step.revision or "A"
    requested_at = step.requested_at or now
    emit(
        connection,
        ev.ProductionVersionConfirmed(
            eco=step.eco,
            plant=plant,
            item=item,
            revision=revision,
            production_version=step.production_version or "",
            requested_at=requested_at,
            confirmed_at=confirmed_at,
        ),
        now=now,
    )
    old = _record_plant_revision(connection, step, System.ERP, now)
    effective = connection.execute(
        sa.select(t.ecos.c.effectivity).where(t.ecos.c.number == step.eco)
    ).scalar_one()
    emit(
        connection,
        ev.PlantRevisionChanged(
            plant=plant,
            item=item,
            old_revision=old,
            new_revision=revision,
            eco=step.eco,
            effective_from=effective or confirmed_at.date(),
        ),
        now=now,
    )
    connection.execute(
        sa.update(t.ecos)
        .where(t.ecos.c.number == step.eco)
        .where(t.ecos.c.first_confirmed_at.is_(None))
        .values(first_confirmed_at=confirmed_at)
    )
    _maybe_production_ready(connection, step.eco, now)
    return done


def mark_overdue(
    connection: sa.Connection, step: StepRecord, *, now: datetime, sla_seconds: float
) -> bool:
    """Emit ``confirmation_overdue`` once for a confirmation past its plant's SLA."""
    updated = connection.execute(
        sa.update(t.steps)
        .where(t.steps.c.step_id == step.step_id)
        .where(t.steps.c.overdue_at.is_(None))
        .values(overdue_at=now)
    )
    if updated.rowcount != 1:
        return False
    emit(
        connection,
        ev.ConfirmationOverdue(
            eco=step.eco,
            plant=step.plant or "",
            item=step.item or "",
            revision=step.revision or "A",
            requested_at=step.requested_at or now,
            sla_seconds=sla_seconds,
        ),
        now=now,
    )
    return True


def fail(
    connection: sa.Connection,
    step: StepRecord,
    error: CallError,
    *,
    now: datetime,
    next_attempt_at: datetime | None,
) -> StepRecord:
    """Record a failed call: ``retrying`` until ``next_attempt_at``; otherwise ``failed``
    (a dead letter) or ``blocked`` (a business rejection). A step of a cancelled ECO stops.
    """
    info = step_error(step.kind, error)
    release = {"lease_holder": None, "lease_until": None}
    if step.kind is not StepKind.ERP_BOM_WITHDRAWAL and _eco_cancelled(connection, step.eco):
        return transition(
            connection,
            step,
            StepState.CANCELLED,
            now=now,
            error=info,
            reason="ECO cancelled",
            **release,
        )
    if error.category is ErrorCategory.BUSINESS:
        return transition(connection, step, StepState.BLOCKED, now=now, error=info, **release)
    if error.category is ErrorCategory.TRANSIENT and next_attempt_at is not None:
        failed = transition(
            connection,
            step,
            StepState.RETRYING,
            now=now,
            error=info,
            next_attempt_at=next_attempt_at,
            **release,
        )
        _notice_failed(connection, failed, info, now, final=False)
        return failed
    response = error.payload if isinstance(error.payload, dict) else None
    failed = transition(
        connection,
        step,
        StepState.FAILED,
        now=now,
        error=info,
        event_fields={"payload": response},
        **release,
    )
    connection.execute(
        sa.insert(t.dead_letters).values(
            step_id=step.step_id,
            eco=step.eco,
            kind=step.kind.value,
            attempt=step.attempt,
            category=info.category.value,
            code=info.code,
            message=info.message,
            request=step.payload,
            response=None if error.payload is None else {"body": error.payload},
            created_at=now,
        )
    )
    _notice_failed(connection, failed, info, now, final=True)
    return failed


def reject_confirmation(
    connection: sa.Connection, step: StepRecord, error: CallError, *, now: datetime
) -> StepRecord:
    """ERP rejected the production version, or answered its status out of contract."""
    info = step_error(step.kind, error)
    to = StepState.BLOCKED if error.category is ErrorCategory.BUSINESS else StepState.FAILED
    fields = (
        {"payload": error.payload}
        if to is StepState.FAILED and isinstance(error.payload, dict)
        else None
    )
    return transition(connection, step, to, now=now, error=info, event_fields=fields)


def _notice_failed(
    connection: sa.Connection, step: StepRecord, info: ev.StepError, now: datetime, *, final: bool
) -> None:
    if step.kind is not StepKind.SUPPLIER_NOTICE:
        return
    emit(
        connection,
        ev.SupplierNoticeFailed(
            eco=step.eco,
            supplier=step.supplier or "",
            attempt=max(1, step.attempt),
            error=info,
            final=final,
            next_attempt_at=step.next_attempt_at,
        ),
        now=now,
    )


def _record_plant_revision(
    connection: sa.Connection, step: StepRecord, system: System, now: datetime
) -> str | None:
    column = "erp_revision" if system is System.ERP else "mes_revision"
    key = {"plant": step.plant, "item": step.item}
    old = connection.execute(
        sa.select(t.plant_revisions.c[column])
        .where(t.plant_revisions.c.plant == step.plant)
        .where(t.plant_revisions.c.item == step.item)
    ).one_or_none()
    if old is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(**key, **{column: step.revision}, updated_at=now)
        )
        return None
    connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == step.plant)
        .where(t.plant_revisions.c.item == step.item)
        .values(**{column: step.revision}, updated_at=now)
    )
    return str(old[0]) if old[0] is not None else None


# --- operator actions and compensation ----------------------------------------------------


def requeue(
    connection: sa.Connection, step: StepRecord, *, now: datetime, actor: str, reason: str
) -> StepRecord:
    """An operator's retry: a failed or blocked step is due again with fresh attempts.

    A blocked step gets a new idempotency key: the system rejected it, so nothing was
    applied, and it would answer the old key with its first (rejecting) response.
    """
    changes: dict[str, Any] = {"attempt": 0, "next_attempt_at": None}
    if step.state is StepState.BLOCKED:
        generation = step.generation + 1
        changes["generation"] = generation
        changes["idempotency_key"] = idempotency_key(
            step.eco,
            step.kind,
            f"{step.plant or '-'}/{step.item or step.supplier or '-'}",
            step.revision,
            generation,
        )
    return transition(
        connection,
        step,
        StepState.PENDING,
        now=now,
        actor=actor,
        reason=reason or "operator retry",
        **changes,
    )


def skip(
    connection: sa.Connection, step: StepRecord, *, now: datetime, actor: str, reason: str
) -> StepRecord:
    """An operator resolved the step by hand; dependants may go ahead."""
    skipped = transition(
        connection,
        step,
        StepState.SKIPPED,
        now=now,
        actor=actor,
        reason=reason,
        lease_holder=None,
        lease_until=None,
    )
    _maybe_production_ready(connection, step.eco, now)
    return skipped


def cancel_eco(
    connection: sa.Connection,
    number: str,
    *,
    now: datetime,
    cause: str,
    reason: str,
    actor: str | None = None,
    superseded_by: str | None = None,
    plm_status: str | None = None,
) -> tuple[list[str], int] | None:
    """Stop an ECO: cancel its open steps and withdraw the BOM versions ERP has not made
    effective. Returns (cancelled step ids, withdrawals scheduled), or ``None`` if the ECO
    was already cancelled. Running steps are stopped when their call returns.
    """
    values: dict[str, Any] = {"state": EcoState.CANCELLED, "cancelled_at": now}
    if plm_status is not None:
        values["plm_status"] = plm_status
    updated = connection.execute(
        sa.update(t.ecos)
        .where(t.ecos.c.number == number)
        .where(t.ecos.c.state.in_([EcoState.IN_PROGRESS, EcoState.PRODUCTION_READY]))
        .values(values)
    )
    if updated.rowcount != 1:
        return None
    cancelled = []
    withdrawals = 0
    for step in find_steps(connection, eco=number, lock=True):
        if step.state in CANCELLABLE and step.kind is not StepKind.ERP_BOM_WITHDRAWAL:
            transition(connection, step, StepState.CANCELLED, now=now, actor=actor, reason=reason)
            cancelled.append(step.step_id)
        elif (
            step.kind is StepKind.ERP_BOM
            and step.state is StepState.SUCCEEDED
            and step.external_status == "scheduled"
        ):
            withdrawals += _schedule_withdrawal(connection, step, now)
    emit(
        connection,
        ev.EcoCancelled(
            eco=number,
            cause=cause,
            reason=reason or cause,
            superseded_by=superseded_by,
            actor=actor,
            cancelled_steps=len(cancelled),
            withdrawals=withdrawals,
        ),
        now=now,
    )
    return cancelled, withdrawals


def record_plm_cancellation(
    connection: sa.Connection,
    number: str,
    *,
    now: datetime,
    status: str,
    superseded_by: str | None,
) -> bool:
    """PLM reports an ECO cancelled or superseded: compensate if it is known and open."""
    cause = "plm_superseded" if status == "superseded" else "plm_cancelled"
    reason = f"superseded by {superseded_by}" if superseded_by else f"{status} in PLM"
    return (
        cancel_eco(
            connection,
            number,
            now=now,
            cause=cause,
            reason=reason,
            superseded_by=superseded_by,
            plm_status=status,
        )
        is not None
    )


def _schedule_withdrawal(connection: sa.Connection, bom: StepRecord, now: datetime) -> int:
    planned = withdrawal_step(
        bom.eco, bom.plant or "", bom.item or "", bom.revision or "A", bom.external_id or ""
    )
    if get_step(connection, planned.step_id) is not None:
        return 0
    _insert_steps(connection, [planned], bom.eco_approved_at, StepState.PENDING, now)
    return 1


# --- reconciliation and cursors -----------------------------------------------------------


def plants_in_use(connection: sa.Connection) -> list[str]:
    """Every plant any stored step touches."""
    rows = connection.execute(
        sa.select(t.steps.c.plant).where(t.steps.c.plant.is_not(None)).distinct()
    ).all()
    return sorted(str(row.plant) for row in rows)


def items_at(connection: sa.Connection, plant: str) -> set[str]:
    """Items the engine requested production versions for at ``plant``."""
    rows = connection.execute(
        sa.select(t.steps.c.item)
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.kind == StepKind.ERP_PRODUCTION_VERSION.value)
        .distinct()
    ).all()
    return {str(row.item) for row in rows}


def recorded_revisions(connection: sa.Connection, plant: str) -> dict[str, sa.Row[Any]]:
    """What the engine last recorded of a plant's revisions, by item."""
    rows = connection.execute(
        sa.select(t.plant_revisions).where(t.plant_revisions.c.plant == plant)
    ).all()
    return {row.item: row for row in rows}


def observe_revision(
    connection: sa.Connection,
    plant: str,
    item: str,
    system: System,
    revision: str | None,
    *,
    now: datetime,
) -> None:
    """Store what reconciliation read, so the same difference is reported once."""
    column = "erp_revision" if system is System.ERP else "mes_revision"
    exists = connection.execute(
        sa.select(t.plant_revisions.c.plant)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
    ).one_or_none()
    if exists is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(
                plant=plant, item=item, **{column: revision}, updated_at=now
            )
        )
    else:
        connection.execute(
            sa.update(t.plant_revisions)
            .where(t.plant_revisions.c.plant == plant)
            .where(t.plant_revisions.c.item == item)
            .values(**{column: revision}, updated_at=now)
        )


def set_last_exception(
    connection: sa.Connection, plant: str, item: str, key: str | None, *, now: datetime
) -> bool:
    """Remember the exception last raised for (plant, item); ``False`` if it is the same."""
    current = connection.execute(
        sa.select(t.plant_revisions.c.last_exception)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
    ).one_or_none()
    if current is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(
                plant=plant, item=item, last_exception=key, updated_at=now
            )
        )
        return key is not None
    if current[0] == key:
        return False
    connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
        .values(last_exception=key, updated_at=now)
    )
    return key is not None


def open_work(connection: sa.Connection, plant: str, item: str) -> bool:
    """Whether any step on (plant, item) is not final yet."""
    found = connection.execute(
        sa.select(sa.literal(1))
        .select_from(t.steps)
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.item == item)
        .where(t.steps.c.state.not_in(FINAL))
        .limit(1)
    ).first()
    return found is not None


def expected_revisions(
    connection: sa.Connection, plant: str, today: date
) -> dict[str, tuple[str, str]]:
    """Per item, the revision of the latest production-ready ECO in effect at ``plant``
    (by approval order) and that ECO's number."""
    rows = connection.execute(
        sa.select(t.steps.c.item, t.steps.c.revision, t.steps.c.eco)
        .select_from(t.steps.join(t.ecos, t.ecos.c.number == t.steps.c.eco))
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.kind == StepKind.ERP_CONFIRMATION.value)
        .where(t.steps.c.state == StepState.SUCCEEDED.value)
        .where(t.ecos.c.state == EcoState.PRODUCTION_READY)
        .where(t.ecos.c.effectivity <= today)
        .order_by(t.steps.c.eco_approved_at, t.steps.c.eco)
    ).all()
    return {str(row.item): (str(row.revision), str(row.eco)) for row in rows}


def get_cursor(connection: sa.Connection, name: str) -> str | None:
    """A named position, if stored."""
    value = connection.execute(
        sa.select(t.cursors.c.value).where(t.cursors.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_cursor(connection: sa.Connection, name: str, value: str, *, now: datetime) -> None:
    """Store a named position."""
    if not insert_ignoring_conflicts(
        connection, t.cursors, [{"name": name, "value": value, "updated_at": now}]
    ):
        connection.execute(
            sa.update(t.cursors).where(t.cursors.c.name == name).values(value=value, updated_at=now)
        )


def new_holder(prefix: str = "engine") -> str:
    """A unique lease-holder name for one engine process."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
