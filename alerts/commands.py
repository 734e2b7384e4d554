"""Acknowledge or silence an alert: operator actions, each with a reason, audited.

Like every operator command (:mod:`sync_engine.commands`), each runs in one transaction
that changes the alert and writes an ``io.threadline.operator.action.v1`` event naming
who, why and what came of it; the alert row keeps who and why as well, for the Alerts
page. An acknowledged alert sends no more reminders (its resolve is still sent); a
silenced one sends nothing until the silence ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from alerts import store
from contracts.model import utcnow
from contracts.steps import OperatorAction
from sync_engine import store as engine_store
from sync_engine.acting import CommandResult, audit, require_actor, require_reason
from sync_engine.errors import InvalidCommand as InvalidCommand  # raised here, caught by callers

LONGEST_SILENCE = timedelta(days=7)


def acknowledge(
    engine: sa.Engine, alert_id: int, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """Stop the reminders of a firing alert."""
    require_actor(actor)
    said = require_reason(reason, "acknowledge or silence an alert")
    with engine_store.writing(engine) as connection:
        alert = store.get(connection, alert_id)
        if alert is None:
            result = CommandResult("not_found", f"No alert {alert_id}.", 0, ())
        elif store.acknowledge(connection, alert_id, actor=actor, reason=said, now=utcnow()):
            result = CommandResult(
                "acknowledged", f"Acknowledged {alert.title}: no more reminders.", 1, ()
            )
        else:
            result = CommandResult("not_allowed", "The alert is no longer firing.", 0, ())
        return audit(
            connection,
            OperatorAction.ACKNOWLEDGE_ALERT,
            result,
            actor=actor,
            role=role,
            reason=said,
            eco=None,
            filter={"alert": alert_id, "rule": alert.rule if alert else None},
        )


def silence(
    engine: sa.Engine,
    alert_id: int,
    *,
    actor: str,
    reason: str,
    until: datetime,
    role: str | None = None,
) -> CommandResult:
    """Hold back a firing alert's notifications until ``until`` (at most a week ahead)."""
    require_actor(actor)
    said = require_reason(reason, "acknowledge or silence an alert")
    now = utcnow()
    if until <= now or until - now > LONGEST_SILENCE:
        raise InvalidCommand("an alert is silenced for a time between now and a week ahead")
    with engine_store.writing(engine) as connection:
        alert = store.get(connection, alert_id)
        if alert is None:
            result = CommandResult("not_found", f"No alert {alert_id}.", 0, ())
        elif store.silence(connection, alert_id, actor=actor, reason=said, until=until):
            result = CommandResult(
                "silenced",
                f"Silenced {alert.title} until {until:%Y-%m-%d %H:%M} UTC.",
                1,
                (),
            )
        else:
            result = CommandResult("not_allowed", "The alert is no longer firing.", 0, ())
        return audit(
            connection,
            OperatorAction.SILENCE_ALERT,
            result,
            actor=actor,
            role=role,
            reason=said,
            eco=None,
            filter={
                "alert": alert_id,
                "rule": alert.rule if alert else None,
                "until": until.isoformat(),
            },
        )
