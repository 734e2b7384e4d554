from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import httpx

from tests.simulators.conftest import CONFIRMATION_DELAY, assert_problem, burst, ledger


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def test_item_revision_release_is_applied_once(client: httpx.Client) -> None:
    url = "/erp/items/ASM-2001/revisions/ZZ"
    first = client.put(url, json={"description": "New"}, headers=key("r1"))
    assert first.status_code == 200
    assert first.json() == {
        "item": "ASM-2001",
        "revision": "ZZ",
        "status": "released",
        "compliance": None,
    }
    assert client.put(url, json={"description": "New"}, headers=key("r1")).json() == first.json()
    assert client.put(url, json={"description": "New"}, headers=key("r2")).status_code == 200
    entries = ledger(client, system="erp")
    assert [(e["operation"], e["item"], e["revision"]) for e in entries] == [
        ("item_revision.release", "ASM-2001", "ZZ")
    ]
    assert entries[0]["idempotency_key"] == "r1"
    assert_problem(client.put("/erp/items/NOPE/revisions/A", json={}), 404, "ITEM_NOT_FOUND")
    assert_problem(client.put("/erp/items/ASM-2001/revisions/a1", json={}), 422, "VALIDATION_ERROR")


def release(client: httpx.Client, item: str, revision: str, name: str | None = None):
    url = f"/erp/items/{item}/revisions/{revision}"
    return client.put(url, json={"description": "New"}, headers=key(name) if name else None)


def bom_body(valid_from: date, assembly: str = "ASM-2001", revision: str = "ZZ") -> dict:
    return {
        "assembly": assembly,
        "revision": revision,
        "valid_from": valid_from.isoformat(),
        "lines": [{"position": 10, "component": "CMP-3001", "quantity": "2", "uom": "EA"}],
    }


def test_bom_versions_are_scheduled_or_effective_and_only_scheduled_ones_withdraw(
    client: httpx.Client,
) -> None:
    later = datetime.now(UTC).date() + timedelta(days=10)
    release(client, "ASM-2001", "ZZ").raise_for_status()
    scheduled = client.post("/erp/plants/P100/boms", json=bom_body(later), headers=key("b1"))
    assert scheduled.status_code == 201
    assert scheduled.json()["status"] == "scheduled" and scheduled.json()["plant"] == "P100"
    past = datetime.now(UTC).date() - timedelta(days=2)
    effective = client.post("/erp/plants/P100/boms", json=bom_body(past), headers=key("b2"))
    assert effective.json()["status"] == "effective"

    bom_id = scheduled.json()["bom_id"]
    withdrawn = client.delete(f"/erp/plants/P100/boms/{bom_id}", headers=key("w1"))
    assert withdrawn.status_code == 200
    assert withdrawn.json() == {"bom_id": bom_id, "status": "withdrawn"}
    again = client.delete(f"/erp/plants/P100/boms/{bom_id}", headers=key("w2"))
    assert again.json()["status"] == "withdrawn"
    body = assert_problem(
        client.delete(f"/erp/plants/P100/boms/{effective.json()['bom_id']}"),
        409,
        "BOM_ALREADY_EFFECTIVE",
    )
    assert effective.json()["bom_id"] in body["detail"]
    assert_problem(client.delete("/erp/plants/P100/boms/BOM-X"), 404, "BOM_NOT_FOUND")
    assert_problem(client.delete(f"/erp/plants/P200/boms/{bom_id}"), 404, "BOM_NOT_FOUND")
    operations = [e["operation"] for e in ledger(client, system="erp")]
    assert operations == ["item_revision.release", "bom.create", "bom.create", "bom.withdraw"]
    bad = bom_body(later) | {
        "lines": [{"position": 10, "component": "NOPE", "quantity": "1", "uom": "EA"}]
    }
    assert_problem(client.post("/erp/plants/P100/boms", json=bad), 422, "COMPONENT_NOT_FOUND")
    assert_problem(
        client.post("/erp/plants/P999/boms", json=bom_body(later)), 404, "PLANT_NOT_FOUND"
    )


def test_a_routing_on_an_inactive_work_center_is_refused_until_a_planner_activates_it(
    client: httpx.Client,
) -> None:
    (eco,) = burst(client, count=1, inactive_work_center_plant="P200")
    world = client.get("/plm/world").json()
    inactive = {wc["code"] for wc in world["work_centers"] if not wc["active"]}
    change = next(
        r
        for r in eco["routing_changes"]
        if r["plant"] == "P200" and any(op["work_center"] in inactive for op in r["operations"])
    )
    url = "/erp/plants/P200/routings"
    body = {k: change[k] for k in ("item", "revision", "operations")}
    release(client, change["item"], change["revision"]).raise_for_status()
    released = ledger(client)
    refused = assert_problem(
        client.post(url, json=body, headers=key("rt")), 422, "WORK_CENTER_INACTIVE"
    )
    assert refused["work_center"] in inactive and refused["work_center"] in refused["detail"]
    assert ledger(client) == released

    activate = f"/erp/plants/P200/work-centers/{refused['work_center']}/activate"
    assert client.post(activate).json()["active"] is True
    created = client.post(url, json=body, headers=key("rt"))
    assert created.status_code == 201 and created.json()["routing_id"]
    replay = client.post(url, json=body, headers=key("rt"))
    assert replay.status_code == 201 and replay.json() == created.json()
    assert [e["operation"] for e in ledger(client)] == [
        "item_revision.release",
        "work_center.activate",
        "routing.create",
    ]
    assert_problem(
        client.post("/erp/plants/P200/work-centers/WC-NOPE/activate"), 404, "WORK_CENTER_NOT_FOUND"
    )


def test_a_production_version_becomes_active_after_the_delay_and_moves_the_plant(
    client: httpx.Client,
) -> None:
    before = client.get("/erp/plants/P100/revisions").json()
    assert before["plant"] == "P100" and before["revisions"]
    item = next(iter(before["revisions"]))
    accepted = client.post(
        "/erp/plants/P100/production-versions",
        json={"item": item, "revision": "ZZ"},
        headers=key("pv"),
    )
    assert accepted.status_code == 202
    pv = accepted.json()
    assert pv["status"] == "pending" and pv["id"].startswith("PV-")
    assert client.get(f"/erp/production-versions/{pv['id']}").json()["status"] == "pending"
    assert client.get("/erp/plants/P100/revisions").json()["revisions"][item] != "ZZ"
    time.sleep(CONFIRMATION_DELAY + 0.1)
    done = client.get(f"/erp/production-versions/{pv['id']}").json()
    assert done["status"] == "active" and done["activated_at"] > done["requested_at"]
    assert client.get("/erp/plants/P100/revisions").json()["revisions"][item] == "ZZ"
    operations = [(e["operation"], e["production_version"]) for e in ledger(client)]
    assert operations == [
        ("production_version.request", pv["id"]),
        ("production_version.activate", pv["id"]),
    ]
    assert_problem(client.get("/erp/production-versions/PV-9"), 404, "PRODUCTION_VERSION_NOT_FOUND")


def test_erp_can_reject_production_versions(client: httpx.Client) -> None:
    client.put(
        "/_admin/faults",
        json={"erp": {"confirmation_reject_rate": 1.0, "confirmation_delay_seconds": 0}},
    )
    pv = client.post(
        "/erp/plants/P100/production-versions", json={"item": "ASM-2001", "revision": "ZZ"}
    ).json()
    rejected = client.get(f"/erp/production-versions/{pv['id']}").json()
    assert rejected["status"] == "rejected" and rejected["reason"]
    assert rejected["activated_at"] is None


def test_a_production_version_needs_the_routing_the_eco_changes(client: httpx.Client) -> None:
    (eco,) = burst(client, count=1, inactive_work_center_plant="P100")
    changes = [c for c in eco["routing_changes"] if c["plant"] == "P100"]
    change = changes[0]
    request = {"item": change["item"], "revision": change["revision"]}
    url = f"/erp/plants/{change['plant']}/production-versions"
    assert_problem(client.post(url, json=request), 409, "ROUTING_MISSING")
    for op in change["operations"]:
        client.post(f"/erp/plants/{change['plant']}/work-centers/{op['work_center']}/activate")
    routing = {k: change[k] for k in ("item", "revision", "operations")}
    release(client, change["item"], change["revision"]).raise_for_status()
    assert client.post(f"/erp/plants/{change['plant']}/routings", json=routing).status_code == 201
    assert client.post(url, json=request).status_code == 202


def test_erp_never_takes_a_revision_backwards(client: httpx.Client) -> None:
    item, plant = "ASM-2002", "P100"
    newest = next(
        i["revision"] for i in client.get("/plm/world").json()["items"] if i["number"] == item
    )
    current = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"][item]
    assert current != "A", "the plant should be past the item's first revision"
    assert_problem(release(client, item, "A", "r-old"), 409, "REVISION_OUT_OF_ORDER")
    assert release(client, item, newest, "r-again").status_code == 200, "a repeat is not older"

    later = datetime.now(UTC).date() + timedelta(days=10)
    boms = f"/erp/plants/{plant}/boms"
    older = client.post(boms, json=bom_body(later, item, "A"))
    assert_problem(older, 409, "REVISION_OUT_OF_ORDER")
    refused = client.post(boms, json=bom_body(later, item, "ZZ"))
    assert_problem(refused, 409, "REVISION_NOT_RELEASED")
    first = client.post(boms, json=bom_body(later, item, current), headers=key("b-current"))
    assert first.status_code == 201, first.text
    release(client, item, "ZZ").raise_for_status()
    assert client.post(boms, json=bom_body(later, item, "ZZ")).status_code == 201
    # The first answer to a key stands; the same old revision under a new key is refused.
    replay = client.post(boms, json=bom_body(later, item, current), headers=key("b-current"))
    assert replay.status_code == 201 and replay.json() == first.json()
    again = client.post(boms, json=bom_body(later, item, current), headers=key("b-new"))
    assert_problem(again, 409, "REVISION_OUT_OF_ORDER")

    world = client.get("/plm/world").json()
    center = next(w for w in world["work_centers"] if w["plant"] == plant and w["active"])
    operations = [{"number": 10, "work_center": center["code"], "description": "Assemble"}]
    routings = f"/erp/plants/{plant}/routings"
    for revision, code in (("A", "REVISION_OUT_OF_ORDER"), ("ZY", "REVISION_NOT_RELEASED")):
        body = {"item": item, "revision": revision, "operations": operations}
        assert_problem(client.post(routings, json=body), 409, code)
    body = {"item": item, "revision": "ZZ", "operations": operations}
    assert client.post(routings, json=body).status_code == 201
    versions = f"/erp/plants/{plant}/production-versions"
    assert client.post(versions, json={"item": item, "revision": current}).status_code == 202
    older = client.post(versions, json={"item": item, "revision": "A"})
    body = assert_problem(older, 409, "REVISION_OUT_OF_ORDER")
    assert body["current_revision"] == current

    applied = [
        (e["operation"], e["revision"]) for e in ledger(client, system="erp") if e["item"] == item
    ]
    assert applied == [
        ("bom.create", current),
        ("item_revision.release", "ZZ"),
        ("bom.create", "ZZ"),
        ("routing.create", "ZZ"),
        ("production_version.request", current),
    ]
