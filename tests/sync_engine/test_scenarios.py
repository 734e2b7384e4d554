"""The issue's "done when" scenarios, against the real simulators over loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr

from collector.app import create_app, create_engine_for_collector
from collector.auth import ProducerGrant, Tokens
from collector.store import EventStore
from collector.tables import events
from contracts.steps import COMPENSATION_KINDS, StepKind, StepState, System
from simulators.testing import free_port, running_simulators
from sync_engine import commands, store
from sync_engine.errors import EngineAlreadyRunning
from sync_engine.retry import RetryPolicy
from sync_engine.testing import FAST_RETRY, running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    assert_exactly_once,
    burst,
    ledger,
    set_faults,
    wait_until,
    world,
)
from threadline.migrate import upgrade

FAST = {system: FAST_RETRY for system in System}
# Where a notice ends: sent, refused by the supplier's contact, or out of retries.
SETTLED_NOTICE = {StepState.SUCCEEDED, StepState.BLOCKED, StepState.FAILED}

CONFIRMATION_DELAY = 0.3


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=CONFIRMATION_DELAY) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


@pytest.fixture
def db_pg(postgres: Any) -> Iterator[tuple[str, Db]]:
    name = postgres.migrated()
    url = postgres.url(name)
    reader = Db(url)
    yield url, reader
    reader.close()
    postgres.drop(name)


def test_twenty_ecos_without_faults_reach_production_exactly_once(
    sims: str, database_url: str, db: Db
) -> None:
    numbers = burst(sims, 20)
    activate_inactive_work_centers(sims, numbers)
    port = free_port()
    with running_engine(database_url, sims, metrics_port=port, reap_interval=0.2):
        wait_until(lambda: db.ready(numbers), 60, "20 ECOs production-ready")
        time.sleep(0.3)  # one more reap refreshes the gauges
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    succeeded = len(db.steps(states=[StepState.SUCCEEDED]))
    assert f'threadline_engine_steps{{state="succeeded"}} {float(succeeded)}' in metrics
    assert 'threadline_engine_call_seconds_count{system="erp"}' in metrics
    entries = assert_exactly_once(sims, db)
    assert any(e["system"] == "mes" for e in entries)
    ready = [e for e in db.events() if e["type"] == "io.threadline.eco.production_ready.v1"]
    assert sorted(e["subject"] for e in ready) == sorted(numbers)


def test_a_flaky_erp_with_timeouts_still_applies_everything_once(
    sims: str, database_url: str, db: Db
) -> None:
    numbers = burst(sims, 10)
    activate_inactive_work_centers(sims, numbers)
    set_faults(
        sims,
        {
            "erp": {
                "error_rate": 0.3,
                "timeout_rate": 0.05,
                "timeout_seconds": 2,
                "confirmation_delay_seconds": CONFIRMATION_DELAY,
            }
        },
    )
    retry = RetryPolicy(max_attempts=25, base_delay=0.02, max_delay=0.2)
    with running_engine(database_url, sims, http_timeout=0.5, retry={s: retry for s in System}):
        wait_until(lambda: db.ready(numbers), 90, "10 ECOs production-ready")
    assert_exactly_once(sims, db)
    kinds = {e["type"] for e in db.events()}
    assert "io.threadline.step.retrying.v1" in kinds
    codes = {s.last_error_code for s in db.steps() if s.last_error_code}
    assert "TIMEOUT" in codes and codes & {"SERVICE_UNAVAILABLE", "INTERNAL_ERROR"}


def test_an_inactive_work_center_blocks_its_plant_until_an_operator_retries(
    sims: str, database_url: str, db: Db
) -> None:
    (number,) = burst(sims, 1, inactive_work_center_plant="P100", suppliers=[])
    eco = httpx.get(f"{sims}/plm/ecos/{number}").json()["eco"]
    assert len(eco["plants"]) > 1, "the shape should touch more than the blocked plant"
    with running_engine(database_url, sims) as engine:

        def settled() -> bool:
            steps = db.steps(eco=number)
            blocked = [s for s in steps if s.state is StepState.BLOCKED]
            others = [s for s in steps if s.plant not in ("P100", None)]
            return len(blocked) == 1 and all(s.state is StepState.SUCCEEDED for s in others)

        wait_until(settled, 30, "the other plants to finish and P100 to block")
        (blocked,) = db.steps(eco=number, states=[StepState.BLOCKED])
        assert blocked.kind is StepKind.ERP_ROUTING and blocked.plant == "P100"
        assert blocked.last_error_code == "WORK_CENTER_INACTIVE"
        assert blocked.fingerprint == "erp.routing:WORK_CENTER_INACTIVE"
        waiting = db.steps(eco=number, plant="P100", states=[StepState.WAITING])
        assert {s.kind for s in waiting} >= {StepKind.ERP_PRODUCTION_VERSION}
        requested = [
            e
            for e in ledger(sims, "erp")
            if e["operation"] == "production_version.request" and e["plant"] == "P100"
        ]
        assert requested == [], "no production version may be requested at a blocked plant"
        assert not db.ready([number])

        work_center = next(
            op["work_center"]
            for change in eco["routing_changes"]
            if change["plant"] == "P100"
            for op in change["operations"]
            if f"{op['work_center']} at P100 is inactive" in (blocked.last_error_message or "")
        )
        httpx.post(f"{sims}/erp/plants/P100/work-centers/{work_center}/activate").raise_for_status()
        result = commands.retry_step(
            engine.db, blocked.step_id, actor="planner@example.com", reason="work center active"
        )
        assert result.outcome == "queued"
        wait_until(lambda: db.ready([number]), 30, "the ECO to finish after the retry")
    assert_exactly_once(sims, db)


def test_notices_fail_while_the_portal_is_down_and_one_bulk_retry_sends_each_once(
    sims: str, database_url: str, db: Db
) -> None:
    suppliers = [
        s["code"]
        for s in world(sims)["suppliers"]
        if not s["unreliable_portal"] and not s["invalid_contact"]
    ][:3]
    set_faults(sims, {"procurement": {"outage_seconds": 3600}})
    numbers = burst(sims, 3, suppliers=suppliers)
    activate_inactive_work_centers(sims, numbers)
    notice = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, max_retry_after=0.1)
    with running_engine(database_url, sims, retry={**FAST, System.PROCUREMENT: notice}) as engine:

        def all_failed() -> bool:
            steps = db.steps(kind=StepKind.SUPPLIER_NOTICE)
            return len(steps) == 9 and all(s.state is StepState.FAILED for s in steps)

        wait_until(all_failed, 30, "every notice to fail")
        wait_until(lambda: db.ready(numbers), 30, "the plants to finish regardless")
        assert [e for e in ledger(sims, "procurement")] == []
        failed = db.steps(kind=StepKind.SUPPLIER_NOTICE)
        assert {s.attempt for s in failed} == {3}
        assert {s.fingerprint for s in failed} == {
            "procurement.supplier_notice:SERVICE_UNAVAILABLE"
        }

        set_faults(sims, {"procurement": {"unreliable_portal_rate": 0}})
        result = commands.retry_matching(
            engine.db,
            actor="buyer@example.com",
            reason="portal back",
            fingerprint="procurement.supplier_notice:SERVICE_UNAVAILABLE",
        )
        assert (result.outcome, result.affected) == ("queued", 9)

        def all_settled() -> bool:
            with db.engine.connect() as connection:
                if store.sourcing_pending(connection):
                    return False  # the approved-list suppliers are still to be added
            steps = db.steps(kind=StepKind.SUPPLIER_NOTICE)
            return all(s.state in SETTLED_NOTICE for s in steps)

        wait_until(all_settled, 30, "every notice to be sent")
    notices = db.steps(kind=StepKind.SUPPLIER_NOTICE)
    delivered = {(s.supplier, s.eco) for s in notices if s.state is StepState.SUCCEEDED}
    # PLM's suppliers got theirs once the portal was back; so did the suppliers the approved
    # lists add once procurement answered again (those whose contact works).
    assert {(s, n) for n in numbers for s in suppliers} <= delivered
    sent = [e for e in ledger(sims, "procurement") if e["operation"] == "notice.send"]
    assert sorted((e["supplier"], e["eco"]) for e in sent) == sorted(delivered)
    assert_exactly_once(sims, db)


def test_a_second_engine_on_sqlite_refuses_to_start(sims: str, tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'one.db'}"
    upgrade(url)
    with running_engine(url, sims), pytest.raises(EngineAlreadyRunning, match="one engine"):
        with running_engine(url, sims):
            pass


@pytest.mark.postgres
def test_two_engines_on_postgresql_share_the_work_and_claim_nothing_twice(
    sims: str, postgres: Any, db_pg: tuple[str, Db]
) -> None:
    url, reader = db_pg
    numbers = burst(sims, 20)
    activate_inactive_work_centers(sims, numbers)
    with running_engine(url, sims) as first, running_engine(url, sims) as second:
        wait_until(lambda: reader.ready(numbers), 60, "20 ECOs production-ready")
        calls = [
            sum(
                s.value
                for m in e.metrics.calls.collect()
                for s in m.samples
                if s.name.endswith("_total")
            )
            for e in (first, second)
        ]
    assert all(c > 0 for c in calls), f"both engines should work: {calls}"
    assert_exactly_once(sims, reader)
    claims: dict[str, list[int]] = {}
    for event in reader.events():
        if event["type"] == "io.threadline.step.started.v1":
            claims.setdefault(event["data"]["step_id"], []).append(event["data"]["attempt"])
    steps = reader.steps()
    # Every claim is a new attempt (1, 2, ...): no attempt was claimed by both engines.
    assert claims == {s.step_id: list(range(1, s.attempt + 1)) for s in steps if s.attempt}
    assert sum(len(c) for c in claims.values()) == sum(calls)


def test_cancelling_an_eco_withdraws_the_bom_versions_it_wrote(
    sims: str, database_url: str, db: Db
) -> None:
    set_faults(sims, {"erp": {"confirmation_delay_seconds": 600}})
    (number,) = burst(sims, 1, effectivity_days=30, suppliers=[])
    activate_inactive_work_centers(sims, [number])
    with running_engine(database_url, sims):

        def awaiting() -> bool:
            steps = db.steps(eco=number, kind=StepKind.ERP_CONFIRMATION)
            return bool(steps) and all(s.state is StepState.AWAITING_CONFIRMATION for s in steps)

        wait_until(awaiting, 30, "every confirmation to be awaited")
        boms = db.steps(eco=number, kind=StepKind.ERP_BOM)
        assert boms and all(s.external_status == "scheduled" for s in boms)
        httpx.post(f"{sims}/_admin/ecos/{number}/cancel").raise_for_status()

        def withdrawn() -> bool:
            return len([e for e in ledger(sims, "erp") if e["operation"] == "bom.withdraw"]) == len(
                boms
            )

        wait_until(withdrawn, 30, "every BOM version to be withdrawn")
        wait_until(lambda: db.eco_states()[number] == "cancelled", 10, "the ECO to stop")
    withdrawals = [e for e in ledger(sims, "erp") if e["operation"] == "bom.withdraw"]
    assert sorted(e["bom_id"] for e in withdrawals) == sorted(s.external_id for s in boms)
    states = {s.kind: s.state for s in db.steps(eco=number)}
    assert states[StepKind.ERP_CONFIRMATION] is StepState.CANCELLED
    assert states[StepKind.ERP_BOM_WITHDRAWAL] is StepState.SUCCEEDED
    cancelled = [e for e in db.events() if e["type"] == "io.threadline.eco.cancelled.v1"]
    assert [e["data"]["cause"] for e in cancelled] == ["plm_cancelled"]
    # BOM versions, and the routings and production versions ERP had not made effective.
    withdrawal_steps = [s for s in db.steps(eco=number) if s.kind in COMPENSATION_KINDS]
    assert cancelled[0]["data"]["withdrawals"] == len(withdrawal_steps) > len(boms)
    assert_exactly_once(sims, db)


def test_two_ecos_on_the_same_item_are_applied_in_approval_order(
    sims: str, database_url: str, db: Db
) -> None:
    assembly = next(i["number"] for i in world(sims)["items"] if i["kind"] == "assembly")
    first = burst(sims, 1, items=[assembly], suppliers=[])
    second = burst(sims, 1, items=[assembly], suppliers=[])
    numbers = first + second
    activate_inactive_work_centers(sims, numbers)
    with running_engine(database_url, sims):
        wait_until(lambda: db.ready(numbers), 30, "both ECOs production-ready")
    entries = [e for e in assert_exactly_once(sims, db) if e.get("item") == assembly]
    revisions = {
        n: httpx.get(f"{sims}/plm/ecos/{n}").json()["eco"]["affected_items"][0]["new_revision"]
        for n in numbers
    }
    old, new = revisions[first[0]], revisions[second[0]]
    releases = [e["revision"] for e in entries if e["operation"] == "item_revision.release"]
    assert releases == [old, new]
    for plant in {e["plant"] for e in entries if e["plant"]}:
        for operation in {e["operation"] for e in entries}:
            applied = [
                e["revision"]
                for e in entries
                if e["plant"] == plant and e["operation"] == operation
            ]
            assert applied == sorted(applied, key=lambda r: (len(r), r)), (operation, applied)
        revisions_now = httpx.get(f"{sims}/erp/plants/{plant}/revisions").json()["revisions"]
        assert revisions_now[assembly] == new


def _engine_process(database_url: str, sims: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_PLM_URL": f"{sims}/plm",
        "THREADLINE_ERP_URL": f"{sims}/erp",
        "THREADLINE_MES_URL": f"{sims}/mes",
        "THREADLINE_PROCUREMENT_URL": f"{sims}/procurement",
        "THREADLINE_COLLECTOR_URL": "",
        "THREADLINE_ENGINE_PLM_POLL_INTERVAL": "0.2",
        "THREADLINE_ENGINE_DISPATCH_INTERVAL": "0.05",
        "THREADLINE_ENGINE_CONFIRMATION_INTERVAL": "0.1",
        "THREADLINE_ENGINE_REAP_INTERVAL": "0.4",
        "THREADLINE_ENGINE_LEASE_SECONDS": "2",
        "THREADLINE_ENGINE_HTTP_TIMEOUT": "2",
        "THREADLINE_ENGINE_RETRY_POLICIES": json.dumps(
            {s.value: {"base_delay": 0.05, "max_delay": 0.5} for s in System}
        ),
        "THREADLINE_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "threadline", "engine", "run", "--metrics-port", "0"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_an_engine_killed_mid_run_is_replaced_without_duplicate_effects(
    sims: str, database_url: str, db: Db, tmp_path: Path
) -> None:
    set_faults(
        sims,
        {
            "erp": {"latency_ms": 150, "confirmation_delay_seconds": CONFIRMATION_DELAY},
            "mes": {"latency_ms": 150},
        },
    )
    numbers = burst(sims, 10)
    activate_inactive_work_centers(sims, numbers)
    process = _engine_process(database_url, sims, tmp_path / "engine.log")
    try:

        def mid_run() -> bool:
            states = [s.state for s in db.steps()]
            return states.count(StepState.SUCCEEDED) > 20 and StepState.RUNNING in states

        wait_until(mid_run, 30, "the engine to be mid-run")
        assert process.poll() is None, (tmp_path / "engine.log").read_text()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    orphaned = db.steps(states=[StepState.RUNNING])
    assert orphaned, "the killed engine left steps under its lease"
    assert not db.ready(numbers)
    # The dead engine's leases (its SQLite engine lease included) run out first.
    time.sleep(3)
    with running_engine(database_url, sims, lease_seconds=2.0):
        wait_until(lambda: db.ready(numbers), 60, "a new engine to finish the work")
    assert_exactly_once(sims, db)
    reclaimed = {s.step_id for s in orphaned}
    lease_events = [
        e
        for e in db.events()
        if e["type"] == "io.threadline.step.scheduled.v1"
        and "expired" in (e["data"].get("reason") or "")
    ]
    assert {e["data"]["step_id"] for e in lease_events} >= reclaimed


@contextlib.contextmanager
def _collector_on(port: int, database_url: str, token: str) -> Iterator[str]:
    """The real collector on a port chosen in advance (the engine already points at it)."""
    engine = create_engine_for_collector(database_url)
    grants = {
        token: ProducerGrant(
            producer="engine", sources=("/threadline/",), types=("io.threadline.",)
        )
    }
    app = create_app(EventStore(engine), Tokens(grants))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="collector", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 15, "the collector to start", step=0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        engine.dispose()


def test_events_wait_out_a_collector_outage_and_arrive_once_in_order(
    sims: str, database_url: str, dialect: str, db: Db
) -> None:
    # The full minute once; SQLite repeats the same path with a shorter outage.
    downtime = 60.0 if dialect == "postgresql" else 12.0
    token = "engine-token-for-tests"
    port = free_port()
    numbers = burst(sims, 5, suppliers=[])
    activate_inactive_work_centers(sims, numbers)
    started = time.monotonic()
    with running_engine(
        database_url,
        sims,
        collector_url=f"http://127.0.0.1:{port}",
        collector_token=SecretStr(token),
        relay_batch=50,
    ) as engine:
        wait_until(lambda: db.ready(numbers), 30, "the ECOs to finish while the collector is down")
        relay = engine.relay_worker
        assert relay is not None
        # The relay backs off between attempts; between two pauses it is briefly trying again.
        wait_until(lambda: relay.paused, 5, "the relay to back off", step=0.02)
        time.sleep(max(0.0, downtime - (time.monotonic() - started)))
        with _collector_on(port, database_url, token):

            def delivered() -> bool:
                with db.engine.connect() as connection:
                    return store.outbox_backlog(connection) == 0

            wait_until(delivered, 30, "the outbox to drain")
    outbox = db.events()
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.id, events.c.sequence)
            .where(events.c.source == "/threadline/engine")
            .order_by(events.c.seq)
        ).all()
    assert [r.id for r in rows] == [e["id"] for e in outbox], "each event once, in order"
    sequences = [r.sequence for r in rows]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    types = {e["type"] for e in outbox}
    assert "io.threadline.eco.production_ready.v1" in types
