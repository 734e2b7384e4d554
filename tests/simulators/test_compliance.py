"""Compliance attributes of item revisions: PLM's ECOs and item revisions agree, a share of
live regulated revisions lacks some, and ERP's item revision carries what it was sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from contracts.model import COMPLIANCE_FIELDS, Compliance, ItemKind
from simulators.app import SimulatorConfig, build_simulators
from simulators.history import history_ecos
from simulators.world import build_world
from tests.simulators.conftest import assert_problem, burst, ledger
from tests.simulators.test_qualifications import START, Clock


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


def test_the_live_stream_lacks_attributes_at_its_seeded_share_and_plm_agrees() -> None:
    clock = Clock(START)
    sims = build_simulators(SimulatorConfig(seed=7, eco_rate=10), clock=clock)
    clock.now += timedelta(minutes=30)
    sims.advance()
    records, _ = sims.plm.page(limit=1000)
    ecos = [r.eco() for r in records]
    assert len(ecos) > 200
    lacking = total = 0
    for eco in ecos:
        for affected in eco.affected_items:
            assert affected.compliance is not None
            released = {r.revision: r for r in sims.plm.item_revisions(affected.item)}
            assert released[affected.new_revision].compliance == affected.compliance
            total += 1
            if affected.compliance.missing():
                assert affected.compliance.regulated
                assert set(affected.compliance.missing()) <= set(COMPLIANCE_FIELDS)
                lacking += 1
    assert 0 < lacking < total * 0.15


def test_ecos_on_demand_are_complete_unless_asked_to_lack_attributes(
    client: httpx.Client,
) -> None:
    complete = burst(client, count=60)
    for eco in complete:
        for affected in eco["affected_items"]:
            assert Compliance.model_validate(affected["compliance"]).missing() == ()
    (lacking,) = burst(client, items=["ASM-2001", "CMP-3001", "CMP-3002"], missing_compliance=True)
    missing = [
        (a["item"], Compliance.model_validate(a["compliance"]).missing())
        for a in lacking["affected_items"]
    ]
    assert [item for item, fields in missing if fields] == ["CMP-3001"]
    revision = next(a["new_revision"] for a in lacking["affected_items"] if a["item"] == "CMP-3001")
    plm = client.get(f"/plm/items/CMP-3001/revisions/{revision}").json()
    assert Compliance.model_validate(plm["compliance"]).missing() == missing[1][1]
    refused = client.post("/_admin/ecos", json={"items": ["ASM-2001"], "missing_compliance": True})
    assert_problem(refused, 422, "INVALID_SHAPE")


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
