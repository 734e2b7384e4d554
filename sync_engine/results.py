"""Recording what came of the engine's calls, in one transaction per batch.

:func:`record` writes a batch of :class:`~sync_engine.calls.Outcome`: successes in bulk,
steps now awaiting ERP's confirmation or a supplier's qualification, and each error
(retrying, failed or blocked); a result whose step lost its lease is dropped, since
another engine has the step.
:func:`record_confirmations` writes ERP's answers about production versions awaiting
confirmation: active, rejected or withdrawn settle the step; a pending one is asked about
again later (the SLA sweep, :mod:`sync_engine.store.sla`, reports it overdue).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.api import ProductionVersionStatus
from contracts.steps import StepState
from sync_engine import store
from sync_engine.calls import Outcome
from sync_engine.config import EngineConfig
from sync_engine.errors import BusinessError, CallError, StaleStep

log = logging.getLogger(__name__)

MAX_POLL_PAUSE = 30.0
"""The longest wait, in seconds, before ERP is asked again about a pending version."""

Answer = ProductionVersionStatus | CallError
"""ERP's answer about one production version, or the error asking for it."""


def record(connection: sa.Connection, batch: Sequence[Outcome], *, now: datetime) -> None:
    """Record a batch of call outcomes."""
    successes = [
        store.Success(o.step, o.external_id, o.external_status, o.reason, o.effective_since)
        for o in batch
        if o.to is StepState.SUCCEEDED
    ]
    store.succeed_many(connection, successes, now=now)
    awaiting = [o.step for o in batch if o.to is StepState.AWAITING_CONFIRMATION]
    store.await_confirmations(connection, awaiting, now=now)
    held = [(o.step, o.external_id) for o in batch if o.to is StepState.AWAITING_QUALIFICATION]
    store.await_qualifications(connection, held, now=now)
    for outcome in batch:
        if outcome.error is None:
            continue
        try:
            store.fail(
                connection,
                outcome.step,
                outcome.error,
                now=now,
                next_attempt_at=outcome.next_attempt_at,
            )
        except StaleStep:
            log.info("result of %s dropped: its lease was lost", outcome.step.step_id)


def record_confirmations(
    connection: sa.Connection,
    answers: Sequence[tuple[store.StepRecord, Answer]],
    config: EngineConfig,
    *,
    now: datetime,
) -> int:
    """Record ERP's answers about awaiting production versions; return how many settled."""
    settled = 0
    later: dict[str, datetime] = {}
    active = [
        store.Confirmation(step, answer.activated_at or now)
        for step, answer in answers
        if not isinstance(answer, CallError) and answer.status == "active"
    ]
    settled += sum(1 for done in store.confirm_many(connection, active, now=now) if done)
    for step, answer in answers:
        try:
            if isinstance(answer, CallError):
                if answer.category.value != "transient":
                    store.reject_confirmation(connection, step, answer, now=now)
                    settled += 1
            elif answer.status == "active":
                continue  # confirmed above, all together
            elif answer.status in ("rejected", "withdrawn"):
                error = BusinessError(
                    f"PRODUCTION_VERSION_{answer.status.upper()}",
                    answer.reason or f"ERP {answer.status} production version {answer.id}",
                )
                store.reject_confirmation(connection, step, error, now=now)
                settled += 1
            else:
                # The SLA sweep (sync_engine.store.sla) reports it overdue meanwhile.
                age = (now - (step.requested_at or now)).total_seconds()
                # Ask again after half the time waited so far: few calls for slow
                # confirmations, at most half again the wait for quick ones.
                pause = min(MAX_POLL_PAUSE, max(config.confirmation_interval, age / 2))
                later[step.step_id] = now + timedelta(seconds=pause)
        except StaleStep:
            continue
    store.defer_polls(connection, later)
    return settled
