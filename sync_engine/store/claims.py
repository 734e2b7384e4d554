"""Claiming work: due steps become ``running`` under a lease; expired leases are reaped.

On PostgreSQL due steps are selected ``FOR UPDATE SKIP LOCKED`` and leased
(``lease_holder``, ``lease_until``), so any number of engines share the work; a crashed
engine's lease expires and :func:`reap_expired` hands its steps back. On SQLite the
clause is not rendered: write transactions start with ``BEGIN IMMEDIATE`` and run one at a
time, and only one engine process runs (see :mod:`sync_engine.runner`).

A target never goes backwards. Steps of ECOs touching the same item (at the same plant)
run in approval order: an earlier ECO's step that is not :data:`SETTLED` (failed and
blocked included) holds the later ECOs' steps of the same kind, and :func:`waiting_behind`
names the ECO a step waits for. A step whose revision is older than the one its target
already has (:func:`~sync_engine.store.superseded.superseded`) is never sent: it is
skipped, by the engine, with that reason, when it would be promoted or claimed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.steps import StepKind, StepState
from sync_engine import tables as t
from sync_engine.store.steps import DONE, Move, StepRecord, apply_moves, step_record
from sync_engine.store.superseded import settle_skipped, skip_superseded, superseded

SETTLED = (StepState.SUCCEEDED.value, StepState.SKIPPED.value, StepState.CANCELLED.value)
"""States of an earlier ECO's step that let the later ECOs' steps of its target go ahead."""

SUPERSEDED_ROUNDS = 8
"""How many times one promotion looks again after skipping superseded steps."""


def _lock(query: sa.Select[Any]) -> sa.Select[Any]:
    # Rendered on PostgreSQL only; SQLite's BEGIN IMMEDIATE already holds the write lock.
    return query.with_for_update(skip_locked=True, of=t.steps)


def _holding(prior: Any, step: Any) -> sa.ColumnElement[bool]:
    """``prior`` is an earlier ECO's unsettled step of the same kind on ``step``'s target."""
    return sa.and_(
        prior.c.item == step.c.item,
        prior.c.kind == step.c.kind,
        prior.c.eco != step.c.eco,
        sa.or_(
            prior.c.plant == step.c.plant,
            sa.and_(prior.c.plant.is_(None), step.c.plant.is_(None)),
        ),
        # A purchasing step's target is a component from one supplier.
        sa.or_(
            prior.c.supplier == step.c.supplier,
            sa.and_(prior.c.supplier.is_(None), step.c.supplier.is_(None)),
        ),
        prior.c.state.not_in(SETTLED),
        sa.or_(
            prior.c.eco_approved_at < step.c.eco_approved_at,
            sa.and_(prior.c.eco_approved_at == step.c.eco_approved_at, prior.c.eco < step.c.eco),
        ),
    )


def promote_ready(connection: sa.Connection, *, now: datetime, limit: int) -> list[StepRecord]:
    """Make ``waiting`` steps ``pending`` once their dependencies are done and no earlier
    ECO's step of the same kind on the same item (at the same plant) is unsettled; a step
    its target has already passed is skipped as superseded instead.

    So every system sees the changes to an item in approval order (BOM versions, routings,
    production versions, MES routings, releases), while a later ECO's other steps do not
    wait for the earlier ECO's confirmation: ECOs on one item pipeline instead of queueing.
    A failed or blocked step of the earlier ECO holds back the same step of every later
    one until it succeeds, is skipped or is cancelled: were the later one to go first, an
    operator's retry of the earlier one would write the older revision over the newer.
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
    earlier_open = sa.select(sa.literal(1)).where(_holding(prior, s))
    query = (
        sa.select(s)
        .where(s.c.state == StepState.WAITING.value)
        .where(~deps_open.exists())
        .where(~earlier_open.exists())
        .order_by(s.c.eco_approved_at, s.c.step_id)
    )
    promoted: list[StepRecord] = []
    # A superseded step is done, so its dependants may be ready (or superseded) at once.
    for _ in range(SUPERSEDED_ROUNDS):
        rows = connection.execute(_lock(query.limit(limit - len(promoted)))).all()
        steps = [step_record(row) for row in rows]
        stale = superseded(connection, steps)
        moves = [
            skip_superseded(step, stale[step.step_id])
            if step.step_id in stale
            else Move(step, StepState.PENDING)
            for step in steps
        ]
        moved = [m for m in apply_moves(connection, moves, now=now, locked=True) if m is not None]
        promoted.extend(m for m in moved if m.state is StepState.PENDING)
        if not settle_skipped(connection, moved, now) or len(promoted) >= limit:
            break
    return promoted


def claim_due(
    connection: sa.Connection,
    *,
    holder: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    kinds: Iterable[StepKind] | None = None,
) -> list[StepRecord]:
    """Claim up to ``limit`` due steps for ``holder``: each becomes ``running`` under a lease.

    A due step its target has passed meanwhile (an operator's retry of an old step, a
    revision changed outside Threadline) is skipped as superseded instead of claimed.
    """
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
    steps = [step_record(row) for row in connection.execute(_lock(query)).all()]
    stale = superseded(connection, steps)
    until = now + timedelta(seconds=lease_seconds)
    moves = []
    for step in steps:
        if step.step_id in stale:
            moves.append(skip_superseded(step, stale[step.step_id]))
            continue
        changes = {
            "attempt": step.attempt + 1,
            "lease_holder": holder,
            "lease_until": until,
            "next_attempt_at": None,
        }
        moves.append(Move(step, StepState.RUNNING, changes))
    moved = apply_moves(connection, moves, now=now, locked=True)
    settle_skipped(connection, moved, now)
    return [step for step in moved if step is not None and step.state is StepState.RUNNING]


def waiting_behind(connection: sa.Connection, step_ids: Sequence[str]) -> dict[str, str]:
    """For each of ``step_ids`` held by the approval order, the ECO it waits behind: the
    earliest-approved ECO whose step of the same kind on the same target is unsettled."""
    if not step_ids:
        return {}
    prior = t.steps.alias("prior")
    s = t.steps
    rows = connection.execute(
        sa.select(s.c.step_id, prior.c.eco)
        .select_from(s.join(prior, _holding(prior, s)))
        .where(s.c.step_id.in_(sorted(set(step_ids))))
        .order_by(s.c.step_id, prior.c.eco_approved_at, prior.c.eco)
    ).all()
    behind: dict[str, str] = {}
    for row in rows:
        behind.setdefault(str(row.step_id), str(row.eco))
    return behind


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
        for step in (step_record(row) for row in connection.execute(_lock(query)).all())
    ]
    reaped = apply_moves(connection, moves, now=now, locked=True)
    return [step.step_id for step in reaped if step is not None]
