"""Operations, previews, edit and retry, and inbox problem statuses, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from contracts.events import parse_data
from contracts.steps import StepState
from sync_engine import commands, store, triage
from sync_engine.errors import BusinessError, InvalidCommand, TransientError
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, claim, events, later, receive

ECO = "ECO-2026-00042"
ASM = f"{ECO}/erp.item_revision/-/ASM-1001"
CMP = f"{ECO}/erp.item_revision/-/CMP-2001"


def _fail_both(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    asm, cmp_ = sorted(claim(engine), key=lambda s: s.step_id)
    with engine.begin() as connection:
        store.fail(connection, asm, BusinessError("LOCKED", "locked"), now=T0, next_attempt_at=None)
        store.fail(
            connection, cmp_, TransientError("HTTP_503", "down"), now=T0, next_attempt_at=None
        )


def _events(engine: sa.Engine, kind: str) -> list[dict]:
    found = [e for e in events(engine) if e["type"] == f"io.threadline.operator.{kind}.v1"]
    for event in found:
        parse_data(event["type"], event["data"])
    return [e["data"] for e in found]


def _follow(engine: sa.Engine) -> list[str]:
    with store.writing(engine) as connection:
        return store.follow_operations(connection, now=later(60))


def _operation(engine: sa.Engine, operation_id: str) -> store.Operation:
    with engine.connect() as connection:
        found = store.get_operation(connection, operation_id)
    assert found is not None
    return found


def test_a_group_retry_is_done_only_once_every_step_settled(engine: sa.Engine) -> None:
    _fail_both(engine)
    preview = commands.preview_retry(engine, step_ids=[ASM, CMP])
    assert preview.step_ids == [ASM, CMP] and preview.ecos == [ECO]
    result = commands.retry_previewed(
        engine, preview.step_ids, actor="ana", reason="lock released", role="operator"
    )
    assert result.outcome == "queued" and result.operation_id
    operation_id = result.operation_id
    assert _follow(engine) == []
    assert _operation(engine, operation_id).summary == "queued: 2 queued"
    asm, cmp_ = sorted(claim(engine, later(1)), key=lambda s: s.step_id)
    with engine.begin() as connection:
        store.succeed(connection, asm, now=later(2), external_id="X")
    assert _follow(engine) == []
    running = _operation(engine, operation_id)
    assert running.status is store.OperationStatus.RUNNING
    assert running.summary == "running: 1 succeeded, 1 running"
    with engine.begin() as connection:
        error = BusinessError("INVALID_SUPPLIER_CONTACT", "bounces")
        store.fail(connection, cmp_, error, now=later(3), next_attempt_at=None)
    assert _follow(engine) == [operation_id]
    done = _operation(engine, operation_id)
    assert done.summary == "done: 1 succeeded, 1 failed again (INVALID_SUPPLIER_CONTACT)"
    assert {(s.step_id, s.outcome, s.code) for s in done.steps} == {
        (ASM, StepState.SUCCEEDED, None),
        (CMP, StepState.BLOCKED, "INVALID_SUPPLIER_CONTACT"),
    }
    (completed,) = _events(engine, "operation_completed")
    assert completed["operation_id"] == operation_id and completed["reason"] == "lock released"
    assert (completed["succeeded"], completed["failed_again"]) == (1, 1)
    assert completed["codes"] == {"INVALID_SUPPLIER_CONTACT": 1}
    assert _follow(engine) == []  # finished once
    (audit,) = [a for a in _events(engine, "action") if a["action"] == "retry_bulk"]
    assert audit["operation_id"] == operation_id and audit["reason"] == "lock released"


def test_confirming_a_preview_leaves_out_steps_that_changed_meanwhile(engine: sa.Engine) -> None:
    _fail_both(engine)
    preview = commands.preview_retry(engine, step_ids=[ASM, CMP])
    commands.retry_step(engine, CMP, actor="bo", reason="portal back")
    result = commands.retry_previewed(engine, preview.step_ids, actor="ana", reason="both")
    assert result.step_ids == (ASM,)
    assert result.left_out == {CMP: "changed since the preview: already queued"}
    assert "Left out 1 step that changed meanwhile" in result.message
    again = commands.preview_retry(engine, step_ids=[ASM, CMP])
    assert again.step_ids == [] and set(again.left_alone.values()) == {"already queued"}
    left = _operation(engine, result.operation_id or "").left_out
    assert left == [{"step_id": CMP, "why": "changed since the preview: already queued"}]


def test_every_retry_needs_a_reason(engine: sa.Engine) -> None:
    _fail_both(engine)
    before = len(events(engine))
    for call in (
        lambda: commands.retry_step(engine, ASM, actor="ana", reason=" "),
        lambda: commands.retry_matching(engine, actor="ana", reason="", eco=ECO),
        lambda: commands.retry_previewed(engine, [ASM], actor="ana", reason=""),
        lambda: commands.edit_and_retry(engine, ASM, {}, actor="ana", reason=""),
        lambda: triage.acknowledge(engine, f"step:{ASM}", actor="ana", reason=""),
    ):
        with pytest.raises(InvalidCommand, match="reason"):
            call()
    assert len(events(engine)) == before


def test_edit_and_retry_validates_the_payload_and_keeps_before_and_after(
    engine: sa.Engine,
) -> None:
    _fail_both(engine)
    with engine.connect() as connection:
        step = store.get_step(connection, ASM)
    assert step is not None
    with pytest.raises(InvalidCommand) as refused:
        commands.edit_and_retry(
            engine,
            ASM,
            {"item": "ASM-9999", "revision": 7, "extra": 1},
            actor="ana",
            reason="fix",
        )
    said = str(refused.value)
    assert "revision: Input should be a valid string" in said
    assert "extra: Extra inputs are not permitted" in said
    assert "item: must stay 'ASM-1001'" in said
    edited = {**step.payload, "description": "Bracket, corrected"}
    result = commands.edit_and_retry(engine, ASM, edited, actor="ana", reason="typo in text")
    assert result.outcome == "queued" and result.operation_id
    with engine.connect() as connection:
        after = store.get_step(connection, ASM)
    assert after is not None and after.state is StepState.PENDING
    assert after.payload == edited and after.idempotency_key != step.idempotency_key
    (audit,) = [a for a in _events(engine, "action") if a["action"] == "edit_retry"]
    assert audit["before"] == step.payload and audit["after"] == edited
    succeeded = commands.edit_and_retry(engine, ASM, edited, actor="ana", reason="again")
    assert succeeded.outcome == "not_allowed"


def test_a_problem_is_acknowledged_and_resolves_when_its_step_succeeds(engine: sa.Engine) -> None:
    _fail_both(engine)
    key = store.step_key(ASM)
    triage.acknowledge(engine, key, actor="ana", reason="on it")
    triage.assign(engine, key, "bo", actor="ana", reason="bo knows ERP locks")
    triage.note(engine, key, "asked ERP to release the lock", actor="bo")
    with engine.connect() as connection:
        state = store.problem_states(connection, [key])[key]
    assert (state.status, state.acknowledged_by, state.assignee) == (
        store.ProblemStatus.ACKNOWLEDGED,
        "ana",
        "bo",
    )
    assert [(n.by, n.text) for n in state.notes] == [("bo", "asked ERP to release the lock")]
    with store.writing(engine) as connection:
        assert store.resolve_settled(connection, now=later(5)) == []
    commands.skip_step(engine, ASM, actor="bo", reason="released by hand")
    with store.writing(engine) as connection:
        assert store.resolve_settled(connection, now=later(6)) == [key]
    with engine.connect() as connection:
        resolved = store.problem_states(connection, [key])[key]
    assert resolved.status is store.ProblemStatus.RESOLVED and resolved.resolved_at == later(6)
    actions = [(a["action"], a["actor"], a.get("problem")) for a in _events(engine, "action")]
    assert ("acknowledge", "ana", key) in actions and ("resolve", "engine", key) in actions
    assert ("note", "bo", key) in actions and ("assign", "ana", key) in actions
