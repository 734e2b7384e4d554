"""Procurement's approved lists, qualifications, contracts and supplier masters, over HTTP
and on a simulated clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.api import QualificationRequest
from contracts.model import ItemKind
from simulators.app import SimulatorConfig, build_simulators
from simulators.faults import Faults
from simulators.sourcing import DUPLICATE_CODE
from simulators.testing import running_simulators
from simulators.world import build_world
from tests.simulators.conftest import assert_problem, ledger

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def quick() -> Iterator[httpx.Client]:
    """Simulators whose qualifications are decided within a second, none rejected."""
    faults = {"procurement": {"qualification_delay_seconds": 0.4, "qualification_reject_rate": 0}}
    with running_simulators(seed=7, faults=faults) as url:
        with httpx.Client(base_url=url, timeout=10) as http:
            yield http


def approved_component(client: httpx.Client) -> tuple[str, str]:
    """A purchased component and the first supplier on its approved list."""
    world = build_world(7)
    for number in world.items_of_kind(ItemKind.COMPONENT):
        listed = client.get(f"/procurement/components/{number}/approved-suppliers").json()
        if listed["suppliers"]:
            return number, listed["suppliers"][0]["supplier"]
    raise AssertionError("no component has an approved supplier")


def request(client: httpx.Client, supplier: str, component: str, revision: str, key: str):
    return client.post(
        "/procurement/qualifications",
        json={"supplier": supplier, "component": component, "revision": revision},
        headers={"Idempotency-Key": key},
    )


def test_a_request_opens_two_tasks_and_is_decided_after_its_delay(quick: httpx.Client) -> None:
    component, supplier = approved_component(quick)
    first = request(quick, supplier, component, "ZZ", "q1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "pending" and body["decided_at"] is None
    assert {t["kind"] for t in body["tasks"]} == {"sourcing", "quality"}
    assert all(t["status"] == "open" for t in body["tasks"])
    assert request(quick, supplier, component, "ZZ", "q1").json() == body, "replayed key"
    again = request(quick, supplier, component, "ZZ", "q2")
    assert again.status_code == 200 and again.json()["id"] == body["id"], "one per triple"
    time.sleep(0.7)
    decided = quick.get(f"/procurement/qualifications/{body['id']}").json()
    assert decided["status"] == "qualified"
    assert all(t["status"] == "done" for t in decided["tasks"])
    operations = [
        (e["operation"], e["item"], e["revision"], e["supplier"])
        for e in ledger(quick, system="procurement")
    ]
    assert operations == [
        ("qualification.request", component, "ZZ", supplier),
        ("qualification.approve", component, "ZZ", supplier),
    ]
    listed = quick.get(
        "/procurement/qualifications", params={"supplier": supplier, "component": component}
    ).json()["items"]
    assert body["id"] in {q["id"] for q in listed}
    assert {q["status"] for q in listed} <= {"qualified", "pending", "rejected"}


def test_an_operator_approves_or_rejects_a_pending_qualification(client: httpx.Client) -> None:
    component, supplier = approved_component(client)
    pending = request(client, supplier, component, "ZY", "a1").json()
    other = request(client, supplier, component, "ZZ", "a2").json()
    reason = {"reason": "samples passed incoming inspection"}
    approved = client.post(f"/_admin/qualifications/{pending['id']}/approve", json=reason)
    assert approved.status_code == 200 and approved.json()["status"] == "qualified"
    assert approved.json()["reason"] == reason["reason"]
    rejected = client.post(
        f"/_admin/qualifications/{other['id']}/reject", json={"reason": "plating fails salt spray"}
    )
    assert rejected.json()["status"] == "rejected"
    problem = assert_problem(
        client.post(f"/_admin/qualifications/{other['id']}/approve", json=reason),
        409,
        "QUALIFICATION_DECIDED",
    )
    assert problem["qualification_status"] == "rejected"
    assert_problem(
        client.post(f"/_admin/qualifications/{pending['id']}/approve", json={}),
        422,
        "VALIDATION_ERROR",
    )
    assert_problem(
        client.post("/_admin/qualifications/Q-999999/approve", json=reason),
        404,
        "QUALIFICATION_NOT_FOUND",
    )
    operations = [e["operation"] for e in ledger(client, system="procurement")]
    assert operations == [
        "qualification.request",
        "qualification.request",
        "qualification.approve",
        "qualification.reject",
    ]


def test_requests_name_what_is_wrong(client: httpx.Client) -> None:
    component, supplier = approved_component(client)
    listed = {
        s["supplier"]
        for s in client.get(f"/procurement/components/{component}/approved-suppliers").json()[
            "suppliers"
        ]
    }
    outsider = next(s.code for s in build_world(7).suppliers if s.code not in listed)
    assert_problem(request(client, outsider, component, "ZZ", "e1"), 422, "SUPPLIER_NOT_APPROVED")
    assert_problem(request(client, "S999", component, "ZZ", "e2"), 422, "SUPPLIER_NOT_FOUND")
    assert_problem(request(client, supplier, "ASM-2001", "ZZ", "e3"), 422, "COMPONENT_NOT_FOUND")
    assert_problem(
        client.get("/procurement/components/ASM-2001/approved-suppliers"),
        404,
        "COMPONENT_NOT_FOUND",
    )
    assert ledger(client, system="procurement") == []


def test_faults_apply_to_qualification_requests_and_nothing_is_applied() -> None:
    with running_simulators(seed=7, faults={"procurement": {"error_rate": 1.0}}) as url:
        with httpx.Client(base_url=url, timeout=10) as http:
            response = request(http, "S010", "CMP-3001", "ZZ", "f1")
            assert response.status_code in (500, 503)
            assert ledger(http, system="procurement") == []


def test_decisions_follow_the_clock_and_the_seed_not_the_order_of_requests() -> None:
    def decide(order: list[int]) -> dict[tuple[str, str], str]:
        clock = Clock(START)
        faults = Faults.model_validate({"procurement": {"qualification_reject_rate": 0.5}})
        sims = build_simulators(SimulatorConfig(seed=7, faults=faults), clock=clock)
        pairs = [
            (supplier, component)
            for component, entries in sorted(sims.sourcing.approved.items())[:12]
            for supplier in [e.supplier for e in entries][:1]
        ]
        for n in order:
            supplier, component = pairs[n]
            body = QualificationRequest(supplier=supplier, component=component, revision="ZZ")
            sims.qualifications.request(body, None)
        clock.now += timedelta(seconds=60)
        sims.advance()
        assert all(q.status == "pending" for q in sims.qualifications.listing(revision="ZZ"))
        clock.now += timedelta(hours=1)
        sims.advance()
        return {
            (q.supplier, q.component): q.status for q in sims.qualifications.listing(revision="ZZ")
        }

    forward = decide(list(range(12)))
    assert forward == decide(list(reversed(range(12))))
    assert set(forward.values()) == {"qualified", "rejected"}


def test_the_approved_lists_differ_from_plms_links_and_contracts_have_gaps() -> None:
    sims = build_simulators(SimulatorConfig(seed=7), clock=Clock(START))
    world, sourcing = sims.world, sims.sourcing
    withdrawn = added = limited = 0
    for component, entries in sourcing.approved.items():
        listed = {e.supplier for e in entries}
        linked = set(world.suppliers_of(component))
        withdrawn += len(linked - listed)
        added += len(listed - linked)
        limited += sum(set(e.plants) != set(world.item_plants[component]) for e in entries)
    assert withdrawn and added and limited
    contracted = {(c.supplier, c.component) for c in sourcing.contracts}
    pairs = {(e.supplier, c) for c, entries in sourcing.approved.items() for e in entries}
    assert contracted < pairs, "some approved pairs have no contract"
    today = START.date()
    assert any(c.valid_to is not None and c.valid_to < today for c in sourcing.contracts)
    assert set(sourcing.modes.values()) == {"local", "central"}


def test_the_supplier_masters_hold_one_tax_id_twice_and_one_code_with_two_names(
    client: httpx.Client,
) -> None:
    procurement = {r["code"]: r for r in client.get("/procurement/suppliers").json()["items"]}
    erp = client.get("/erp/suppliers").json()
    assert erp["system"] == "erp"
    by_tax: dict[str, list[str]] = {}
    for record in erp["items"]:
        by_tax.setdefault(record["tax_id"], []).append(record["code"])
    twice = [codes for codes in by_tax.values() if len(codes) > 1]
    assert len(twice) == 1 and DUPLICATE_CODE in twice[0]
    renamed = [
        r["code"]
        for r in erp["items"]
        if r["code"] in procurement and r["name"] != procurement[r["code"]]["name"]
    ]
    assert len(renamed) == 1
    one = client.get(f"/procurement/suppliers/{renamed[0]}").json()
    assert one == procurement[renamed[0]]
    assert_problem(client.get("/procurement/suppliers/S999"), 404, "SUPPLIER_NOT_FOUND")


def test_contracts_filter_by_supplier_component_and_day(client: httpx.Client) -> None:
    every = client.get("/procurement/contracts").json()["items"]
    first = every[0]
    mine = client.get(
        "/procurement/contracts",
        params={"supplier": first["supplier"], "component": first["component"]},
    ).json()["items"]
    assert mine == [first]
    today = datetime.now(UTC).date().isoformat()
    valid = client.get("/procurement/contracts", params={"on": today}).json()["items"]
    assert 0 < len(valid) < len(every)
    assert all(c["valid_to"] is None or c["valid_to"] >= today for c in valid)
