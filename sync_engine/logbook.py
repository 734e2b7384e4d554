"""What the engine tells its log: one record per business fact, in words and fields.

A record per ECO planned or rejected, per step transition, per operator action, per alert
(an ERP confirmation past its SLA) and per reconciliation finding (drift found or ended),
each with the ``eco``, ``step``, ``plant``, ``supplier`` and ``trace_id`` fields it has
(:func:`threadline.logs.fields`), e.g. ``ECO-2026-50007 planned into 23 steps`` or
``ECO-2026-50007 erp.routing P300 ITEM-3 blocked: WORK_CENTER_INACTIVE``. They are written
by the store functions that make the change, in its transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contracts import events as ev
from contracts.operator_events import WorkOverdue
from contracts.steps import StepState
from threadline import tracing
from threadline.logs import fields

log = logging.getLogger("sync_engine")

_TROUBLE = frozenset({StepState.FAILED, StepState.BLOCKED})


def eco_planned(eco: str, steps: int, traceparent: str | None) -> None:
    """An approved ECO was received and planned."""
    log.info(
        "%s planned into %d steps",
        eco,
        steps,
        extra=fields(eco=eco, trace_id=tracing.trace_id(traceparent)),
    )


def eco_rejected(eco: str, violations: Sequence[ev.Violation]) -> None:
    """An ECO broke the contract and was rejected."""
    problems = "; ".join(f"{v.path}: {v.message}" for v in violations[:5])
    log.warning("%s rejected: %s", eco, problems, extra=fields(eco=eco))


def eco_moved(eco: str, state: str) -> None:
    """An ECO's lifecycle moved (production-ready, cancelled, ...)."""
    log.info("%s %s", eco, state.replace("_", " "), extra=fields(eco=eco))


def step_moved(
    *,
    eco: str,
    step: str,
    kind: str,
    plant: str | None,
    target: str | None,
    supplier: str | None,
    to: StepState,
    traceparent: str | None,
    code: str | None = None,
    message: str | None = None,
    reason: str | None = None,
) -> None:
    """A step changed state."""
    where = " ".join(part for part in (plant, target) if part)
    text = f"{eco} {kind} {where} {to.value}" if where else f"{eco} {kind} {to.value}"
    if code:
        text += f": {code}" + (f" ({message[:200]})" if message else "")
    elif reason:
        text += f": {reason[:200]}"
    log.log(
        logging.WARNING if to in _TROUBLE else logging.INFO,
        "%s",
        text,
        extra=fields(
            eco=eco,
            step=step,
            plant=plant,
            supplier=supplier,
            trace_id=tracing.trace_id(traceparent),
        ),
    )


def operator_action(
    action: str, outcome: str, *, actor: str, reason: str, eco: str | None, affected: int
) -> None:
    """Someone acted through :mod:`sync_engine.commands`."""
    on = f" on {eco}" if eco else ""
    log.info(
        "%s %s%s: %s, %d affected (reason: %s)",
        actor,
        action,
        on,
        outcome,
        affected,
        reason[:200],
        extra=fields(eco=eco),
    )


def work_overdue(data: WorkOverdue) -> None:
    """An alert: work stayed in its stage past the stage's SLA."""
    log.warning(
        "%s %s%s: %s overdue (SLA %.0f s)",
        data.eco,
        data.plant or "-",
        f" {data.supplier}" if data.supplier else "",
        data.stage.value,
        data.sla_seconds,
        extra=fields(eco=data.eco, step=data.step_id, plant=data.plant, supplier=data.supplier),
    )


def drift_found(plant: str, item: str, cause: str, eco: str | None, detail: str) -> None:
    """Reconciliation found a (plant, item) pair drifting, or drifting differently."""
    log.warning(
        "%s %s drifts (%s%s): %s",
        plant,
        item,
        cause,
        f", {eco}" if eco else "",
        detail[:200],
        extra=fields(eco=eco, plant=plant),
    )


def drift_ended(plant: str, item: str, revision: str | None) -> None:
    """Reconciliation found a drifting pair in step again."""
    log.info(
        "%s %s in step again at revision %s",
        plant,
        item,
        revision or "-",
        extra=fields(plant=plant),
    )
