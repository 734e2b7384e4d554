"""Freshness: how long after a step's transition its row reaches the collector's read model.

The engine stamps each step event with the transition's time (``time``); the collector
writes the event and its projections (the step's row in ``step_status``) in one
transaction and stamps that with ``received_at``. The difference, over every step event
of a burst, is the freshness of the read model: outbox, relay, HTTP and ingest together.
"""

from __future__ import annotations

import statistics
import subprocess
import time

import sqlalchemy as sa

from benchmarks.collector_ingest import start_server
from collector.tables import events
from sync_engine import store

STEP_EVENTS = "io.threadline.step.%"


def start_collector(url: str, port: int) -> subprocess.Popen[bytes]:
    """``threadline collector serve`` on ``url`` (migrated), accepting the engine's token."""
    return start_server(url, port, None, 1, None)


def drain(engine_db: sa.Engine, timeout: float = 120.0) -> bool:
    """Wait until the engine's outbox is delivered; ``False`` if it is not in ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine_db.connect() as connection:
            if store.outbox_backlog(connection) == 0:
                return True
        time.sleep(0.5)
    return False


def lags(collector_url: str) -> list[float]:
    """Seconds from each step event's transition to its arrival in the read model."""
    return [lag for _, lag in typed_lags(collector_url)]


def typed_lags(collector_url: str) -> list[tuple[str, float]]:
    """Each step event's type and lag, in the order the collector stored them."""
    db = sa.create_engine(collector_url)
    with db.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.type, events.c.time, events.c.received_at)
            .where(events.c.type.like(STEP_EVENTS))
            .order_by(events.c.seq)
        ).all()
    db.dispose()
    return [(kind, (received - at).total_seconds()) for kind, at, received in rows if at]


def breakdown(collector_url: str) -> list[str]:
    """The same figures per event type, and per tenth of the burst (in delivery order):
    where the tail comes from."""
    typed = typed_lags(collector_url)
    by_type: dict[str, list[float]] = {}
    for kind, lag in typed:
        by_type.setdefault(kind.removeprefix("io.threadline.step."), []).append(lag)
    lines = [f"  {kind:24s} {line(values)}" for kind, values in sorted(by_type.items())]
    tenth = max(1, len(typed) // 10)
    for start in range(0, len(typed), tenth):
        part = [lag for _, lag in typed[start : start + tenth]]
        lines.append(f"  events {start:6d}-{start + len(part) - 1:6d} {line(part)}")
    return lines


def line(values: list[float]) -> str:
    """p50 and p95 of ``values`` (seconds) as one printable line."""
    if len(values) < 2:
        return "freshness: no step events reached the read model"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"freshness, step transition to its read-model row ({len(values)} events): "
        f"p50 {statistics.median(ordered):.2f} s  p95 {p95:.2f} s  max {ordered[-1]:.2f} s"
    )
