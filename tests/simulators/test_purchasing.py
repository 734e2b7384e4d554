"""ERP's purchasing info records and sourcing modes, and its open purchase and production
orders moving with the clock."""

from __future__ import annotations

from datetime import timedelta

import httpx

from contracts.api import (
    DecisionRequest,
    ItemRevisionRequest,
    ProductionVersionRequest,
    PurchasingInfoRecordRequest,
    QualificationRequest,
)
from contracts.model import ItemKind
from simulators.app import SimulatorConfig, Simulators, build_simulators
from simulators.problems import Problem
from tests.simulators.conftest import assert_problem, ledger
from tests.simulators.test_qualifications import START, Clock, approved_component


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def plant_of_mode(client: httpx.Client, mode: str) -> str:
    modes = client.get("/erp/sourcing-modes").json()["items"]
    return next(m["plant"] for m in modes if m["mode"] == mode)


def record_body(supplier: str, component: str, revision: str, plant: str | None, price: str):
    return {
        "supplier": supplier,
        "component": component,
        "revision": revision,
        "plant": plant,
        "price": price,
    }


def test_an_info_record_is_activated_only_once_its_qualification_is_approved(
    client: httpx.Client,
) -> None:
    component, supplier = approved_component(client)
    client.put(f"/erp/items/{component}/revisions/ZZ", json={}, headers=key("r1"))
    body = record_body(supplier, component, "ZZ", None, "12.50")
    created = client.put("/erp/purchasing-info-records", json=body, headers=key("p1"))
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["status"] == "inactive" and record["plant"] is None
    activate = f"/erp/purchasing-info-records/{record['id']}/activate"
    problem = assert_problem(
        client.post(activate, headers=key("a1")), 409, "QUALIFICATION_NOT_APPROVED"
    )
    assert problem["qualification"] is None and problem["qualification_status"] is None
    qualification = client.post(
        "/procurement/qualifications",
        json={"supplier": supplier, "component": component, "revision": "ZZ"},
    ).json()
    problem = assert_problem(
        client.post(activate, headers=key("a1")), 409, "QUALIFICATION_NOT_APPROVED"
    )
    assert problem["qualification"] == qualification["id"]
    assert problem["qualification_status"] == "pending"
    client.post(
        f"/_admin/qualifications/{qualification['id']}/approve", json={"reason": "first article ok"}
    )
    active = client.post(activate, headers=key("a1"))
    assert active.status_code == 200 and active.json()["status"] == "active"
    assert client.post(activate, headers=key("a1")).json() == active.json(), "replayed key"
    assert client.post(activate, headers=key("a2")).json()["status"] == "active"
    older = client.get(
        "/erp/purchasing-info-records",
        params={"supplier": supplier, "component": component, "status": "superseded"},
    ).json()["items"]
    assert older and all(r["revision"] != "ZZ" and r["plant"] is None for r in older)
    erp = [(e["operation"], e["revision"]) for e in ledger(client, system="erp")]
    assert erp == [
        ("item_revision.release", "ZZ"),
        ("purchasing_info_record.create", "ZZ"),
        ("purchasing_info_record.activate", "ZZ"),
    ]


def test_an_info_record_is_updated_when_its_price_changes_and_not_otherwise(
    client: httpx.Client,
) -> None:
    component, supplier = approved_component(client)
    plant = plant_of_mode(client, "local")
    client.put(f"/erp/items/{component}/revisions/ZZ", json={})
    body = record_body(supplier, component, "ZZ", plant, "3.10")
    assert client.put("/erp/purchasing-info-records", json=body).status_code == 201
    same = client.put("/erp/purchasing-info-records", json=body)
    assert same.status_code == 200 and same.json()["price"] == "3.10"
    dearer = client.put("/erp/purchasing-info-records", json={**body, "price": "3.25"})
    assert dearer.status_code == 200 and dearer.json()["price"] == "3.25"
    one = client.get(f"/erp/purchasing-info-records/{dearer.json()['id']}").json()
    assert one == dearer.json()
    operations = [e["operation"] for e in ledger(client, system="erp")]
    assert operations == [
        "item_revision.release",
        "purchasing_info_record.create",
        "purchasing_info_record.update",
    ]


def test_an_info_record_must_match_the_plants_sourcing_mode(client: httpx.Client) -> None:
    component, supplier = approved_component(client)
    client.put(f"/erp/items/{component}/revisions/ZZ", json={})
    central = plant_of_mode(client, "central")
    records = "/erp/purchasing-info-records"
    body = record_body(supplier, component, "ZZ", central, "1.00")
    assert_problem(client.put(records, json=body), 422, "SOURCING_MODE_MISMATCH")
    unreleased = record_body(supplier, component, "ZY", None, "1.00")
    assert_problem(client.put(records, json=unreleased), 409, "REVISION_NOT_RELEASED")
    stranger = record_body("S999", component, "ZZ", None, "1.00")
    assert_problem(client.put(records, json=stranger), 422, "SUPPLIER_NOT_FOUND")
    assert_problem(client.put(records, json={**body, "price": "0"}), 422, "VALIDATION_ERROR")
    assert_problem(client.get("/erp/plants/P999/sourcing-mode"), 404, "PLANT_NOT_FOUND")
    assert_problem(client.post(f"{records}/PIR-NONE/activate"), 404, "INFO_RECORD_NOT_FOUND")
    assert client.get(f"/erp/plants/{central}/sourcing-mode").json()["mode"] == "central"
    assert [e["operation"] for e in ledger(client, system="erp")] == ["item_revision.release"]


def test_the_world_starts_with_active_records_for_what_plants_buy(client: httpx.Client) -> None:
    local = plant_of_mode(client, "local")
    central = plant_of_mode(client, "central")
    for plant in (local, central):
        records = client.get(
            "/erp/purchasing-info-records", params={"plant": plant, "status": "active"}
        ).json()["items"]
        assert records
        expected = None if plant == central else plant
        assert {r["plant"] for r in records} == {expected}


def simulators_at(clock: Clock) -> Simulators:
    return build_simulators(SimulatorConfig(seed=7), clock=clock)


def test_open_orders_are_seeded_and_move_with_the_clock() -> None:
    clock = Clock(START)
    sims = simulators_at(clock)
    plant = sims.world.plant_codes[0]
    purchase = sims.orders.purchase_orders(plant=plant)
    production = sims.orders.production_orders(plant=plant)
    assert purchase.items and production.items
    assert purchase.read_at == START
    today = START.date()
    assert all(o.due_date >= today and o.plant == plant for o in purchase.items)
    uses = sims.erp.revisions(plant).revisions
    assert all(o.revision == uses[o.component] for o in purchase.items)
    assert all(o.revision == uses[o.item] for o in production.items)
    clock.now += timedelta(days=30)
    later = sims.orders.purchase_orders(plant=plant)
    before = {o.id for o in purchase.items}
    after = {o.id for o in later.items}
    received = before - after
    assert received and after - before, "some were received, new ones were placed"
    assert all(o.due_date < clock.now.date() for o in purchase.items if o.id in received)
    again = simulators_at(Clock(START)).orders.purchase_orders(plant=plant)
    assert again.items == purchase.items, "the same seed and clock give the same orders"
    starts = sims.orders.production_orders(starts_after=clock.now.date() + timedelta(days=10))
    assert all(o.start_date > clock.now.date() + timedelta(days=10) for o in starts.items)


def test_orders_placed_after_an_activation_carry_the_new_revision() -> None:
    clock = Clock(START)
    sims = simulators_at(clock)
    plant = sims.world.plant_codes[0]
    built = sorted(
        i
        for i in sims.world.item_master(plant)
        if sims.world.items[i].kind is not ItemKind.COMPONENT
    )
    item = built[0]
    old = sims.erp.revisions(plant).revisions[item]
    new = sims.plm.generator.revision_of(item)
    target = "ZZ" if new == old else new
    sims.erp.release_revision(item, target, ItemRevisionRequest(), None)
    sims.erp.request_production_version(
        plant, ProductionVersionRequest(item=item, revision=target), None
    )
    clock.now += timedelta(days=40)
    sims.advance()
    uses = sims.erp.revisions(plant).revisions
    assert uses[item] == target
    orders = sims.orders.production_orders(plant=plant).items
    placed_late = [o for o in orders if o.id.split("-")[2] > START.strftime("%Y%m%d")]
    assert placed_late
    assert all(o.revision == uses[o.item] for o in placed_late)
    kept = [o for o in orders if o not in placed_late and o.item == item]
    assert all(o.revision == old for o in kept), "an order keeps the revision it was placed at"


def test_an_in_process_activation_refuses_an_unqualified_supplier() -> None:
    clock = Clock(START)
    sims = simulators_at(clock)
    component, entries = next(iter(sorted(sims.sourcing.approved.items())))
    supplier = entries[0].supplier
    sims.erp.release_revision(component, "ZZ", ItemRevisionRequest(), None)
    body = PurchasingInfoRecordRequest(
        supplier=supplier, component=component, revision="ZZ", price="2"
    )
    _, record = sims.purchasing.put(body, None)
    try:
        sims.purchasing.activate(record.id, None)
    except Problem as exc:
        assert exc.code == "QUALIFICATION_NOT_APPROVED"
    else:
        raise AssertionError("activated before the qualification")
    _, q = sims.qualifications.request(
        QualificationRequest(supplier=supplier, component=component, revision="ZZ"), None
    )
    sims.qualifications.decide(q.id, "qualified", DecisionRequest(reason="ok"))
    assert sims.purchasing.activate(record.id, None)[1].status == "active"
