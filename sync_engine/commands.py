"""Operator commands: retry, bulk retry (previewed), skip, cancel, edit and retry, re-sync
a drift and reconcile now (interfaces D).

The console and the command line call these; nothing else changes steps on a person's
behalf. Each command runs in one transaction that writes the step transitions, an
``io.threadline.operator.action.v1`` event (who, role, what, why, outcome) and, when it
changed steps, an operation (:mod:`sync_engine.store.operations`) the engine follows
until every step settled; so the audit trail is exactly as complete as the changes, and
the outcome is known only once the steps have answered. A succeeded step is never
retried, and a second click on a step already queued reports ``already_queued`` (and is
audited too). A bulk retry shows its :class:`~sync_engine.preview.Preview` first
(:func:`preview_retry`) and then acts on the previewed steps only
(:func:`retry_previewed`).

A command given without an actor or a reason, or with a payload that breaks the
contract, raises :class:`InvalidCommand` and changes nothing; what it finds (no such
step, a state that does not allow it) is an audited :class:`CommandResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from contracts.model import utcnow
from contracts.payloads import payload_errors
from contracts.steps import OperatorAction, StepState
from sync_engine import store
from sync_engine.acting import CommandResult as CommandResult  # what every command returns
from sync_engine.acting import (
    audit,
    eco_of,
    plural,
    require_actor,
    require_reason,
    start_operation,
)
from sync_engine.bulk import preview_retry as preview_retry
from sync_engine.bulk import retry_matching as retry_matching
from sync_engine.bulk import retry_previewed as retry_previewed
from sync_engine.config import EngineConfig
from sync_engine.errors import CallError
from sync_engine.errors import InvalidCommand as InvalidCommand  # raised here, caught by callers
from sync_engine.preview import Preview as Preview  # what preview_retry returns
from sync_engine.reconcile import reconcile_once
from sync_engine.states import QUEUED, RETRYABLE
from threadline.settings import Settings

SKIPPABLE = frozenset(
    {StepState.WAITING, StepState.PENDING, StepState.RETRYING, StepState.FAILED, StepState.BLOCKED}
)


def retry_step(
    engine: sa.Engine, step_id: str, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """Queue one failed or blocked step again."""
    require_actor(actor)
    reason = require_reason(reason, "retry a step")
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=[step_id], lock=True)
        eco = found[0].eco if found else eco_of(step_id)
        if not found:
            result = CommandResult("not_found", f"No step {step_id}.", 0, (step_id,))
        else:
            step = found[0]
            if step.state is StepState.SUCCEEDED:
                result = CommandResult(
                    "already_succeeded",
                    "The step already succeeded; nothing to retry.",
                    0,
                    (step_id,),
                )
            elif step.state in QUEUED:
                result = CommandResult(
                    "already_queued",
                    f"The step is already {step.state.value}; not queued again.",
                    0,
                    (step_id,),
                )
            elif step.state in RETRYABLE:
                now = utcnow()
                store.requeue(connection, step, now=now, actor=actor, reason=reason)
                operation = start_operation(
                    connection,
                    OperatorAction.RETRY,
                    [step_id],
                    actor=actor,
                    role=role,
                    reason=reason,
                    now=now,
                )
                result = CommandResult(
                    "queued", "Queued 1 step for retry.", 1, (step_id,), operation
                )
            else:
                result = CommandResult(
                    "not_allowed", f"A {step.state.value} step cannot be retried.", 0, (step_id,)
                )
        return audit(
            connection,
            OperatorAction.RETRY,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
        )


def skip_step(
    engine: sa.Engine, step_id: str, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """Mark a step resolved by hand (with a reason); steps after it may go ahead."""
    require_actor(actor)
    reason = require_reason(reason, "skip a step")
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=[step_id], lock=True)
        eco = found[0].eco if found else eco_of(step_id)
        if not found:
            result = CommandResult("not_found", f"No step {step_id}.", 0, (step_id,))
        elif found[0].state is StepState.SUCCEEDED:
            result = CommandResult(
                "already_succeeded",
                "The step already succeeded; nothing to skip.",
                0,
                (step_id,),
            )
        elif found[0].state in SKIPPABLE:
            now = utcnow()
            store.skip(connection, found[0], now=now, actor=actor, reason=reason)
            operation = start_operation(
                connection,
                OperatorAction.SKIP,
                [step_id],
                actor=actor,
                role=role,
                reason=reason,
                now=now,
            )
            result = CommandResult("queued", "Skipped 1 step.", 1, (step_id,), operation)
        else:
            result = CommandResult(
                "not_allowed",
                f"A {found[0].state.value} step cannot be skipped.",
                0,
                (step_id,),
            )
        return audit(
            connection,
            OperatorAction.SKIP,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
        )


def cancel_eco(
    engine: sa.Engine, eco: str, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """Cancel an ECO: its open steps stop and what it applied that is not yet effective is
    withdrawn (suppliers already told get a withdrawal notice)."""
    require_actor(actor)
    reason = require_reason(reason, "cancel an ECO")
    with store.writing(engine) as connection:
        row = store.eco_row(connection, eco)
        if row is None:
            result = CommandResult("not_found", f"No ECO {eco}.", 0, ())
        else:
            done = store.cancel_eco(
                connection, eco, now=utcnow(), cause="operator", reason=reason, actor=actor
            )
            if done is None:
                result = CommandResult(
                    "not_allowed", f"{eco} is {row.state} and cannot be cancelled.", 0, ()
                )
            else:
                cancelled, withdrawals = done
                message = f"Cancelled {eco}: {plural(len(cancelled), 'step')} stopped"
                message += f", {plural(withdrawals, 'withdrawal')} scheduled."
                operation = start_operation(
                    connection,
                    OperatorAction.CANCEL_ECO,
                    cancelled,
                    actor=actor,
                    role=role,
                    reason=reason,
                    now=utcnow(),
                )
                result = CommandResult(
                    "cancelled", message, len(cancelled), tuple(cancelled), operation
                )
        return audit(
            connection,
            OperatorAction.CANCEL_ECO,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco if row is not None else None,
        )


EDITABLE = RETRYABLE
"""States whose payload an operator may edit and send again: dead-lettered or blocked."""


def edit_and_retry(
    engine: sa.Engine,
    step_id: str,
    payload: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    role: str | None = None,
) -> CommandResult:
    """Send a dead-lettered or blocked step again with an edited ``payload``, under a new
    idempotency key; the audit event keeps the payload before and after. A payload that
    breaks the step kind's contract raises :class:`InvalidCommand` naming every error."""
    require_actor(actor)
    reason = require_reason(reason, "edit and retry a step")
    after = dict(payload)
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=[step_id], lock=True)
        before: dict[str, Any] | None = None
        if not found:
            result = CommandResult("not_found", f"No step {step_id}.", 0, (step_id,))
        elif found[0].state not in EDITABLE:
            result = CommandResult(
                "not_allowed",
                f"A {found[0].state.value} step cannot be edited; only failed or blocked ones.",
                0,
                (step_id,),
            )
        else:
            step = found[0]
            errors = payload_errors(step.kind, after, step.payload)
            if errors:
                raise InvalidCommand("the payload breaks the contract: " + "; ".join(errors))
            before = step.payload
            now = utcnow()
            store.requeue_edited(connection, step, after, now=now, actor=actor, reason=reason)
            operation = start_operation(
                connection,
                OperatorAction.EDIT_RETRY,
                [step_id],
                actor=actor,
                role=role,
                reason=reason,
                now=now,
            )
            message = "Sent 1 step again with the edited payload under a new idempotency key."
            result = CommandResult("queued", message, 1, (step_id,), operation)
        return audit(
            connection,
            OperatorAction.EDIT_RETRY,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=found[0].eco if found else eco_of(step_id),
            before=before,
            after=after if before is not None else None,
        )


def resync_drift(
    engine: sa.Engine,
    plant: str,
    item: str,
    *,
    actor: str,
    reason: str,
    role: str | None = None,
) -> CommandResult:
    """Re-sync a drift Threadline's own work explains: queue again the responsible ECO's
    failed or blocked steps at the plant (and its failed or blocked release of the item's
    revision), so the pair reaches the ECO's revision. Drift changed outside Threadline,
    or whose ECO is cancelled, rejected or not propagated, is refused (``not_allowed``):
    it needs a new ECO or a fix in the system itself.
    """
    require_actor(actor)
    reason = require_reason(reason, "re-sync a drift")
    with store.writing(engine) as connection:
        found = store.open_drift(connection, [plant]).get((plant, item))
        eco = found.eco if found is not None else None
        if found is None:
            result = CommandResult("not_found", f"No open drift of {item} at {plant}.", 0, ())
        elif eco is None or not found.cause.threadline_owned:
            result = CommandResult(
                "not_allowed",
                f"{item} at {plant} drifts because it was {found.cause.value.replace('_', ' ')}"
                " (no Threadline step to queue again): it needs a new ECO or a fix in the"
                " system.",
                0,
                (),
            )
        else:
            steps = [
                step
                for step in store.find_steps(connection, eco=eco, lock=True)
                if step.plant == plant or (step.plant is None and step.item == item)
            ]
            stopped = [step for step in steps if step.state in RETRYABLE]
            now = utcnow()
            for step in stopped:
                store.requeue(connection, step, now=now, actor=actor, reason=reason)
            ids = tuple(step.step_id for step in stopped)
            if ids:
                message = f"Queued {plural(len(ids), 'step')} of {eco} for {item} at {plant}."
                operation = start_operation(
                    connection,
                    OperatorAction.RESYNC,
                    ids,
                    actor=actor,
                    role=role,
                    reason=reason,
                    now=now,
                    filter={"plant": plant, "item": item},
                )
                result = CommandResult("queued", message, len(ids), ids, operation)
            elif any(step.state in QUEUED for step in steps):
                result = CommandResult(
                    "already_queued",
                    f"{eco}'s steps at {plant} are on their way; nothing to queue again.",
                    0,
                    (),
                )
            else:
                result = CommandResult(
                    "not_allowed", f"{eco} has no failed or blocked step at {plant}.", 0, ()
                )
        return audit(
            connection,
            OperatorAction.RESYNC,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
            filter={"plant": plant, "item": item},
        )


def reconcile_now(
    engine: sa.Engine,
    settings: Settings,
    *,
    actor: str,
    role: str | None = None,
    plants: Sequence[str] | None = None,
) -> CommandResult:
    """Reconcile now (every plant, or ``plants``) with PLM, ERP and MES as ``settings``
    name them; audited."""
    require_actor(actor)
    try:
        done = reconcile_once(engine, EngineConfig.from_settings(settings), plants=plants)
    except CallError as exc:
        result = CommandResult("not_allowed", f"PLM could not be read: {exc}", 0, ())
    else:
        message = f"Reconciled {plural(len(done.plants), 'plant')}: "
        message += f"{plural(len(done.drift), 'pair')} drifting"
        if done.skipped:
            message += f"; ERP or MES did not answer for {', '.join(done.skipped)}"
        result = CommandResult("queued", message + ".", len(done.drift), ())
    with store.writing(engine) as connection:
        return audit(
            connection,
            OperatorAction.RECONCILE,
            result,
            actor=actor,
            role=role,
            reason="reconcile now",
            eco=None,
            filter={"plants": list(plants)} if plants else None,
        )


def record_replay(
    engine: sa.Engine,
    *,
    actor: str,
    reason: str,
    role: str | None = None,
    stream: str,
    since: str,
    published: int,
    finished: bool,
) -> CommandResult:
    """Audit ``threadline collector replay``: who published which stored events again, why."""
    require_actor(actor)
    reason = require_reason(reason, "replay events")
    message = f"Published {plural(published, 'event')} to {stream} again"
    result = CommandResult(
        "queued" if finished else "not_allowed",
        message + ("." if finished else " before NATS stopped answering."),
        published,
        (),
    )
    with store.writing(engine) as connection:
        return audit(
            connection,
            OperatorAction.REPLAY,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=None,
            filter={"stream": stream, "since": since},
        )
