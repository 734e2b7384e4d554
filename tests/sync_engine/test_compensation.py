"""Cancelling an ECO mid-propagation takes back exactly what is not yet effective.

Real simulators and the engine over loopback, a real collector on the same database; the
truth is what ERP, MES and procurement report (their ledger and APIs), compared as sets.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from collector.testing import running_collector
from contracts.steps import COMPENSATION_KINDS, StepKind, StepState
from dashboards.ecos import left_effective
from simulators.testing import running_simulators
from simulators.world import build_world
from sync_engine import commands, store
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import Db, admin, burst, ledger, set_faults, wait_until, world

SEED = 11
TOKEN = "engine-token-for-compensation"
GRANT = {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]}
# What each write's ledger entry names it by, and the entry that takes it back.
WRITES = {
    "bom.create": ("bom_id", "bom.withdraw", StepKind.ERP_BOM),
    "routing.create": ("routing_id", "routing.withdraw", StepKind.ERP_ROUTING),
    "production_version.request": (
        "production_version",
        "production_version.withdraw",
        StepKind.ERP_PRODUCTION_VERSION,
    ),
}


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=SEED, confirmation_delay=0.3) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def _shape(sims: str) -> tuple[str, str, str, list[str]]:
    """An assembly routed at two plants (so the ECO changes its routing at both), the two
    plants, and suppliers whose portals answer."""
    routed: dict[str, list[str]] = {}
    for routing in build_world(SEED).routings.values():
        routed.setdefault(routing.item, []).append(routing.plant)
    shape = world(sims)
    assembly, plants = next(
        (i["number"], sorted(routed[i["number"]])[:2])
        for i in shape["items"]
        if i["kind"] == "assembly" and len(routed.get(i["number"], ())) >= 2
    )
    suppliers = [
        s["code"]
        for s in shape["suppliers"]
        if not s["unreliable_portal"] and not s["invalid_contact"]
    ][:2]
    return assembly, plants[0], plants[1], suppliers


def _inactive_work_centers(sims: str, number: str, plant: str) -> list[str]:
    with admin(sims) as client:
        inactive = {
            (w["plant"], w["code"])
            for w in client.get("/plm/world").json()["work_centers"]
            if not w["active"]
        }
        eco = client.get(f"/plm/ecos/{number}").json()["eco"]
    return sorted(
        {
            op["work_center"]
            for change in eco["routing_changes"]
            if change["plant"] == plant
            for op in change["operations"]
            if (plant, op["work_center"]) in inactive
        }
    )


def _pv_status(sims: str, pv_id: str) -> str:
    with admin(sims) as client:
        return str(client.get(f"/erp/production-versions/{pv_id}").json()["status"])


def test_cancelling_mid_propagation_withdraws_what_is_not_effective_and_lists_the_rest(
    sims: str, database_url: str, db: Db
) -> None:
    assembly, blocked, ahead, suppliers = _shape(sims)
    (number,) = burst(
        sims,
        1,
        items=[assembly],
        plants=[blocked, ahead],
        suppliers=suppliers,
        inactive_work_center_plant=blocked,
        effectivity_days=30,
    )
    with (
        running_collector(database_url, {TOKEN: GRANT}) as collector,
        running_engine(
            database_url, sims, collector_url=collector, collector_token=SecretStr(TOKEN)
        ) as engine,
    ):
        # One plant runs ahead to an active production version (and MES routing); the
        # other is blocked on its routing by an inactive work center.
        def settled_ahead() -> bool:
            steps = db.steps(eco=number)
            confirmed = any(
                s.kind is StepKind.ERP_CONFIRMATION
                and s.plant == ahead
                and s.state is StepState.SUCCEEDED
                for s in steps
            )
            plant_done = all(s.state is StepState.SUCCEEDED for s in steps if s.plant == ahead)
            held = any(s.state is StepState.BLOCKED and s.plant == blocked for s in steps)
            notices = all(
                s.state.is_final or s.state is StepState.BLOCKED
                for s in steps
                if s.kind is StepKind.SUPPLIER_NOTICE
            )
            return confirmed and plant_done and held and notices

        wait_until(settled_ahead, 45, f"{ahead} confirmed and {blocked} blocked")
        # ERP now confirms slowly: the blocked plant's production version stays pending.
        set_faults(sims, {"erp": {"confirmation_delay_seconds": 600}})
        with admin(sims) as client:
            for code in _inactive_work_centers(sims, number, blocked):
                client.post(f"/erp/plants/{blocked}/work-centers/{code}/activate")
        for step in db.steps(eco=number, states=[StepState.BLOCKED]):
            if step.kind is not StepKind.SUPPLIER_NOTICE:
                commands.retry_step(db.engine, step.step_id, actor="ops@example.com", reason="wc")

        def pending_at_blocked() -> bool:
            return any(
                s.kind is StepKind.ERP_CONFIRMATION
                and s.plant == blocked
                and s.state is StepState.AWAITING_CONFIRMATION
                for s in db.steps(eco=number)
            )

        wait_until(pending_at_blocked, 30, f"{blocked}'s production version to be pending")
        result = commands.cancel_eco(
            db.engine, number, actor="ops@example.com", reason="superseded by a redesign"
        )
        assert result.outcome == "cancelled"

        def compensated() -> bool:
            steps = [s for s in db.steps(eco=number) if s.kind in COMPENSATION_KINDS]
            return bool(steps) and all(s.state is StepState.SUCCEEDED for s in steps)

        wait_until(compensated, 30, "every withdrawal to finish")

        def delivered() -> bool:
            with db.engine.connect() as connection:
                return store.outbox_backlog(connection) == 0

        wait_until(delivered, 30, "the outbox to drain")
        assert engine.relay_worker is not None

    keys = {s.idempotency_key for s in db.steps(eco=number)}
    entries = [e for e in ledger(sims) if e["idempotency_key"] in keys]
    erp = [e for e in entries if e["system"] == "erp"]
    applied = {
        (e["operation"], e[WRITES[e["operation"]][0]]): e for e in erp if e["operation"] in WRITES
    }
    withdrawn = {
        (op, e[field])
        for op, (field, undo, _) in WRITES.items()
        for e in erp
        if e["operation"] == undo
    }
    # Ground truth of what became effective, from ERP itself.
    active = {pv for (op, pv) in applied if op == "production_version.request"}
    active = {pv for pv in active if _pv_status(sims, pv) == "active"}
    active_targets = {
        (
            applied[("production_version.request", pv)]["plant"],
            applied[("production_version.request", pv)]["item"],
        )
        for pv in active
    }
    effective: set[tuple[str, str]] = set()
    for (op, ident), entry in applied.items():
        if op == "production_version.request" and ident in active:
            effective.add((op, ident))
        elif op == "routing.create" and (entry["plant"], entry["item"]) in active_targets:
            effective.add((op, ident))
    # Some of each: the plant ahead kept its active version and routing; the other plant's
    # pending version and routing, and every scheduled BOM version, were taken back.
    assert effective and applied.keys() - effective
    assert withdrawn == set(applied) - effective
    assert {op for op, _ in withdrawn} == set(WRITES)
    for pv in {ident for op, ident in withdrawn if op == "production_version.request"}:
        assert _pv_status(sims, pv) == "withdrawn"

    sent = {e["notice_id"] for e in entries if e["operation"] == "notice.send"}
    assert sent, "some supplier was notified before the cancel"
    told = [e for e in ledger(sims, "procurement") if e["operation"] == "notice.withdraw"]
    assert {e["withdraws"] for e in told} == sent
    with admin(sims) as client:
        notices = client.get("/procurement/notices", params={"eco": number}).json()["items"]
    assert {n["withdraws"] for n in notices if n["kind"] == "withdrawal"} == sent

    mes = {
        (e["plant"], e["item"])
        for e in entries
        if e["system"] == "mes" and e["operation"] == "routing.release"
    }
    expected = {
        (WRITES[op][2].value, applied[(op, ident)]["plant"], applied[(op, ident)]["item"])
        for op, ident in effective
    } | {(StepKind.MES_ROUTING.value, plant, item) for plant, item in mes}
    listed = left_effective(db.engine, number)
    assert set(zip(listed["kind"], listed["plant"], listed["item"], strict=True)) == expected
    assert listed["since"].notna().all()
    cancelled = [e for e in db.events() if e["type"] == "io.threadline.eco.cancelled.v1"]
    assert cancelled[0]["data"]["left_effective"] == len(expected)
