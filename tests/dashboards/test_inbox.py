"""The exception inbox over the engine's records, on SQLite and PostgreSQL: every source,
owners from the rules, statuses from the problem store, filters and groups."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from contracts import events as ev
from contracts.readmodel import DriftCause
from dashboards.inbox import SOURCES, InboxFilter, groups, inbox
from sync_engine import commands, store, triage
from sync_engine.errors import BusinessError, TransientError
from sync_engine.ownership import DEFAULT_FILE, load
from sync_engine.store import DriftRecord, ProblemStatus
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, claim, later, receive
from tests.sync_engine.test_sla import relay_to_collector, sweep

ECO = "ECO-2026-00042"
ASM = f"{ECO}/erp.item_revision/-/ASM-1001"
CMP = f"{ECO}/erp.item_revision/-/CMP-2001"
RULES = load(DEFAULT_FILE)


def _world(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    asm, cmp_ = sorted(claim(engine), key=lambda s: s.step_id)
    with engine.begin() as connection:
        inactive = BusinessError("WORK_CENTER_INACTIVE", "work center WC-1 is inactive")
        store.fail(connection, asm, inactive, now=T0, next_attempt_at=None)
        store.fail(
            connection, cmp_, TransientError("HTTP_503", "down"), now=T0, next_attempt_at=None
        )
        store.record_rejected(
            connection,
            "ECO-2026-00077",
            [ev.Violation(path="effectivity", message="before approval")],
            {"number": "ECO-2026-00077", "title": "Bad dates", "status": "approved"},
            now=T0,
        )
        store.report_drift(
            connection,
            DriftRecord(
                plant="P100",
                item="ASM-1001",
                plm_revision="C",
                erp_revision="B",
                mes_revision="B",
                expected_revision="B",
                eco=None,
                eco_state=None,
                cause=DriftCause.OUTSIDE,
                detail="ERP changed outside Threadline",
            ),
            now=T0,
        )


def test_every_source_is_listed_with_its_owner(engine: sa.Engine) -> None:
    _world(engine)
    rows = inbox(engine, RULES, InboxFilter(), now=later(3600))
    found = {(r.problem.source, r.problem.key, r.owner.team) for r in rows}
    assert found == {
        ("blocked step", f"step:{ASM}", "erp-master-data"),
        ("dead-lettered step", f"step:{CMP}", "erp-integration"),
        ("rejected ECO", "eco:ECO-2026-00077", "plm-change-board"),
        ("drift", "drift:P100/ASM-1001", "plant-engineering"),
    }
    assert [name for name, _ in SOURCES] == [
        "blocked",
        "dead_letter",
        "confirmation",
        "rejected_eco",
        "drift",
        "overdue",
    ]
    first = rows[0]  # the most severe first
    assert first.problem.step_id == ASM and not first.owner.retry_fixes
    assert (first.owner.fix_hint or "").startswith(
        "needs a fix in ERP: activate the work center ASM-1001's routing uses"
    )
    assert {g.fingerprint: len(g.rows) for g in groups(rows)}[
        "erp.item_revision:WORK_CENTER_INACTIVE"
    ] == 1


def test_filters_and_statuses(engine: sa.Engine) -> None:
    _world(engine)
    triage.acknowledge(engine, f"step:{CMP}", actor="ana", reason="on it")
    now = later(3600)
    acknowledged = inbox(
        engine, RULES, InboxFilter(statuses=(ProblemStatus.ACKNOWLEDGED,)), now=now
    )
    assert [(r.problem.step_id, r.state.acknowledged_by) for r in acknowledged] == [(CMP, "ana")]
    erp = inbox(engine, RULES, InboxFilter(teams=("erp-master-data",), systems=("erp",)), now=now)
    assert [r.problem.step_id for r in erp] == [ASM]
    assert inbox(engine, RULES, InboxFilter(min_age=timedelta(hours=2)), now=now) == []
    criteria = InboxFilter(plants=("P100",), codes=("DRIFT",), min_age=timedelta(minutes=30))
    assert InboxFilter.from_query(criteria.to_query()) == criteria
    assert [r.problem.key for r in inbox(engine, RULES, criteria, now=now)] == [
        "drift:P100/ASM-1001"
    ]

    commands.skip_step(engine, CMP, actor="ana", reason="fixed by hand")
    with store.writing(engine) as connection:
        store.resolve_settled(connection, now=now)
    assert f"step:{CMP}" not in {
        r.problem.key for r in inbox(engine, RULES, InboxFilter(), now=now)
    }


def test_overdue_work_is_a_problem_until_it_is_back_on_track(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    claimed = claim(engine)  # two steps running; the SLA allows five minutes
    sweep(engine, later(301))
    relay_to_collector(engine)
    rows = inbox(engine, RULES, InboxFilter(), now=later(360))
    overdue = {r.problem.key: r.problem for r in rows if r.problem.source == "overdue work"}
    assert set(overdue) == {f"overdue:{step.step_id}" for step in claimed}
    assert {p.fingerprint for p in overdue.values()} == {"overdue:running"}
    assert {p.message for p in overdue.values()} == {"running overdue by 1 min"}
    triage.acknowledge(engine, next(iter(overdue)), actor="ops@example.com", reason="on it")
    with store.writing(engine) as connection:
        for step in claimed:
            store.succeed(connection, step, now=later(410))
    sweep(engine, later(420))
    relay_to_collector(engine)
    with store.writing(engine) as connection:
        resolved = store.resolve_settled(connection, now=later(430))
    assert resolved == [next(iter(overdue))]  # the one someone had said something about
    left = inbox(engine, RULES, InboxFilter(), now=later(440))
    assert not [r for r in left if r.problem.source == "overdue work"]
