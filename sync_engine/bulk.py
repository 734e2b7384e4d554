"""Retrying many steps at once: previewed, then acted on exactly as previewed.

:func:`preview_retry` says which steps a filter's retry would touch and which it leaves
alone, and why (:mod:`sync_engine.preview`); :func:`retry_previewed` queues those very
steps again, leaving out (and reporting) any that changed state in between;
:func:`retry_matching` does both in one transaction. Each is audited and followed as an
operation (:mod:`sync_engine.acting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from contracts.model import utcnow
from contracts.steps import OperatorAction, StepKind, StepState
from sync_engine import store
from sync_engine.acting import (
    CommandResult,
    audit,
    plural,
    require_actor,
    require_reason,
    start_operation,
)
from sync_engine.preview import Preview, classify
from sync_engine.states import RETRYABLE


def retry_matching(
    engine: sa.Engine,
    *,
    actor: str,
    reason: str,
    role: str | None = None,
    states: Sequence[StepState] = (StepState.FAILED, StepState.BLOCKED),
    kind: StepKind | None = None,
    fingerprint: str | None = None,
    eco: str | None = None,
    plant: str | None = None,
    step_ids: Sequence[str] | None = None,
) -> CommandResult:
    """Queue again every failed or blocked step matching all the given filters (a
    superseded one is left alone, with why)."""
    require_actor(actor)
    reason = require_reason(reason, "retry steps")
    wanted = [s for s in states if s in RETRYABLE]
    criteria = _criteria(
        states=[s.value for s in states],
        kind=kind.value if kind else None,
        fingerprint=fingerprint,
        eco=eco,
        plant=plant,
        step_ids=list(step_ids) if step_ids is not None else None,
    )
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
        preview = classify(matched, store.superseded(connection, matched))
        return _retry_previewed(
            connection, preview, {}, actor=actor, role=role, reason=reason, filter=criteria, eco=eco
        )


def _criteria(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


def preview_retry(
    engine: sa.Engine,
    *,
    kind: StepKind | None = None,
    fingerprint: str | None = None,
    eco: str | None = None,
    plant: str | None = None,
    step_ids: Sequence[str] | None = None,
) -> Preview:
    """What a retry of every step matching the filters would touch, and what it would
    leave alone and why; changes nothing."""
    with engine.connect() as connection:
        matched = store.find_steps(
            connection,
            kind=kind,
            fingerprint=fingerprint,
            eco=eco,
            plant=plant,
            step_ids=step_ids,
        )
        return classify(matched, store.superseded(connection, matched))


def retry_previewed(
    engine: sa.Engine,
    step_ids: Sequence[str],
    *,
    actor: str,
    reason: str,
    role: str | None = None,
    filter: dict[str, Any] | None = None,
) -> CommandResult:
    """Queue again exactly the previewed ``step_ids``; any that changed state since the
    preview (or is superseded now) is left out and reported."""
    require_actor(actor)
    reason = require_reason(reason, "retry steps")
    ids = list(dict.fromkeys(step_ids))
    with store.writing(engine) as connection:
        found = store.find_steps(connection, step_ids=ids, lock=True)
        preview = classify(found, store.superseded(connection, found))
        changed = {
            step_id: f"changed since the preview: {why}"
            for step_id, why in preview.left_alone.items()
        }
        known = {step.step_id for step in found}
        changed.update({i: "changed since the preview: gone" for i in ids if i not in known})
        return _retry_previewed(
            connection,
            Preview(preview.touch, {}),
            changed,
            actor=actor,
            role=role,
            reason=reason,
            filter=filter or {"step_ids": ids},
            eco=None,
        )


def _retry_previewed(
    connection: sa.Connection,
    preview: Preview,
    changed: Mapping[str, str],
    *,
    actor: str,
    role: str | None,
    reason: str,
    filter: dict[str, Any],
    eco: str | None,
) -> CommandResult:
    now = utcnow()
    for step in preview.touch:
        store.requeue(connection, step, now=now, actor=actor, reason=reason)
    ids = tuple(preview.step_ids)
    left_out = {**preview.left_alone, **changed}
    if ids:
        operation = start_operation(
            connection,
            OperatorAction.RETRY_BULK,
            ids,
            actor=actor,
            role=role,
            reason=reason,
            now=now,
            left_out=left_out,
            filter=filter,
        )
        message = f"Queued {plural(len(ids), 'step')} for retry."
        if changed:
            message += f" Left out {plural(len(changed), 'step')} that changed meanwhile."
        result = CommandResult("queued", message, len(ids), ids, operation, left_out)
    else:
        message = "No failed or blocked steps matched."
        if changed:
            message = f"Nothing queued: all {plural(len(changed), 'step')} changed meanwhile."
        result = CommandResult("not_found", message, 0, (), None, left_out)
    return audit(
        connection,
        OperatorAction.RETRY_BULK,
        result,
        actor=actor,
        role=role,
        reason=reason,
        eco=eco or (preview.ecos[0] if len(preview.ecos) == 1 else None),
        filter=filter,
    )
