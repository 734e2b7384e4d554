"""Is the engine side of the pipeline keeping up? Read-only, for the console's banner.

Two facts, each one indexed read: the oldest outbox event the collector has not
acknowledged (events wait there while the relay or the collector is down), and each
engine's heartbeat (:mod:`sync_engine.store.heartbeats`). :meth:`PipelineHealth.problems`
turns them into the warnings a person should see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sync_engine import tables as t
from sync_engine.store.heartbeats import Heartbeat, heartbeats

OUTBOX_STALE_AFTER = timedelta(seconds=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True)
class HealthLimits:
    """When the pipeline counts as behind."""

    outbox_stale_after: timedelta = OUTBOX_STALE_AFTER
    heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT


@dataclass(frozen=True)
class PipelineHealth:
    """The engine side of the pipeline as read at ``read_at``."""

    read_at: datetime
    undelivered: int
    oldest_undelivered_at: datetime | None
    engines: tuple[Heartbeat, ...]

    def alive(self, limits: HealthLimits = HealthLimits()) -> tuple[Heartbeat, ...]:
        """Engines heard from within the heartbeat timeout."""
        return tuple(
            e for e in self.engines if self.read_at - e.seen_at <= limits.heartbeat_timeout
        )

    def gone(self, limits: HealthLimits = HealthLimits()) -> tuple[Heartbeat, ...]:
        """Engines that stopped beating without stopping cleanly (crashed or hung)."""
        alive = self.alive(limits)
        return tuple(e for e in self.engines if e not in alive)

    def problems(self, limits: HealthLimits = HealthLimits()) -> list[str]:
        """What a person should be warned of; empty while the engine side keeps up."""
        found: list[str] = []
        if self.oldest_undelivered_at is not None:
            age = self.read_at - self.oldest_undelivered_at
            if age > limits.outbox_stale_after:
                found.append(
                    f"{self.undelivered} engine event{'' if self.undelivered == 1 else 's'} "
                    f"not delivered to the collector; the oldest waits for {_span(age)}."
                )
        if not self.alive(limits):
            timeout = _span(limits.heartbeat_timeout)
            if self.engines:
                last = self.engines[0]
                found.append(
                    f"No engine heartbeat for {timeout}: the last, {last.holder}, was seen "
                    f"{_span(self.read_at - last.seen_at)} ago."
                )
            else:
                found.append(f"No engine heartbeat for {timeout}: no engine is running.")
        else:
            found.extend(
                f"Engine {e.holder} stopped sending heartbeats {_span(self.read_at - e.seen_at)} "
                "ago without stopping cleanly."
                for e in self.gone(limits)
            )
        return found


def pipeline_health(connection: sa.Connection, *, now: datetime) -> PipelineHealth:
    """The outbox backlog and every engine's heartbeat, read in one transaction."""
    waiting = t.outbox.c.delivered_at.is_(None)
    # Only undelivered rows are read (a partial index holds just those).
    count, oldest_at = connection.execute(
        sa.select(sa.func.count(), sa.func.min(t.outbox.c.created_at)).where(waiting)
    ).one()
    return PipelineHealth(
        read_at=now,
        undelivered=int(count),
        oldest_undelivered_at=oldest_at,
        engines=tuple(heartbeats(connection)),
    )


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
