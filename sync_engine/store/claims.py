"""Claiming work: due steps become ``running`` under a lease; expired leases are reaped.

On PostgreSQL due steps are selected ``FOR UPDATE SKIP LOCKED`` and leased
(``lease_holder``, ``lease_until``), so any number of engines share the work; a crashed
engine's lease expires and :func:`reap_expired` hands its steps back. On SQLite the
clause is not rendered: write transactions start with ``BEGIN IMMEDIATE`` and run one at a
time, and only one engine process runs (see :mod:`sync_engine.runner`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.steps import StepKind, StepState
from sync_engine import tables as t
from sync_engine.store.steps import DONE, FINAL, Move, StepRecord, apply_moves, step_record


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
    moves = [Move(step_record(row), StepState.PENDING) for row in rows]
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
        step = step_record(row)
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
        for step in (step_record(row) for row in connection.execute(_lock(query)).all())
    ]
    reaped = apply_moves(connection, moves, now=now, locked=True)
    return [step.step_id for step in reaped if step is not None]
