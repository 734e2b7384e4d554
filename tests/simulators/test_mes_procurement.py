from __future__ import annotations

import time

import httpx

from tests.simulators.conftest import CONFIRMATION_DELAY, assert_problem, ledger

OPERATIONS = [{"number": 10, "work_center": "WC-P100-01", "description": "Cut"}]


def test_mes_takes_a_routing_only_once_erp_has_the_production_version_active(
    client: httpx.Client,
) -> None:
    pv = client.post(
        "/erp/plants/P100/production-versions", json={"item": "ASM-2001", "revision": "ZZ"}
    ).json()
    body = {
        "item": "ASM-2001",
        "revision": "ZZ",
        "production_version": pv["id"],
        "operations": OPERATIONS,
    }
    early = client.post("/mes/plants/P100/routings", json=body, headers={"Idempotency-Key": "m"})
    assert_problem(early, 409, "PRODUCTION_VERSION_NOT_ACTIVE")
    unknown = client.post("/mes/plants/P100/routings", json=body | {"production_version": "PV-X"})
    assert_problem(unknown, 409, "PRODUCTION_VERSION_NOT_ACTIVE")
    assert ledger(client, system="mes") == []

    time.sleep(CONFIRMATION_DELAY + 0.1)
    wrong = client.post("/mes/plants/P100/routings", json=body | {"revision": "ZY"})
    assert_problem(wrong, 409, "PRODUCTION_VERSION_MISMATCH")
    released = client.post("/mes/plants/P100/routings", json=body, headers={"Idempotency-Key": "m"})
    assert released.status_code == 201 and released.json()["status"] == "released"
    replay = client.post("/mes/plants/P100/routings", json=body, headers={"Idempotency-Key": "m"})
    assert replay.json() == released.json()
    assert client.get("/mes/plants/P100/revisions").json()["revisions"]["ASM-2001"] == "ZZ"
    order = [(e["system"], e["operation"]) for e in ledger(client)]
    assert order == [
        ("erp", "production_version.request"),
        ("erp", "production_version.activate"),
        ("mes", "routing.release"),
    ]
    assert_problem(client.get("/mes/plants/P999/revisions"), 404, "PLANT_NOT_FOUND")


def suppliers(client: httpx.Client) -> list[dict]:
    return client.get("/plm/world").json()["suppliers"]


def test_notices_are_sent_listed_and_read(client: httpx.Client) -> None:
    good = next(
        s for s in suppliers(client) if not s["unreliable_portal"] and not s["invalid_contact"]
    )
    body = {
        "supplier": good["code"],
        "eco": "ECO-2026-50001",
        "items": ["CMP-3001"],
        "message": "Rev B",
    }
    sent = client.post("/procurement/notices", json=body, headers={"Idempotency-Key": "n1"})
    assert sent.status_code == 201
    notice = sent.json()
    assert notice["status"] == "sent" and notice["supplier"] == good["code"] and notice["sent_at"]
    replay = client.post("/procurement/notices", json=body, headers={"Idempotency-Key": "n1"})
    assert replay.json() == notice
    other = client.post("/procurement/notices", json=body | {"eco": "ECO-2026-50002"}).json()
    assert client.get(f"/procurement/notices/{notice['id']}").json() == notice
    listed = client.get("/procurement/notices", params={"supplier": good["code"]}).json()["items"]
    assert [n["id"] for n in listed] == [notice["id"], other["id"]]
    one_eco = client.get("/procurement/notices", params={"eco": "ECO-2026-50001"}).json()["items"]
    assert [n["id"] for n in one_eco] == [notice["id"]]
    assert len(ledger(client, system="procurement")) == 2
    assert_problem(client.get("/procurement/notices/N-404"), 404, "NOTICE_NOT_FOUND")


def test_bad_contacts_and_flaky_portals_fail_like_real_ones(client: httpx.Client) -> None:
    everyone = suppliers(client)
    invalid = next(s for s in everyone if s["invalid_contact"])
    body = {"supplier": invalid["code"], "eco": "ECO-2026-50001", "items": [], "message": "x"}
    problem = assert_problem(
        client.post("/procurement/notices", json=body), 422, "INVALID_SUPPLIER_CONTACT"
    )
    assert problem["supplier"] == invalid["code"]
    assert_problem(
        client.post("/procurement/notices", json=body | {"supplier": "S999"}),
        422,
        "SUPPLIER_NOT_FOUND",
    )
    client.put("/_admin/faults", json={"procurement": {"unreliable_portal_rate": 1.0}})
    flaky = next(s for s in everyone if s["unreliable_portal"])
    statuses = {
        client.post("/procurement/notices", json=body | {"supplier": flaky["code"]}).status_code
        for _ in range(12)
    }
    assert statuses == {502, 504}
    assert ledger(client, system="procurement") == []
