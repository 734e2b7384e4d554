"""The audit log across ECOs: actions taken through the engine's commands and its outbox,
relayed into the collector, listed, filtered and exported (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from contracts.operator_events import OperationCompleted, OperatorActionTaken
from contracts.steps import OperatorAction
from dashboards.audit import AuditFilter, audit_export, audit_log
from dashboards.filters import Query
from sync_engine import commands, store
from tests.console.world import EngineWorld

FIRST, SECOND = "ECO-2026-00600", "ECO-2026-00601"


def _seed(engine: sa.Engine) -> str | None:
    """Three actions across two ECOs; returns the operation the console-style retry began."""
    world = EngineWorld(engine)
    (one,) = world.failed_notices(FIRST, ["S010"])
    (two,) = world.failed_notices(SECOND, ["S020"])
    retried = commands.retry_step(
        engine, one, actor="ada@example.com", reason="portal back", role="operator"
    )
    commands.skip_step(engine, two, actor="cli:lin", reason="told by phone", role="cli")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        store.emit(
            connection,
            OperatorActionTaken(
                actor="ada@example.com",
                role="admin",
                action=OperatorAction.RETRY_BULK,
                step_ids=[one, two],
                reason="contacts fixed",
                outcome="queued",
                affected=2,
                operation_id="op-audit-1",
            ),
            now=now,
        )
        store.emit(
            connection,
            OperationCompleted(
                operation_id="op-audit-1",
                action=OperatorAction.RETRY_BULK,
                actor="ada@example.com",
                role="admin",
                reason="contacts fixed",
                steps=2,
                succeeded=1,
                failed_again=1,
                codes={"INVALID_SUPPLIER_CONTACT": 1},
                summary="done: 1 succeeded, 1 failed again (INVALID_SUPPLIER_CONTACT)",
                started_at=now,
            ),
            now=now + timedelta(seconds=5),
        )
    world.relay()
    return retried.operation_id


def test_every_action_across_ecos_newest_first(engine: sa.Engine) -> None:
    operation = _seed(engine)
    page = audit_log(engine)
    rows = page.rows
    assert page.total == 3
    assert list(rows["action"]) == ["retry_bulk", "skip", "retry"]
    assert list(rows["actor"]) == ["ada@example.com", "cli:lin", "ada@example.com"]
    assert list(rows["reason"]) == ["contacts fixed", "told by phone", "portal back"]
    assert list(rows["eco"])[1:] == [SECOND, FIRST]
    bulk = rows.iloc[0]
    assert bulk.operation_id == "op-audit-1"
    assert bulk.operation_outcome == (
        "done: 1 succeeded, 1 failed again (INVALID_SUPPLIER_CONTACT)"
    )
    assert bulk.affected == 2 and len(bulk.step_ids) == 2
    # The engine's own retry names the operation it started; it has not ended yet.
    assert operation is not None
    assert rows.iloc[2].operation_id == operation
    assert pd.isna(rows.iloc[2].operation_outcome)
    assert list(audit_log(engine, AuditFilter(operation=operation)).rows["action"]) == ["retry"]


def test_filters_narrow_the_log_and_round_trip_through_the_address(engine: sa.Engine) -> None:
    _seed(engine)
    today = datetime.now(UTC).date()

    def actions(criteria: AuditFilter) -> list[str]:
        return list(audit_log(engine, criteria).rows["action"])

    assert actions(AuditFilter(actor="cli:lin")) == ["skip"]
    assert actions(AuditFilter(role="admin")) == ["retry_bulk"]
    assert actions(AuditFilter(actions=(OperatorAction.RETRY,))) == ["retry"]
    # The bulk action names no ECO; its step ids do.
    assert actions(AuditFilter(eco=SECOND)) == ["retry_bulk", "skip"]
    assert actions(AuditFilter(operation="op-audit-1")) == ["retry_bulk"]
    assert len(actions(AuditFilter(since=today, until=today))) == 3
    assert actions(AuditFilter(until=today - timedelta(days=1))) == []

    criteria = AuditFilter(
        actor="ada@example.com",
        actions=(OperatorAction.RETRY, OperatorAction.RETRY_BULK),
        since=today,
        operation="op-audit-1",
    )
    query: Query = criteria.to_query()
    assert AuditFilter.from_query(query) == criteria
    assert AuditFilter.from_query({"since": ["not a day"], "action": ["nope"]}) == AuditFilter()


def test_the_export_holds_every_row_the_filter_keeps(engine: sa.Engine) -> None:
    _seed(engine)
    exported = audit_export(engine, AuditFilter(actor="ada@example.com"))
    assert list(exported["action"]) == ["retry_bulk", "retry"]
    assert exported.iloc[0].step_ids.count(" ") == 1
    assert exported.iloc[0].operation_outcome.startswith("done: 1 succeeded")
