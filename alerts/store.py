"""Every query on the alert tables (:mod:`alerts.tables`).

:func:`record` is the one place alert state changes with what the rules found: a new
group fires (a ``fired`` message owed to every target), a group still found is refreshed
(and owes a ``reminder`` once ``reminder_every`` passed since it was last notified,
unless acknowledged or silenced), a group no longer found for ``resolve_after`` (two
evaluations in a row) resolves (a ``resolved`` message owed if anyone was
told it fired), so a group at the edge of its threshold does not flap. Deliveries are
claimed one alert at a time (:func:`claim_owed`), so two evaluators never send the same
message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from alerts.conditions import Finding
from alerts.tables import alert_targets, alerts
from threadline.db import insert_ignoring_conflicts


class AlertState(StrEnum):
    """Whether the rule still finds the alert's group."""

    FIRING = "firing"  # found at the last evaluation
    RESOLVED = "resolved"  # no longer found


class Message(StrEnum):
    """Which message an alert owes its targets."""

    FIRED = "fired"  # it started firing
    REMINDER = "reminder"  # still firing, nobody acknowledged it
    RESOLVED = "resolved"  # it stopped firing


@dataclass(frozen=True)
class Alert:
    """One alert as stored."""

    id: int
    rule: str
    key: str
    state: AlertState
    title: str
    lines: tuple[str, ...]
    link: str
    count: int
    fired_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    last_notified_at: datetime | None
    notifications: int
    owed: Message | None
    owed_targets: tuple[str, ...]
    next_delivery_at: datetime | None
    delivery_attempts: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_reason: str | None
    silenced_until: datetime | None
    silenced_by: str | None
    silence_reason: str | None

    def silenced(self, now: datetime) -> bool:
        """Whether notifications are held back at ``now``."""
        return self.silenced_until is not None and self.silenced_until > now

    def to_json(self) -> dict[str, Any]:
        """The alert as JSON-ready values (``threadline alerts list --json``)."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in self.__dict__.items()
        } | {"lines": list(self.lines), "owed_targets": list(self.owed_targets)}


@dataclass(frozen=True)
class TargetStatus:
    """A notification target's last delivery result."""

    target: str
    label: str
    last_ok_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    failures: int

    @property
    def failing(self) -> bool:
        """Whether its last delivery failed."""
        return self.failures > 0


@dataclass(frozen=True)
class Recorded:
    """What one :func:`record` changed."""

    fired: tuple[int, ...] = ()
    reminded: tuple[int, ...] = ()
    resolved: tuple[int, ...] = ()


def _alert(row: sa.RowMapping) -> Alert:
    return Alert(
        id=int(row["id"]),
        rule=row["rule"],
        key=row["key"],
        state=AlertState(row["state"]),
        title=row["title"],
        lines=tuple(row["lines"] or ()),
        link=row["link"],
        count=int(row["count"]),
        fired_at=row["fired_at"],
        last_seen_at=row["last_seen_at"],
        resolved_at=row["resolved_at"],
        last_notified_at=row["last_notified_at"],
        notifications=int(row["notifications"]),
        owed=Message(row["owed"]) if row["owed"] else None,
        owed_targets=tuple(row["owed_targets"] or ()),
        next_delivery_at=row["next_delivery_at"],
        delivery_attempts=int(row["delivery_attempts"]),
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        acknowledge_reason=row["acknowledge_reason"],
        silenced_until=row["silenced_until"],
        silenced_by=row["silenced_by"],
        silence_reason=row["silence_reason"],
    )


def _owe(message: Message | None, targets: Sequence[str], now: datetime) -> dict[str, Any]:
    if message is None or not targets:
        return {"owed": None, "owed_targets": None, "next_delivery_at": None}
    return {
        "owed": message.value,
        "owed_targets": list(targets),
        "next_delivery_at": now,
        "delivery_attempts": 0,
    }


def firing(connection: sa.Connection) -> list[Alert]:
    """Every alert firing now, the oldest first."""
    rows = connection.execute(
        sa.select(alerts)
        .where(alerts.c.state == AlertState.FIRING.value)
        .order_by(alerts.c.fired_at, alerts.c.id)
    ).mappings()
    return [_alert(row) for row in rows]


def recent(connection: sa.Connection, *, since: datetime, limit: int = 200) -> list[Alert]:
    """Firing alerts and those resolved since ``since``: firing first, newest first."""
    rows = connection.execute(
        sa.select(alerts)
        .where(
            sa.or_(
                alerts.c.state == AlertState.FIRING.value,
                alerts.c.resolved_at >= since,
            )
        )
        .order_by(
            sa.case((alerts.c.state == AlertState.FIRING.value, 0), else_=1),
            alerts.c.fired_at.desc(),
            alerts.c.id.desc(),
        )
        .limit(limit)
    ).mappings()
    return [_alert(row) for row in rows]


def get(connection: sa.Connection, alert_id: int) -> Alert | None:
    """One alert by id."""
    row = connection.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    return _alert(row) if row is not None else None


def record(
    connection: sa.Connection,
    findings: Sequence[Finding],
    *,
    targets: Sequence[str],
    reminder_every: timedelta,
    now: datetime,
    resolve_after: timedelta = timedelta(0),
) -> Recorded:
    """Bring alert state in line with ``findings`` (see the module docstring); a group
    resolves once it has gone unfound for ``resolve_after``."""
    current = {(alert.rule, alert.key): alert for alert in firing(connection)}
    fired: list[int] = []
    reminded: list[int] = []
    for finding in findings:
        shown = {
            "title": finding.title[:300],
            "lines": list(finding.lines),
            "link": finding.link[:1000],
            "count": finding.count,
            "last_seen_at": now,
        }
        alert = current.pop((finding.rule, finding.key), None)
        if alert is None:
            new_id = connection.execute(
                sa.insert(alerts)
                .values(
                    rule=finding.rule,
                    key=finding.key[:300],
                    state=AlertState.FIRING.value,
                    fired_at=now,
                    notifications=0,
                    **(shown | {"delivery_attempts": 0} | _owe(Message.FIRED, targets, now)),
                )
                .returning(alerts.c.id)
            ).scalar_one()
            fired.append(int(new_id))
            continue
        owed = _due(alert, reminder_every, now)
        if owed is not None and targets:
            shown |= _owe(owed, targets, now)
            reminded.append(alert.id)
        connection.execute(sa.update(alerts).where(alerts.c.id == alert.id).values(**shown))
    resolved: list[int] = []
    for alert in current.values():
        if now - alert.last_seen_at < resolve_after:
            continue
        told = alert.last_notified_at is not None and not alert.silenced(now)
        connection.execute(
            sa.update(alerts)
            .where(alerts.c.id == alert.id)
            .values(
                state=AlertState.RESOLVED.value,
                resolved_at=now,
                **_owe(Message.RESOLVED if told else None, targets, now),
            )
        )
        resolved.append(alert.id)
    return Recorded(tuple(fired), tuple(reminded), tuple(resolved))


def _due(alert: Alert, reminder_every: timedelta, now: datetime) -> Message | None:
    """The message a still-firing alert owes now, if any."""
    if alert.owed is not None or alert.silenced(now):
        return None
    if alert.last_notified_at is None:
        # Fired while silenced (or before any target was configured): tell it now.
        return Message.FIRED if alert.notifications == 0 else None
    if alert.acknowledged_at is not None or reminder_every <= timedelta(0):
        return None
    return Message.REMINDER if now - alert.last_notified_at >= reminder_every else None


def claim_owed(connection: sa.Connection, *, now: datetime, hold: timedelta) -> list[Alert]:
    """Alerts whose owed message is due, each taken for ``hold`` so no one else sends it.

    Silenced alerts keep their message until the silence ends (a resolve is still sent).
    """
    rows = connection.execute(
        sa.select(alerts)
        .where(alerts.c.owed.is_not(None), alerts.c.next_delivery_at <= now)
        .order_by(alerts.c.next_delivery_at, alerts.c.id)
    ).mappings()
    claimed: list[Alert] = []
    for alert in [_alert(row) for row in rows]:
        if alert.owed is not Message.RESOLVED and alert.silenced(now):
            continue
        taken = connection.execute(
            sa.update(alerts)
            .where(alerts.c.id == alert.id, alerts.c.next_delivery_at == alert.next_delivery_at)
            .values(next_delivery_at=now + hold)
        )
        if taken.rowcount == 1:
            claimed.append(alert)
    return claimed


def delivered(
    connection: sa.Connection,
    alert: Alert,
    *,
    succeeded: Sequence[str],
    failed: Sequence[str],
    retry_at: datetime,
    now: datetime,
) -> None:
    """Record what came of delivering ``alert.owed``: targets that failed stay owed."""
    values: dict[str, Any] = {}
    if succeeded:
        values["last_notified_at"] = now
    if failed:
        values |= {
            "owed_targets": list(failed),
            "next_delivery_at": retry_at,
            "delivery_attempts": alert.delivery_attempts + 1,
        }
    else:
        values |= {"owed": None, "owed_targets": None, "next_delivery_at": None}
        values["notifications"] = alert.notifications + 1
    connection.execute(sa.update(alerts).where(alerts.c.id == alert.id).values(**values))


def record_target(
    connection: sa.Connection, target: str, label: str, error: str | None, now: datetime
) -> None:
    """A target's result: delivered (``error`` None) or failed with ``error``."""
    insert_ignoring_conflicts(
        connection, alert_targets, [{"target": target, "label": label, "failures": 0}]
    )
    values: dict[str, Any] = {"label": label}
    if error is None:
        values |= {"last_ok_at": now, "failures": 0}
    else:
        values |= {
            "last_failed_at": now,
            "last_error": error[:2000],
            "failures": alert_targets.c.failures + 1,
        }
    connection.execute(
        sa.update(alert_targets).where(alert_targets.c.target == target).values(**values)
    )


def target_statuses(connection: sa.Connection, targets: Sequence[str]) -> list[TargetStatus]:
    """The last result of each of ``targets`` that has been tried, in that order."""
    rows = {
        row["target"]: row
        for row in connection.execute(
            sa.select(alert_targets).where(alert_targets.c.target.in_(list(targets)))
        ).mappings()
    }
    return [
        TargetStatus(
            target=row["target"],
            label=row["label"],
            last_ok_at=row["last_ok_at"],
            last_failed_at=row["last_failed_at"],
            last_error=row["last_error"],
            failures=int(row["failures"]),
        )
        for row in (rows[t] for t in targets if t in rows)
    ]


def acknowledge(
    connection: sa.Connection, alert_id: int, *, actor: str, reason: str, now: datetime
) -> bool:
    """Stop the reminders of a firing alert; ``False`` when it is not firing."""
    done = connection.execute(
        sa.update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state == AlertState.FIRING.value)
        .values(acknowledged_at=now, acknowledged_by=actor, acknowledge_reason=reason)
    )
    return done.rowcount == 1


def silence(
    connection: sa.Connection, alert_id: int, *, actor: str, reason: str, until: datetime
) -> bool:
    """Hold back the notifications of a firing alert until ``until``; ``False`` when it is
    not firing."""
    done = connection.execute(
        sa.update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state == AlertState.FIRING.value)
        .values(silenced_until=until, silenced_by=actor, silence_reason=reason)
    )
    return done.rowcount == 1
