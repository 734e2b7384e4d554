"""Purchasing against the real simulators over loopback: info records wait for their
supplier's qualification, and ERP never activates one before procurement approved it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collector.testing import running_collector
from contracts.events import new_event
from contracts.model import utcnow
from contracts.sourcing_events import QualificationApproved
from contracts.steps import PURCHASING_KINDS, StepKind, StepState, System
from simulators.testing import running_simulators
from sync_engine import store
from sync_engine.retry import RetryPolicy
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    admin,
    burst,
    ledger,
    set_faults,
    wait_until,
)

SETTLED = {StepState.SUCCEEDED, StepState.BLOCKED, StepState.FAILED, StepState.SKIPPED}


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.3) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def _purchasing(db: Db, numbers: list[str]) -> list[Any]:
    return [s for s in db.steps() if s.kind in PURCHASING_KINDS and s.eco in numbers]


def _settled(db: Db, numbers: list[str]) -> bool:
    """Every purchasing step settled, or waiting behind an earlier ECO's blocked step on
    the same component and supplier (a target never goes backwards)."""
    steps = _purchasing(db, numbers)
    records = [s for s in steps if s.kind is StepKind.ERP_INFO_RECORD]
    waiting = [s.step_id for s in steps if s.state is StepState.WAITING]
    with db.engine.connect() as connection:
        behind = store.waiting_behind(connection, waiting)
    return bool(records) and all(s.state in SETTLED or s.step_id in behind for s in steps)


def _triple(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["supplier"], entry["item"], entry["revision"])


def test_no_info_record_is_activated_before_its_qualification_is_approved(
    sims: str, database_url: str, db: Db
) -> None:
    set_faults(
        sims,
        {
            "erp": {"error_rate": 0.15, "confirmation_delay_seconds": 0.3},
            "procurement": {
                "error_rate": 0.2,
                "qualification_delay_seconds": 4,
                "qualification_reject_rate": 0.25,
            },
        },
    )
    numbers = burst(sims, 12)
    activate_inactive_work_centers(sims, numbers)
    retry = RetryPolicy(max_attempts=30, base_delay=0.02, max_delay=0.2)
    with running_engine(
        database_url,
        sims,
        qualification_interval=0.2,
        retry={s: retry for s in System},
    ):
        wait_until(lambda: _settled(db, numbers), 60, "every info record settled")
    steps = _purchasing(db, numbers)
    waited = {s.step_id for s in steps if s.requested_at is not None}
    assert waited, "some info record waited for a qualification"
    entries = ledger(sims)
    approved: dict[tuple[str, str, str], int] = {}
    for entry in entries:
        if entry["operation"] == "qualification.approve":
            approved.setdefault(_triple(entry), entry["seq"])
    activations = [e for e in entries if e["operation"] == "purchasing_info_record.activate"]
    assert activations
    with admin(sims) as client:
        for entry in activations:
            first = approved.get(_triple(entry))
            if first is None:
                # Qualified before the simulators started (a seeded qualification).
                found = client.get(
                    "/procurement/qualifications",
                    params=dict(
                        zip(("supplier", "component", "revision"), _triple(entry), strict=True)
                    ),
                ).json()["items"]
                assert found and found[-1]["status"] == "qualified", entry
                assert found[-1]["requested_at"] < entries[0]["at"], entry
            else:
                assert first < entry["seq"], entry
    # Every info record ERP activated is one the engine recorded as succeeded, and
    # every rejected qualification left its info records blocked with the reason.
    records = [s for s in steps if s.kind is StepKind.ERP_INFO_RECORD]
    assert {s.external_id for s in records if s.state is StepState.SUCCEEDED} == {
        e["info_record"] for e in activations
    }
    rejected = {_triple(e) for e in entries if e["operation"] == "qualification.reject"}
    assert rejected, "some qualification was rejected"
    for step in records:
        if (step.supplier, step.item, step.revision) in rejected:
            assert step.state is StepState.BLOCKED
            assert step.last_error_code == "QUALIFICATION_REJECTED"


def test_an_operator_approval_releases_the_info_record(
    sims: str, database_url: str, db: Db
) -> None:
    # Qualifications take an hour unless a person decides them.
    set_faults(sims, {"procurement": {"qualification_delay_seconds": 3600}})
    numbers = burst(sims, 6)
    with running_engine(database_url, sims, qualification_interval=0.2):
        waiting = wait_until(
            lambda: [
                s for s in _purchasing(db, numbers) if s.state is StepState.AWAITING_QUALIFICATION
            ],
            30,
            "an info record awaiting qualification",
        )
        step = waiting[0]
        with httpx.Client(base_url=sims, timeout=10) as client:
            found = client.get(
                "/procurement/qualifications",
                params={
                    "supplier": step.supplier,
                    "component": step.item,
                    "revision": step.revision,
                },
            ).json()["items"]
            assert found[-1]["status"] == "pending"
            client.post(
                f"/_admin/qualifications/{found[-1]['id']}/approve",
                json={"reason": "first article inspected"},
            ).raise_for_status()

        def activated() -> bool:
            current = {s.step_id: s for s in db.steps()}[step.step_id]
            return current.state is StepState.SUCCEEDED

        wait_until(activated, 20, "the info record activated")
    done = {s.step_id: s for s in db.steps()}[step.step_id]
    assert any(
        e["operation"] == "purchasing_info_record.activate" and e["info_record"] == done.external_id
        for e in ledger(sims, "erp")
    )
    events = {e["type"] for e in db.events()}
    assert "io.threadline.step.awaiting_qualification.v1" in events
    assert "io.threadline.procurement.qualification_approved.v1" in events
    assert "io.threadline.erp.info_record_activated.v1" in events


def test_a_procurement_outage_holds_only_the_purchasing_back(
    sims: str, database_url: str, db: Db
) -> None:
    set_faults(sims, {"procurement": {"error_rate": 1.0, "qualification_delay_seconds": 1}})
    numbers = burst(sims, 6)
    activate_inactive_work_centers(sims, numbers)
    with running_engine(database_url, sims, qualification_interval=0.2):
        wait_until(lambda: db.ready(numbers), 60, "the ECOs production-ready without procurement")
        assert not _purchasing(db, numbers)
        set_faults(sims, {"procurement": {"qualification_delay_seconds": 1}})
        wait_until(lambda: _settled(db, numbers), 60, "the purchasing added and settled")
    steps = _purchasing(db, numbers)
    assert {s.kind for s in steps} == {StepKind.QUALIFICATION_REQUEST, StepKind.ERP_INFO_RECORD}
    entries = ledger(sims)
    approved = {_triple(e): e["seq"] for e in entries if e["operation"] == "qualification.approve"}
    for entry in entries:
        if entry["operation"] == "purchasing_info_record.activate" and _triple(entry) in approved:
            assert approved[_triple(entry)] < entry["seq"]


def test_a_regulated_revision_lacking_compliance_attributes_is_rejected_with_its_path(
    sims: str, database_url: str, db: Db
) -> None:
    (lacking,) = burst(sims, 1, missing_compliance=True)
    complete = burst(sims, 2)
    activate_inactive_work_centers(sims, complete)
    with running_engine(database_url, sims):
        wait_until(lambda: db.eco_states().get(lacking) == "rejected", 30, "the ECO rejected")
        wait_until(lambda: db.ready(complete), 60, "the complete ECOs production-ready")
    (rejected,) = [e["data"] for e in db.events() if e["type"] == "io.threadline.eco.rejected.v1"]
    assert rejected["eco"] == lacking
    with admin(sims) as client:
        eco = client.get(f"/plm/ecos/{lacking}").json()["eco"]
    paths = {v["path"] for v in rejected["violations"]}
    expected = {
        f"affected_items.{index}.compliance.{name}"
        for index, affected in enumerate(eco["affected_items"])
        if (affected.get("compliance") or {}).get("regulated")
        for name in ("rohs", "reach", "conflict_minerals", "country_of_origin")
        if affected["compliance"].get(name) is None
    }
    assert paths == expected and expected
    releases = {
        (e["item"], e["revision"]): e.get("compliance")
        for e in ledger(sims, "erp")
        if e["operation"] == "item_revision.release"
    }
    # Nothing of the rejected ECO reached ERP; ERP's releases carry PLM's attributes.
    assert not {(a["item"], a["new_revision"]) for a in eco["affected_items"]} & set(releases)
    carried = 0
    with admin(sims) as client:
        for number in complete:
            for affected in client.get(f"/plm/ecos/{number}").json()["eco"]["affected_items"]:
                key = (affected["item"], affected["new_revision"])
                assert releases[key] == affected.get("compliance")
                carried += affected.get("compliance") is not None
    assert carried


ENGINE_TOKEN = "engine-token-for-purchasing"
PROCUREMENT_TOKEN = "procurement-token-for-purchasing"
GRANTS = {
    ENGINE_TOKEN: {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]},
    PROCUREMENT_TOKEN: {
        "producer": "procurement",
        "sources": ["/procurement/"],
        "types": ["io.threadline.procurement."],
    },
}


def test_an_approval_posted_to_the_collector_releases_the_info_record_but_erp_still_waits(
    sims: str, database_url: str, db: Db
) -> None:
    set_faults(sims, {"procurement": {"qualification_delay_seconds": 3600}})
    numbers = burst(sims, 4)
    with (
        running_collector(database_url, GRANTS) as collector,
        running_engine(
            database_url,
            sims,
            collector_url=collector,
            collector_token=SecretStr(ENGINE_TOKEN),
            qualification_interval=0.3,
        ),
    ):
        waiting = wait_until(
            lambda: [
                s for s in _purchasing(db, numbers) if s.state is StepState.AWAITING_QUALIFICATION
            ],
            30,
            "an info record awaiting qualification",
        )
        step = waiting[0]
        with httpx.Client(base_url=sims, timeout=10) as client:
            params = {"supplier": step.supplier, "component": step.item, "revision": step.revision}
            (qualification,) = client.get("/procurement/qualifications", params=params).json()[
                "items"
            ]
        approval = new_event(
            QualificationApproved(
                supplier=step.supplier or "",
                component=step.item or "",
                revision=step.revision or "",
                qualification_id=qualification["id"],
                approved_at=utcnow(),
            ),
            source="/procurement/qualifications",
            time=utcnow(),
        )
        # Procurement says so before it has decided: the step runs, ERP refuses, it waits.
        posted = httpx.post(
            f"{collector}/events",
            json=approval,
            headers={
                "Authorization": f"Bearer {PROCUREMENT_TOKEN}",
                "Content-Type": "application/cloudevents+json",
            },
        )
        assert posted.status_code == 202, posted.text

        def ran_and_waits_again() -> bool:
            moves = [
                e["data"]["to_state"]
                for e in db.events()
                if e["data"].get("step_id") == step.step_id
            ]
            return moves.count("awaiting_qualification") >= 2

        wait_until(ran_and_waits_again, 20, "the released info record to wait again")
        assert not [
            e
            for e in ledger(sims, "erp")
            if e["operation"] == "purchasing_info_record.activate"
            and _triple(e) == (step.supplier, step.item, step.revision)
        ]
        with httpx.Client(base_url=sims, timeout=10) as client:
            client.post(
                f"/_admin/qualifications/{qualification['id']}/approve",
                json={"reason": "samples passed"},
            ).raise_for_status()

        def activated() -> bool:
            return {s.step_id: s for s in db.steps()}[step.step_id].state is StepState.SUCCEEDED

        wait_until(activated, 20, "the info record activated")
