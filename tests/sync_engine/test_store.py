from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from contracts import events as ev
from contracts.events import parse_data
from contracts.model import Eco
from contracts.steps import StepKind, StepState, System
from sync_engine import store
from sync_engine import tables as t
from sync_engine.errors import (
    BusinessError,
    ContractError,
    StaleStep,
    TransientError,
    TransitionNotAllowed,
)
from sync_engine.states import ECO_EVENTS, ECO_TRANSITIONS, EcoProgress
from tests.factories import APPROVED_AT, make_eco
from tests.sync_engine.helpers import T0, claim, events, later, receive, run_all, states

ECO = "ECO-2026-00042"


def test_an_eco_is_planned_once_with_an_event_per_step(engine: sa.Engine) -> None:
    assert receive(engine, make_eco())
    assert not receive(engine, make_eco())
    recorded = events(engine)
    assert recorded[0]["type"] == "io.threadline.eco.received.v1"
    assert recorded[0]["data"]["steps"] == 11
    scheduled = [e for e in recorded if e["type"] == "io.threadline.step.scheduled.v1"]
    assert len(scheduled) == 11 and len(recorded) == 12
    assert all(e["data"]["to_state"] == "waiting" for e in scheduled)
    for event in recorded:
        parse_data(event["type"], event["data"])
        assert event["source"] == "/threadline/engine" and event["correlationid"] == ECO
    assert set(states(engine, ECO).values()) == {StepState.WAITING}


def test_only_steps_whose_dependencies_are_done_are_claimed(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    first = claim(engine)
    assert {s.kind for s in first} == {StepKind.ERP_ITEM_REVISION}
    assert all(s.state is StepState.RUNNING and s.attempt == 1 for s in first)
    assert all(s.lease_holder == "h1" and s.lease_until == later(30) for s in first)
    assert claim(engine, holder="h2") == []
    with engine.begin() as connection:
        for step in first:
            store.succeed(connection, step, now=T0)
    second = claim(engine)
    assert {s.kind for s in second} == {
        StepKind.ERP_BOM,
        StepKind.ERP_ROUTING,
        StepKind.SUPPLIER_NOTICE,
    }


def test_a_transition_outside_the_table_or_on_a_changed_step_writes_nothing(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    step = claim(engine)[0]
    before = len(events(engine))
    with engine.begin() as connection:
        with pytest.raises(TransitionNotAllowed):
            store.transition(connection, step, StepState.WAITING, now=T0)
        store.succeed(connection, step, now=T0)
    with engine.begin() as connection, pytest.raises(StaleStep):
        store.succeed(connection, step, now=T0)
    assert len(events(engine)) == before + 1


def test_an_expired_lease_is_reaped_and_the_step_claimed_again(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    first = claim(engine, holder="crashed")
    with engine.begin() as connection:
        assert store.reap_expired(connection, now=later(10)) == []
        reaped = store.reap_expired(connection, now=later(31))
    assert sorted(reaped) == sorted(s.step_id for s in first)
    again = claim(engine, now=later(31), holder="h2")
    assert {s.step_id for s in again} == set(reaped)
    assert all(s.attempt == 2 for s in again)
    # The crashed engine's late answer no longer counts.
    with engine.begin() as connection, pytest.raises(StaleStep):
        store.succeed(connection, first[0], now=later(32))


def test_every_step_done_makes_the_eco_production_ready_once(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    run_all(engine, now=later(60))
    assert set(states(engine, ECO).values()) == {StepState.SUCCEEDED}
    recorded = events(engine)
    ready = [e for e in recorded if e["type"] == "io.threadline.eco.production_ready.v1"]
    assert len(ready) == 1
    assert ready[0]["data"]["plants"] == ["P100", "P200"]
    confirmed = [
        e for e in recorded if e["type"] == "io.threadline.erp.production_version_confirmed.v1"
    ]
    assert {e["data"]["production_version"] for e in confirmed} == {"PV-P100", "PV-P200"}
    changed = [e for e in recorded if e["type"] == "io.threadline.plant.revision_changed.v1"]
    assert {e["subject"] for e in changed} == {"P100/ASM-1001", "P200/ASM-1001"}
    assert [e["_id"] for e in recorded] == sorted(e["_id"] for e in recorded)


def test_failures_retry_dead_letter_or_block(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    asm, cmp_ = sorted(claim(engine), key=lambda s: s.step_id)
    with engine.begin() as connection:
        retrying = store.fail(
            connection,
            asm,
            TransientError("HTTP_503", "down", http_status=503),
            now=T0,
            next_attempt_at=later(5),
        )
        failed = store.fail(
            connection,
            cmp_,
            ContractError("BAD_BODY", "no status", payload={"x": 1}),
            now=T0,
            next_attempt_at=None,
        )
    assert retrying.state is StepState.RETRYING and failed.state is StepState.FAILED
    assert claim(engine, now=later(4)) == []
    (again,) = claim(engine, now=later(5))
    assert again.step_id == asm.step_id and again.attempt == 2
    with engine.begin() as connection:
        blocked = store.fail(
            connection,
            again,
            BusinessError("ITEM_LOCKED", "locked", http_status=422),
            now=later(6),
            next_attempt_at=later(9),
        )
        letters = connection.execute(sa.select(t.dead_letters).order_by(t.dead_letters.c.id)).all()
    assert blocked.state is StepState.BLOCKED
    assert blocked.fingerprint == "erp.item_revision:ITEM_LOCKED"
    # A dead letter and a business rejection each keep the call that stopped the step.
    assert [(d.step_id, d.code, d.response) for d in letters] == [
        (cmp_.step_id, "BAD_BODY", {"body": {"x": 1}}),
        (asm.step_id, "ITEM_LOCKED", None),
    ]
    kinds = [e["type"].split(".")[3] for e in events(engine)[12:]]
    assert kinds == [
        "scheduled",
        "scheduled",
        "started",
        "started",
        "retrying",
        "failed",
        "started",
        "blocked",
    ]


def test_a_later_eco_on_the_same_item_waits_for_the_earlier_one(engine: sa.Engine) -> None:
    first = make_eco()
    second = make_eco(
        number="ECO-2026-00043",
        approved_at=(first.approved_at + timedelta(hours=1)).isoformat(),
        affected_items=[{"item": "ASM-1001", "old_revision": "C", "new_revision": "D"}],
        bom_changes=[],
        routing_changes=[],
        suppliers=[],
    )
    receive(engine, second)
    receive(engine, first)
    claimed = claim(engine)
    assert {s.eco for s in claimed} == {ECO}
    with engine.begin() as connection:
        for step in claimed:
            store.succeed(connection, step, now=T0)
    claimed = claim(engine)
    # The later ECO's global release may go once the earlier release is final ...
    assert "ECO-2026-00043/erp.item_revision/-/ASM-1001" in {s.step_id for s in claimed}
    with engine.begin() as connection:
        for step in claimed:
            store.succeed(connection, step, now=T0)
    run_all(engine)
    assert set(states(engine, ECO).values()) == {StepState.SUCCEEDED}
    assert set(states(engine, "ECO-2026-00043").values()) == {StepState.SUCCEEDED}
    started = [
        (e["data"]["kind"], e["data"]["eco"])
        for e in events(engine)
        if e["type"] == "io.threadline.step.started.v1" and e["data"].get("plant") == "P100"
    ]
    # ... and at each plant every kind of step of the earlier ECO starts first.
    for kind in {k for k, _ in started}:
        ecos = [eco for k, eco in started if k == kind]
        assert ecos == sorted(ecos), (kind, ecos)
    assert {k for k, eco in started if eco == "ECO-2026-00043"} == {
        "erp.production_version",
        "erp.confirmation",
    }


LATER = "ECO-2026-00043"


def _later_eco(**overrides: object) -> Eco:
    """An ECO on ASM-1001 alone, approved an hour after the example ECO, to D."""
    data: dict[str, object] = {
        "number": LATER,
        "approved_at": (APPROVED_AT + timedelta(hours=1)).isoformat(),
        "affected_items": [{"item": "ASM-1001", "old_revision": "C", "new_revision": "D"}],
        "bom_changes": [],
        "routing_changes": [],
        "suppliers": [],
    }
    return make_eco(**(data | overrides))


RELEASE = f"{ECO}/erp.item_revision/-/ASM-1001"
LATER_RELEASE = f"{LATER}/erp.item_revision/-/ASM-1001"


@pytest.mark.parametrize(
    "error",
    [ContractError("BAD_BODY", "no status"), BusinessError("ITEM_LOCKED", "locked")],
    ids=["failed", "blocked"],
)
@pytest.mark.parametrize("resolution", ["retried", "skipped", "cancelled"])
def test_a_failed_or_blocked_earlier_step_holds_the_later_ecos_until_it_is_resolved(
    engine: sa.Engine, error: ContractError | BusinessError, resolution: str
) -> None:
    receive(engine, make_eco())
    receive(engine, _later_eco())
    first = {s.step_id: s for s in claim(engine)}
    assert LATER_RELEASE not in first
    with engine.begin() as connection:
        store.fail(connection, first[RELEASE], error, now=T0, next_attempt_at=None)
        for step in first.values():
            if step.step_id != RELEASE:
                store.succeed(connection, step, now=T0)
    # Were the later release to go now, a retry of the earlier one would write C over D.
    assert LATER_RELEASE not in {s.step_id for s in claim(engine, now=later(1))}
    with engine.connect() as connection:
        assert store.waiting_behind(connection, [LATER_RELEASE]) == {LATER_RELEASE: ECO}
        assert store.waiting_behind(connection, [RELEASE]) == {}
    with engine.begin() as connection:
        (held,) = store.find_steps(connection, step_ids=[RELEASE])
        if resolution == "retried":
            store.requeue(connection, held, now=later(2), actor="ops", reason="fixed")
        elif resolution == "skipped":
            store.skip(connection, held, now=later(2), actor="ops", reason="released by hand")
        else:
            store.cancel_eco(connection, ECO, now=later(2), cause="operator", reason="dropped")
    run_all(engine, now=later(3))
    with engine.connect() as connection:
        assert store.eco_states(connection)[LATER] == EcoProgress.PRODUCTION_READY
    releases = [
        (e["data"]["eco"], e["data"]["to_state"])
        for e in events(engine)
        if e["data"].get("step_id") in {RELEASE, LATER_RELEASE}
        and e["data"]["to_state"] in {"running", "succeeded"}
    ]
    # The retried earlier release went first and succeeded before the later one started.
    earlier = [(ECO, "running"), (ECO, "running"), (ECO, "succeeded")]
    expected = [*earlier[: 3 if resolution == "retried" else 1], (LATER, "running")]
    assert releases == [*expected, (LATER, "succeeded")]


def test_a_step_older_than_what_its_target_has_is_skipped_as_superseded(
    engine: sa.Engine,
) -> None:
    # Approved first, the ECO to D; the stale ECO to C is approved an hour later.
    newer = _later_eco(approved_at=APPROVED_AT.isoformat())
    stale = make_eco(
        approved_at=(APPROVED_AT + timedelta(hours=1)).isoformat(),
        affected_items=[{"item": "ASM-1001", "old_revision": "B", "new_revision": "C"}],
        suppliers=[],
    )
    receive(engine, newer)
    run_all(engine)
    receive(engine, stale)
    run_all(engine)
    with engine.connect() as connection:
        assert store.eco_states(connection) == {
            LATER: EcoProgress.PRODUCTION_READY,
            ECO: EcoProgress.PRODUCTION_READY,
        }
        # A PLM page asks only about its own ECOs; one PLM never sent is simply unknown.
        assert store.eco_states(connection, [ECO, "ECO-2026-99999"]) == {
            ECO: EcoProgress.PRODUCTION_READY
        }
        skipped = store.steps_of(connection, ECO)
    assert {s.state for s in skipped} == {StepState.SKIPPED}
    recorded = events(engine)
    started = {e["data"]["eco"] for e in recorded if e["type"] == "io.threadline.step.started.v1"}
    assert started == {LATER}, "nothing of the stale ECO was sent"
    reasons = {
        e["data"]["step_id"]: (e["data"]["reason"], e["data"]["actor"])
        for e in recorded
        if e["type"] == "io.threadline.step.skipped.v1"
    }
    assert reasons[RELEASE] == ("superseded: ASM-1001 already at D (ECO-2026-00043)", "engine")
    assert reasons[f"{ECO}/erp.bom/P100/ASM-1001"] == (
        "superseded: P100/ASM-1001 already at D (ECO-2026-00043)",
        "engine",
    )
    assert set(reasons) == {s.step_id for s in skipped}
    assert all(actor == "engine" and r.startswith("superseded: ") for r, actor in reasons.values())


def test_a_due_step_whose_target_moved_on_is_skipped_instead_of_claimed(
    engine: sa.Engine,
) -> None:
    receive(engine, _later_eco(number=ECO, approved_at=APPROVED_AT.isoformat()))
    with engine.begin() as connection:
        store.promote_ready(connection, now=T0, limit=10)
        # Reconciliation read P100's ERP at E: changed outside Threadline meanwhile.
        store.observe_revision(connection, "P100", "ASM-1001", System.ERP, "E", now=T0)
    run_all(engine)
    with engine.connect() as connection:
        steps = {s.step_id: s for s in store.steps_of(connection, ECO)}
    p100 = [s for s in steps.values() if s.plant == "P100"]
    assert p100 and {s.state for s in p100} == {StepState.SKIPPED}
    assert {s.state for s in steps.values() if s.plant != "P100"} == {StepState.SUCCEEDED}
    skipped = [e for e in events(engine) if e["type"] == "io.threadline.step.skipped.v1"]
    assert {e["data"]["reason"] for e in skipped} == {
        "superseded: P100/ASM-1001 already at E in ERP"
    }


def test_cancelling_withdraws_only_bom_versions_not_yet_effective(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    released = claim(engine)
    with engine.begin() as connection:
        for step in released:
            store.succeed(connection, step, now=T0)
    boms = [s for s in claim(engine) if s.kind is StepKind.ERP_BOM]
    with engine.begin() as connection:
        store.succeed(connection, boms[0], now=T0, external_id="B1", external_status="scheduled")
        store.succeed(connection, boms[1], now=T0, external_id="B2", external_status="effective")
        cancelled, withdrawals = store.cancel_eco(
            connection, ECO, now=T0, cause="plm_cancelled", reason="cancelled in PLM"
        ) or ([], 0)
        assert store.cancel_eco(connection, ECO, now=T0, cause="operator", reason="x") is None
    assert withdrawals == 1
    after = states(engine, ECO)
    withdrawal = f"{ECO}/erp.bom_withdrawal/{boms[0].plant}/ASM-1001"
    assert after[withdrawal] is StepState.PENDING
    # The still-running routing and notice are stopped when their calls return.
    running = [sid for sid, state in after.items() if state is StepState.RUNNING]
    assert len(running) == 2
    assert all(
        state is StepState.CANCELLED
        for sid, state in after.items()
        if sid not in running and sid != withdrawal and state is not StepState.SUCCEEDED
    )
    (claimed,) = claim(engine)
    assert claimed.step_id == withdrawal and claimed.payload == {"bom_id": "B1"}
    with engine.begin() as connection:
        step = store.get_step(connection, running[0])
        assert step is not None
        late = store.fail(
            connection, step, TransientError("TIMEOUT", "slow"), now=T0, next_attempt_at=later(1)
        )
    assert late.state is StepState.CANCELLED
    cancelled_event = [e for e in events(engine) if e["type"] == "io.threadline.eco.cancelled.v1"]
    assert cancelled_event[0]["data"]["withdrawals"] == 1
    assert cancelled_event[0]["data"]["cancelled_steps"] == len(cancelled) == 5


def test_the_eco_lifecycle_table_names_every_state_and_the_event_of_each() -> None:
    assert set(ECO_TRANSITIONS) == {None, *EcoProgress}
    assert set(ECO_EVENTS) == set(EcoProgress)
    assert ECO_TRANSITIONS[EcoProgress.CANCELLED] == set()
    # A refused ECO PLM corrects is planned, or refused again.
    assert ECO_TRANSITIONS[EcoProgress.REJECTED] == {EcoProgress.IN_PROGRESS, EcoProgress.REJECTED}


def test_an_eco_moves_only_along_its_lifecycle_table(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    before = len(events(engine))
    rejected = ev.EcoRejected(eco=ECO, violations=[ev.Violation(path="-", message="x")])
    cancelled = ev.EcoCancelled(eco=ECO, cause="operator", reason="x")
    with engine.begin() as connection:
        assert store.eco_progress(connection, ECO) is EcoProgress.IN_PROGRESS
        with pytest.raises(TransitionNotAllowed):
            store.move_eco(
                connection, ECO, EcoProgress.IN_PROGRESS, EcoProgress.REJECTED, rejected, now=T0
            )
        with pytest.raises(TypeError):
            store.move_eco(
                connection, ECO, EcoProgress.IN_PROGRESS, EcoProgress.CANCELLED, rejected, now=T0
            )
        # Read in a state it is no longer in: nothing is written.
        old = EcoProgress.PRODUCTION_READY
        assert not store.move_eco(
            connection, ECO, old, EcoProgress.CANCELLED, cancelled, now=T0, cancelled_at=T0
        )
    assert len(events(engine)) == before
    run_all(engine)
    with engine.begin() as connection:
        assert store.eco_states(connection) == {ECO: EcoProgress.PRODUCTION_READY}
        assert store.cancel_eco(connection, ECO, now=T0, cause="operator", reason="x")
        assert store.eco_progress(connection, ECO) is EcoProgress.CANCELLED
        row = store.eco_row(connection, ECO)
        assert row is not None and row.cancelled_at == T0 and row.production_ready_at == T0
    ends = [e["type"] for e in events(engine) if e["type"].startswith("io.threadline.eco.")]
    assert ends == [
        "io.threadline.eco.received.v1",
        "io.threadline.eco.production_ready.v1",
        "io.threadline.eco.cancelled.v1",
    ]


def test_the_relay_reads_undelivered_events_in_order(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    with engine.begin() as connection:
        batch = store.undelivered(connection, after=0, limit=5)
        assert [i for i, _ in batch] == sorted(i for i, _ in batch) and len(batch) == 5
        store.mark_delivered(connection, [i for i, _ in batch], T0)
        rest = store.undelivered(connection, after=0, limit=100)
        assert len(rest) == 7 and rest[0][0] > batch[-1][0]
        assert store.outbox_backlog(connection) == 7
