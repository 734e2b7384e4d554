"""Compliance attributes of item revisions: PLM's ECOs and item revisions agree, a share of
live regulated revisions lacks some, and ERP's item revision carries what it was sent."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from contracts.model import COMPLIANCE_FIELDS, Compliance, ItemKind
from simulators.history import history_ecos
from simulators.world import build_world
from tests.simulators.conftest import assert_problem, burst, ledger


def test_plm_item_revisions_carry_compliance_and_the_released_ones_are_complete(
    client: httpx.Client,
) -> None:
    world = build_world(7)
    for number in ("CMP-3001", "ASM-2001", "FG-1001"):
        listed = client.get(f"/plm/items/{number}/revisions").json()
        assert [r["revision"] for r in listed["revisions"]] == [
            r.revision for r in world.revisions[number]
        ]
        for revision in listed["revisions"]:
            compliance = Compliance.model_validate(revision["compliance"])
            assert compliance.regulated is (world.items[number].kind is not ItemKind.ASSEMBLY)
            assert compliance.missing() == ()
        last = listed["revisions"][-1]
        one = client.get(f"/plm/items/{number}/revisions/{last['revision']}").json()
        assert one == last
    assert_problem(client.get("/plm/items/CMP-3001/revisions/ZZZ"), 404, "REVISION_NOT_FOUND")
    assert_problem(client.get("/plm/items/NOPE/revisions"), 404, "ITEM_NOT_FOUND")


def test_live_ecos_carry_their_new_revisions_compliance_and_some_lack_attributes(
    client: httpx.Client,
) -> None:
    ecos = burst(client, count=150)
    missing = 0
    for eco in ecos:
        for affected in eco["affected_items"]:
            item, revision = affected["item"], affected["new_revision"]
            plm = client.get(f"/plm/items/{item}/revisions/{revision}").json()
            assert affected["compliance"] == plm["compliance"]
            compliance = Compliance.model_validate(affected["compliance"])
            if compliance.missing():
                assert compliance.regulated
                assert set(compliance.missing()) <= set(COMPLIANCE_FIELDS)
                missing += 1
    affected_count = sum(len(e["affected_items"]) for e in ecos)
    assert 0 < missing < affected_count * 0.2


def test_history_ecos_are_complete() -> None:
    world = build_world(7)
    end = datetime(2026, 6, 30, tzinfo=UTC)
    for eco, _ in history_ecos(world, days=20, end=end, ecos_per_day=10, seed=7):
        for affected in eco.affected_items:
            assert affected.compliance is not None and affected.compliance.missing() == ()


def test_erp_item_revisions_carry_the_compliance_they_were_sent(client: httpx.Client) -> None:
    compliance = {
        "regulated": True,
        "rohs": "compliant",
        "reach": "svhc_declared",
        "conflict_minerals": "conflict_free",
        "country_of_origin": "DE",
    }
    url = "/erp/items/CMP-3001/revisions/ZZ"
    released = client.put(url, json={"description": "New", "compliance": compliance})
    assert released.status_code == 200
    assert released.json()["compliance"] == compliance
    (entry,) = ledger(client, system="erp")
    assert entry["compliance"] == compliance
    bad = {**compliance, "country_of_origin": "Germany"}
    assert_problem(
        client.put("/erp/items/CMP-3002/revisions/ZZ", json={"compliance": bad}),
        422,
        "VALIDATION_ERROR",
    )
