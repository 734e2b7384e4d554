from __future__ import annotations

import pytest
import sqlalchemy as sa

from contracts.events import parse_data
from contracts.steps import StepKind, StepState
from sync_engine import commands, store
from sync_engine.errors import BusinessError, InvalidCommand, SyncError, TransientError
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, claim, events, receive, run_all, states

ECO = "ECO-2026-00042"
ASM = f"{ECO}/erp.item_revision/-/ASM-1001"
CMP = f"{ECO}/erp.item_revision/-/CMP-2001"


def _audits(engine: sa.Engine) -> list[dict]:
    found = [e for e in events(engine) if e["type"] == "io.threadline.operator.action.v1"]
    for event in found:
        parse_data(event["type"], event["data"])
    return [e["data"] for e in found]


def _fail_both(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    asm, cmp_ = sorted(claim(engine), key=lambda s: s.step_id)
    with engine.begin() as connection:
        store.fail(connection, asm, BusinessError("LOCKED", "locked"), now=T0, next_attempt_at=None)
        store.fail(
            connection, cmp_, TransientError("HTTP_503", "down"), now=T0, next_attempt_at=None
        )


def test_retrying_a_step_queues_it_once_and_audits_every_click(engine: sa.Engine) -> None:
    _fail_both(engine)
    with engine.connect() as connection:
        key = store.get_step(connection, ASM).idempotency_key  # type: ignore[union-attr]
    first = commands.retry_step(engine, ASM, actor="ana", reason="lock released", role="support")
    second = commands.retry_step(engine, ASM, actor="ana", reason="again", role="support")
    assert (first.outcome, first.affected, first.step_ids) == ("queued", 1, (ASM,))
    assert first.message == "Queued 1 step for retry."
    assert (second.outcome, second.affected) == ("already_queued", 0)
    with engine.connect() as connection:
        step = store.get_step(connection, ASM)
    assert step is not None and step.state is StepState.PENDING and step.attempt == 0
    # The system rejected the first key, so a blocked step retries under a fresh one.
    assert step.idempotency_key != key and step.generation == 1
    audits = _audits(engine)
    assert [(a["actor"], a["role"], a["action"], a["outcome"]) for a in audits] == [
        ("ana", "support", "retry", "queued"),
        ("ana", "support", "retry", "already_queued"),
    ]
    assert audits[0]["reason"] == "lock released" and audits[0]["eco"] == ECO
    requeued = [
        e
        for e in events(engine)
        if e["type"] == "io.threadline.step.scheduled.v1" and e["data"].get("actor") == "ana"
    ]
    assert [e["data"]["from_state"] for e in requeued] == ["blocked"]


def test_a_failed_step_keeps_its_key_and_a_succeeded_step_is_not_retried(
    engine: sa.Engine,
) -> None:
    _fail_both(engine)
    with engine.connect() as connection:
        key = store.get_step(connection, CMP).idempotency_key  # type: ignore[union-attr]
    assert commands.retry_step(engine, CMP, actor="ana", reason="up").outcome == "queued"
    with engine.connect() as connection:
        assert store.get_step(connection, CMP).idempotency_key == key  # type: ignore[union-attr]
    commands.retry_step(engine, ASM, actor="ana", reason="unlocked")
    run_all(engine)
    result = commands.retry_step(engine, CMP, actor="ana", reason="again")
    assert (result.outcome, result.affected) == ("already_succeeded", 0)
    missing = commands.retry_step(engine, f"{ECO}/erp.bom/P900/ASM-1001", actor="ana", reason="try")
    assert missing.outcome == "not_found"
    assert [a["outcome"] for a in _audits(engine)][-2:] == ["already_succeeded", "not_found"]


def test_bulk_retry_queues_every_matching_failure(engine: sa.Engine) -> None:
    _fail_both(engine)
    only_transient = commands.retry_matching(
        engine, actor="bo", reason="portal back", fingerprint="erp.item_revision:HTTP_503"
    )
    assert only_transient.step_ids == (CMP,) and only_transient.outcome == "queued"
    everything = commands.retry_matching(
        engine, actor="bo", reason="all", kind=StepKind.ERP_ITEM_REVISION
    )
    assert everything.step_ids == (ASM,)
    assert everything.message == "Queued 1 step for retry."
    nothing = commands.retry_matching(engine, actor="bo", reason="all", eco=ECO)
    assert (nothing.outcome, nothing.affected) == ("not_found", 0)
    audits = _audits(engine)
    assert audits[0]["action"] == "retry_bulk"
    assert audits[0]["filter"]["fingerprint"] == "erp.item_revision:HTTP_503"
    assert [a["affected"] for a in audits] == [1, 1, 0]


def test_skipping_needs_a_reason_and_lets_dependants_go_ahead(engine: sa.Engine) -> None:
    _fail_both(engine)
    with pytest.raises(ValueError, match="reason"):
        commands.skip_step(engine, ASM, actor="ana", reason=" ")
    result = commands.skip_step(engine, ASM, actor="ana", reason="released by hand in ERP")
    assert result.outcome == "queued" and result.affected == 1
    commands.retry_step(engine, CMP, actor="ana", reason="up")
    run_all(engine)
    after = states(engine, ECO)
    assert after[ASM] is StepState.SKIPPED
    assert {s for k, s in after.items() if k != ASM} == {StepState.SUCCEEDED}
    assert [e for e in events(engine) if e["type"] == "io.threadline.eco.production_ready.v1"]
    skipped = commands.skip_step(engine, CMP, actor="ana", reason="again")
    assert skipped.outcome == "already_succeeded"


def test_a_command_without_a_reason_or_an_actor_is_refused_and_changes_nothing(
    engine: sa.Engine,
) -> None:
    _fail_both(engine)
    before = len(events(engine))
    with pytest.raises(InvalidCommand, match="reason") as refused:
        commands.skip_step(engine, ASM, actor="ana", reason="")
    assert isinstance(refused.value, SyncError) and isinstance(refused.value, ValueError)
    with pytest.raises(InvalidCommand, match="reason"):
        commands.cancel_eco(engine, ECO, actor="ana", reason="  ")
    with pytest.raises(InvalidCommand, match="actor"):
        commands.retry_step(engine, ASM, actor=" ", reason="x")
    assert len(events(engine)) == before
    assert states(engine, ECO)[ASM] is StepState.BLOCKED


def test_cancelling_an_eco_stops_its_steps_and_is_audited(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    with pytest.raises(ValueError):
        commands.cancel_eco(engine, ECO, actor="ana", reason="")
    result = commands.cancel_eco(engine, ECO, actor="ana", reason="wrong bracket", role="planner")
    assert result.outcome == "cancelled" and result.affected == 11
    assert result.message == f"Cancelled {ECO}: 11 steps stopped, 0 withdrawals scheduled."
    assert set(states(engine, ECO).values()) == {StepState.CANCELLED}
    again = commands.cancel_eco(engine, ECO, actor="ana", reason="again")
    assert again.outcome == "not_allowed"
    assert commands.cancel_eco(engine, "ECO-2026-09999", actor="ana", reason="x").outcome == (
        "not_found"
    )
    cancelled = [e for e in events(engine) if e["type"] == "io.threadline.eco.cancelled.v1"]
    assert cancelled[0]["data"]["cause"] == "operator" and cancelled[0]["data"]["actor"] == "ana"
    assert [a["outcome"] for a in _audits(engine)] == ["cancelled", "not_allowed", "not_found"]
