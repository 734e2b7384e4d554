"""A group retry's operation against the real simulators: it ends only once every step
answered, and its counts are what the simulators' ledger shows applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.steps import StepKind, StepState, System
from simulators.testing import running_simulators
from sync_engine import commands, store
from sync_engine.retry import RetryPolicy
from sync_engine.testing import FAST_RETRY, running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    burst,
    ledger,
    set_faults,
    wait_until,
    world,
)

DOWN = "procurement.supplier_notice:SERVICE_UNAVAILABLE"


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.3) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def test_a_group_retry_ends_with_the_counts_the_ledger_shows(
    sims: str, database_url: str, db: Db
) -> None:
    suppliers = world(sims)["suppliers"]
    good = [s["code"] for s in suppliers if not s["unreliable_portal"] and not s["invalid_contact"]]
    bouncing = next(s["code"] for s in suppliers if s["invalid_contact"])
    chosen = [*good[:2], bouncing]
    set_faults(sims, {"procurement": {"outage_seconds": 3600}})
    numbers = burst(sims, 2, suppliers=chosen)
    activate_inactive_work_centers(sims, numbers)
    notice = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.1, max_retry_after=0.1)
    retry = {**{s: FAST_RETRY for s in System}, System.PROCUREMENT: notice}
    with running_engine(database_url, sims, retry=retry) as engine:

        def all_down() -> bool:
            steps = db.steps(kind=StepKind.SUPPLIER_NOTICE)
            return len(steps) == 6 and all(s.fingerprint == DOWN for s in steps)

        wait_until(all_down, 30, "every notice to fail while the portal is down")
        wait_until(
            lambda: all(
                s.state is StepState.FAILED for s in db.steps(kind=StepKind.SUPPLIER_NOTICE)
            ),
            30,
            "every notice to be dead-lettered",
        )
        preview = commands.preview_retry(engine.db, fingerprint=DOWN)
        assert len(preview.touch) == 6 and preview.suppliers == sorted(chosen)
        set_faults(sims, {"procurement": {"outage_seconds": 0}})
        result = commands.retry_previewed(
            engine.db, preview.step_ids, actor="buyer@example.com", reason="portal back"
        )
        assert result.operation_id is not None

        def finished() -> store.Operation | None:
            with engine.db.connect() as connection:
                found = store.get_operation(connection, result.operation_id or "")
            return found if found and found.status is store.OperationStatus.DONE else None

        done = wait_until(finished, 30, "the operation to end")
    assert done.summary == "done: 4 succeeded, 2 failed again (INVALID_SUPPLIER_CONTACT)"
    by_id = {s.step_id: s for s in db.steps(kind=StepKind.SUPPLIER_NOTICE)}
    succeeded = {
        (by_id[s.step_id].supplier, by_id[s.step_id].eco)
        for s in done.steps
        if s.outcome is StepState.SUCCEEDED
    }
    applied = {(e["supplier"], e["eco"]) for e in ledger(sims, "procurement")}
    assert succeeded == applied and len(applied) == 4
    bounced = {
        (by_id[s.step_id].supplier, s.code) for s in done.steps if s.outcome is StepState.BLOCKED
    }
    assert bounced == {(bouncing, "INVALID_SUPPLIER_CONTACT")}
    completed = [
        e["data"]
        for e in db.events()
        if e["type"] == "io.threadline.operator.operation_completed.v1"
    ]
    assert [(c["succeeded"], c["failed_again"]) for c in completed] == [(4, 2)]
