"""``threadline db prune``: bound the event store by deleting old events.

The collector's event store is append-only, so it grows with every step the engine takes.
The read models (every table in :data:`collector.tables.PROJECTIONS`) already hold what
the console shows and are kept; what goes is the raw history behind them. That history is
what ``threadline collector rebuild`` replays, and what an ECO page's timeline and raw
events read: after a prune, a rebuild knows only the events left, so it would drop every
ECO, step and operator action whose events were pruned. The command therefore only counts
until it is given ``--yes`` and a reason, and records each prune as an operator action.

An event's age is its ``time`` (when it happened), or when it was received if the
producer sent no time. Rows are deleted in batches so writers wait for one batch at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from collector.tables import PROJECTIONS, events
from contracts.model import utcnow
from contracts.operator_events import OperatorActionTaken
from contracts.steps import OperatorAction

BATCH = 5000

REBUILD_WARNING = (
    "every read model ({tables}) is rebuilt from the stored events: after this prune "
    "`threadline collector rebuild` would lose the history of the pruned events (their ECOs, "
    "steps and operator actions), and ECO pages show no timeline or raw events for them. "
    "The read models themselves are kept."
).format(tables=", ".join(table.name for table in PROJECTIONS))


class PruneError(ValueError):
    """The prune was asked for with arguments that cannot be right."""


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed, or with ``deleted`` false, would remove."""

    before: datetime
    by_type: dict[str, int]
    bytes: int
    """The pruned rows' stored size (PostgreSQL) or their columns' text length (SQLite)."""
    deleted: bool

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def lines(self) -> list[str]:
        verb = "removed" if self.deleted else "would remove"
        head = (
            f"{verb} {self.total} events older than {self.before:%Y-%m-%d %H:%M} UTC "
            f"({self.bytes / 1024 / 1024:.1f} MiB of rows)"
        )
        width = max((len(t) for t in self.by_type), default=0)
        rows = [f"  {t:<{width}}  {n:>9}" for t, n in sorted(self.by_type.items())]
        return [head, *rows]


def _age() -> sa.ColumnElement[datetime]:
    return sa.func.coalesce(events.c.time, events.c.received_at)


def _row_size(dialect: str) -> sa.ColumnElement[int]:
    if dialect == "postgresql":
        return sa.func.pg_column_size(sa.literal_column("events.*"))
    lengths = [sa.func.coalesce(sa.func.length(sa.cast(c, sa.Text)), 0) for c in events.c]
    return sum(lengths[1:], lengths[0])


def _old_rows(engine: sa.Engine, before: datetime) -> sa.Select[tuple[int, str, int]]:
    size = _row_size(engine.dialect.name).label("size")
    return (
        sa.select(events.c.seq, events.c.type, size).where(_age() < before).order_by(events.c.seq)
    )


def count_old_events(engine: sa.Engine, before: datetime) -> PruneReport:
    """What pruning the events older than ``before`` would remove (nothing is deleted)."""
    rows = _old_rows(engine, before).subquery()
    query = sa.select(rows.c.type, sa.func.count(), sa.func.sum(rows.c.size)).group_by(rows.c.type)
    with engine.connect() as connection:
        found = connection.execute(query).all()
    by_type = {str(t): int(n) for t, n, _ in found}
    size = sum(int(b or 0) for _, _, b in found)
    return PruneReport(before=before, by_type=by_type, bytes=size, deleted=False)


def prune_events(
    engine: sa.Engine,
    *,
    older_than_days: float,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> PruneReport:
    """Delete the stored events older than ``older_than_days`` and audit it; return the report.

    The read models are untouched. Raises :class:`PruneError` for a negative age or a
    missing actor or reason.
    """
    if older_than_days < 0:
        raise PruneError(f"--events-older-than must be 0 days or more, not {older_than_days}")
    if not actor.strip():
        raise PruneError("an actor is required: every operator action names who took it")
    if not reason.strip():
        raise PruneError("--reason is required: say why the history is pruned")
    before = (now or utcnow()) - timedelta(days=older_than_days)
    by_type: dict[str, int] = {}
    size = 0
    batch = _old_rows(engine, before).limit(BATCH)
    while True:
        with engine.begin() as connection:
            rows = connection.execute(batch).all()
            if not rows:
                break
            connection.execute(sa.delete(events).where(events.c.seq.in_([r.seq for r in rows])))
        for row in rows:
            by_type[row.type] = by_type.get(row.type, 0) + 1
            size += int(row.size or 0)
    report = PruneReport(before=before, by_type=by_type, bytes=size, deleted=True)
    _audit(engine, report, actor=actor, reason=reason, days=older_than_days)
    return report


def _audit(engine: sa.Engine, report: PruneReport, *, actor: str, reason: str, days: float) -> None:
    # The engine's relay delivers the event to the collector like every other operator action.
    from sync_engine import store

    with engine.begin() as connection:
        store.emit(
            connection,
            OperatorActionTaken(
                actor=actor,
                action=OperatorAction.PRUNE_EVENTS,
                filter={"events_older_than_days": days, "before": report.before.isoformat()},
                reason=reason,
                outcome="pruned",
                affected=report.total,
            ),
            now=utcnow(),
        )
