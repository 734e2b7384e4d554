"""A seeded history (what ``threadline up --history`` backfills) and ECOs in flight after
it, appended through the collector's own store, for the prediction and SLA tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from collector.store import EventStore
from contracts.operator_events import WorkOverdue
from contracts.sla import Stage
from contracts.steps import ErrorCategory, StepKind, StepState
from simulators.history import history_events
from simulators.world import build_world
from tests.dashboards.seed import Story, error

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""When the history ends: the tests' "now"."""
RISKY = "ECO-2026-09001"
SAFE = "ECO-2026-09002"


def seed_history(engine: sa.Engine, *, days: int = 60, ecos_per_day: float = 6.0) -> int:
    """Append ``days`` of history ending at :data:`END`; return how many ECOs it held."""
    store = EventStore(engine)
    batch: list[dict[str, object]] = []
    ecos = 0
    for events in history_events(
        build_world(7), days=days, end=END, ecos_per_day=ecos_per_day, seed=7
    ):
        ecos += 1
        batch.extend(events)
        if len(batch) >= 5000:
            store.append(batch, "engine")
            batch = []
    store.append(batch, "engine")
    return ecos


def awaiting_confirmation(eco: str, effectivity: date) -> Story:
    """An ECO approved an hour before :data:`END` whose P100 awaits ERP's confirmation."""
    story = Story(
        eco=eco,
        approved_at=END - timedelta(hours=1),
        plants=["P100"],
        items={"ASM-1001": "D"},
        effectivity=effectivity,
    )
    story.item_revisions()
    story.plant_until(
        "P100",
        StepKind.ERP_CONFIRMATION,
        StepState.AWAITING_CONFIRMATION,
        production_version="PV-P100",
    )
    return story


def seed_in_flight(engine: sa.Engine) -> None:
    """:data:`RISKY`, effective today, and :data:`SAFE`, effective in two months."""
    store = EventStore(engine)
    for story in (
        awaiting_confirmation(RISKY, END.date()),
        awaiting_confirmation(SAFE, END.date() + timedelta(days=60)),
    ):
        store.append(story.events, "engine")


def report_overdue(engine: sa.Engine, stages: dict[Stage, int]) -> None:
    """Engine reports of ``count`` steps (or ECOs) overdue in each stage, still in it."""
    store = EventStore(engine)
    kinds = {
        Stage.PENDING: (StepKind.ERP_BOM, StepState.PENDING, 0),
        Stage.RUNNING: (StepKind.ERP_ROUTING, StepState.RUNNING, 1),
        Stage.RETRYING: (StepKind.ERP_ROUTING, StepState.RETRYING, 1),
        Stage.SUPPLIER_NOTICE: (StepKind.SUPPLIER_NOTICE, StepState.RETRYING, 2),
    }
    since = END - timedelta(hours=3)
    for stage, count in stages.items():
        for n in range(count):
            eco = f"ECO-2026-0{8000 + 100 * list(Stage).index(stage) + n}"
            story = Story(eco=eco, approved_at=since, plants=["P200"], items={"ASM-1001": "E"})
            work: dict[str, object] = {"stage": stage, "eco": eco, "since": since}
            work |= {"due_at": since + timedelta(hours=1), "sla_seconds": 3600}
            if stage in kinds:
                kind, state, attempt = kinds[stage]
                where = {"supplier": "S010"} if stage is Stage.SUPPLIER_NOTICE else {}
                where = where or {"plant": "P200", "item": "ASM-1001", "revision": "E"}
                extra: dict[str, object] = {}
                if state is StepState.RETRYING:
                    failure = error(kind, "HTTP_503", "unavailable", ErrorCategory.TRANSIENT)
                    extra = {"error": failure, "next_attempt_at": END + timedelta(minutes=1)}
                ident = story.step(kind, state, attempt=attempt, **where, **extra)
                work |= {"step_id": ident, "kind": kind} | {
                    k: v for k, v in where.items() if k != "revision"
                }
            story.emit(WorkOverdue.model_validate(work))
            store.append(story.events, "engine")
