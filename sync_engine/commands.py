"""Operator commands: retry, bulk retry, skip, cancel, re-sync a drift and reconcile now
(interfaces D).

The console and the command line call these; nothing else changes steps on a person's
behalf. Each command runs in one transaction that writes the step transitions and an
``io.threadline.operator.action.v1`` event (who, role, what, why, outcome), so the audit
trail is exactly as complete as the changes. A succeeded step is never retried, and a
second click on a step already queued reports ``already_queued`` (and is audited too).

A command given without an actor, or without a reason where one is required, raises
:class:`InvalidCommand` and changes nothing; what it finds (no such step, a state that
does not allow it) is an audited :class:`CommandResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.model import utcnow
from contracts.steps import OperatorAction, StepKind, StepState
from sync_engine import logbook, store
from sync_engine.config import EngineConfig
from sync_engine.errors import CallError
from sync_engine.errors import InvalidCommand as InvalidCommand  # raised here, caught by callers
from sync_engine.reconcile import reconcile_once
from sync_engine.states import QUEUED, RETRYABLE
from threadline.settings import Settings

SKIPPABLE = frozenset(
    {StepState.WAITING, StepState.PENDING, StepState.RETRYING, StepState.FAILED, StepState.BLOCKED}
)


@dataclass(frozen=True)
class CommandResult:
    """What a command did, in words a person reads and in numbers."""

    outcome: str
    """``queued``, ``already_succeeded``, ``already_queued``, ``not_found``, ``not_allowed``
    or ``cancelled``."""
    message: str
    affected: int
    step_ids: tuple[str, ...]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _audit(
    connection: sa.Connection,
    action: OperatorAction,
    result: CommandResult,
    *,
    actor: str,
    role: str | None,
    reason: str,
    eco: str | None,
    filter: dict[str, Any] | None = None,
) -> CommandResult:
    store.emit(
        connection,
        ev.OperatorActionTaken(
            actor=actor,
            role=role,
            action=action,
            eco=eco,
            step_ids=list(result.step_ids),
            filter=filter,
            reason=reason,
            outcome=result.outcome,
            affected=result.affected,
        ),
        now=utcnow(),
    )
    logbook.operator_action(
        action.value,
        result.outcome,
        actor=actor,
        reason=reason,
        eco=eco,
        affected=result.affected,
    )
    return result


def _require_actor(actor: str) -> None:
    if not actor.strip():
        raise InvalidCommand("actor is required: every operator action names who took it")


def _eco_of(step_id: str) -> str | None:
    head = step_id.split("/", 1)[0]
    return head if head.startswith("ECO-") else None


def retry_step(
    engine: sa.Engine, step_id: str, *, actor: str, reason: str = "", role: str | None = None
) -> CommandResult:
    """Queue one failed or blocked step again."""
    _require_actor(actor)
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=[step_id], lock=True)
        eco = found[0].eco if found else _eco_of(step_id)
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
                store.requeue(connection, step, now=utcnow(), actor=actor, reason=reason)
                result = CommandResult("queued", "Queued 1 step for retry.", 1, (step_id,))
            else:
                result = CommandResult(
                    "not_allowed", f"A {step.state.value} step cannot be retried.", 0, (step_id,)
                )
        return _audit(
            connection,
            OperatorAction.RETRY,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
        )


def retry_matching(
    engine: sa.Engine,
    *,
    actor: str,
    reason: str = "",
    role: str | None = None,
    states: Sequence[StepState] = (StepState.FAILED, StepState.BLOCKED),
    kind: StepKind | None = None,
    fingerprint: str | None = None,
    eco: str | None = None,
    plant: str | None = None,
    step_ids: Sequence[str] | None = None,
) -> CommandResult:
    """Queue again every failed or blocked step matching all the given filters."""
    _require_actor(actor)
    wanted = [s for s in states if s in RETRYABLE]
    criteria: dict[str, Any] = {
        "states": [s.value for s in states],
        "kind": kind.value if kind else None,
        "fingerprint": fingerprint,
        "eco": eco,
        "plant": plant,
        "step_ids": list(step_ids) if step_ids is not None else None,
    }
    criteria = {k: v for k, v in criteria.items() if v is not None}
    with store.writing(engine) as connection:
        matched = store.find_steps(
            connection,
            states=wanted,
            kind=kind,
            fingerprint=fingerprint,
            eco=eco,
            plant=plant,
            step_ids=step_ids,
            lock=True,
        )
        now = utcnow()
        for step in matched:
            store.requeue(connection, step, now=now, actor=actor, reason=reason)
        ids = tuple(step.step_id for step in matched)
        if ids:
            result = CommandResult(
                "queued", f"Queued {_plural(len(ids), 'step')} for retry.", len(ids), ids
            )
        else:
            result = CommandResult("not_found", "No failed or blocked steps matched.", 0, ())
        ecos = {step.eco for step in matched}
        return _audit(
            connection,
            OperatorAction.RETRY_BULK,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco or (ecos.pop() if len(ecos) == 1 else None),
            filter=criteria,
        )


def skip_step(
    engine: sa.Engine, step_id: str, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """Mark a step resolved by hand (with a reason); steps after it may go ahead."""
    _require_actor(actor)
    if not reason.strip():
        raise InvalidCommand("a reason is required to skip a step")
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=[step_id], lock=True)
        eco = found[0].eco if found else _eco_of(step_id)
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
            store.skip(connection, found[0], now=utcnow(), actor=actor, reason=reason)
            result = CommandResult("queued", "Skipped 1 step.", 1, (step_id,))
        else:
            result = CommandResult(
                "not_allowed",
                f"A {found[0].state.value} step cannot be skipped.",
                0,
                (step_id,),
            )
        return _audit(
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
    _require_actor(actor)
    if not reason.strip():
        raise InvalidCommand("a reason is required to cancel an ECO")
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
                message = f"Cancelled {eco}: {_plural(len(cancelled), 'step')} stopped"
                message += f", {_plural(withdrawals, 'withdrawal')} scheduled."
                result = CommandResult("cancelled", message, len(cancelled), tuple(cancelled))
        return _audit(
            connection,
            OperatorAction.CANCEL_ECO,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco if row is not None else None,
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
    _require_actor(actor)
    if not reason.strip():
        raise InvalidCommand("a reason is required to re-sync a drift")
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
                message = f"Queued {_plural(len(ids), 'step')} of {eco} for {item} at {plant}."
                result = CommandResult("queued", message, len(ids), ids)
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
        return _audit(
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
    _require_actor(actor)
    try:
        done = reconcile_once(engine, EngineConfig.from_settings(settings), plants=plants)
    except CallError as exc:
        result = CommandResult("not_allowed", f"PLM could not be read: {exc}", 0, ())
    else:
        message = f"Reconciled {_plural(len(done.plants), 'plant')}: "
        message += f"{_plural(len(done.drift), 'pair')} drifting"
        if done.skipped:
            message += f"; ERP or MES did not answer for {', '.join(done.skipped)}"
        result = CommandResult("queued", message + ".", len(done.drift), ())
    with store.writing(engine) as connection:
        return _audit(
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
    _require_actor(actor)
    if not reason.strip():
        raise InvalidCommand("a reason is required to replay events")
    message = f"Published {_plural(published, 'event')} to {stream} again"
    result = CommandResult(
        "queued" if finished else "not_allowed",
        message + ("." if finished else " before NATS stopped answering."),
        published,
        (),
    )
    with store.writing(engine) as connection:
        return _audit(
            connection,
            OperatorAction.REPLAY,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=None,
            filter={"stream": stream, "since": since},
        )
