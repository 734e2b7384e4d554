"""What the reference ERP and MES report of a plant's revisions, as real systems would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from contracts.model import EcoStatus, ItemKind, next_revision
from simulators.app import SimulatorConfig, build_simulators
from simulators.history import history_events
from simulators.world import build_world
from tests.simulators.conftest import CONFIRMATION_DELAY, burst

WORLD = build_world(7)


def uses(plant: str) -> set[str]:
    """What the plant uses, from the world's structure: what it builds, what its BOMs hold."""
    made = {
        n
        for n, plants in WORLD.item_plants.items()
        if plant in plants and WORLD.items[n].kind is not ItemKind.COMPONENT
    }
    held = {
        line.component for (p, _), bom in WORLD.boms.items() if p == plant for line in bom.lines
    }
    return made | held


def test_erp_lists_exactly_the_pairs_each_plant_uses(client: httpx.Client) -> None:
    unused = {
        c
        for c in WORLD.items_of_kind(ItemKind.COMPONENT)
        if not any(line.component == c for bom in WORLD.boms.values() for line in bom.lines)
    }
    assert unused, "the world has components no BOM uses"
    for plant in WORLD.plant_codes:
        revisions = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
        master = client.get(f"/erp/plants/{plant}/items").json()["items"]
        assert set(revisions) == uses(plant) == {entry["item"] for entry in master}
        assert not unused & set(revisions)
        for entry in master:
            assert entry["revision"] == revisions[entry["item"]]
            made = WORLD.items[entry["item"]].kind is not ItemKind.COMPONENT
            assert entry["source"] == ("made" if made else "bom")
        mes = client.get(f"/mes/plants/{plant}/revisions").json()["revisions"]
        assert set(mes) == {i for i in uses(plant) if (plant, i) in WORLD.routings}
        assert all(WORLD.items[i].kind is not ItemKind.COMPONENT for i in mes)


def _release(client: httpx.Client, item: str, revision: str) -> None:
    response = client.put(f"/erp/items/{item}/revisions/{revision}", json={})
    assert response.status_code == 200, response.text


def test_a_component_moves_when_a_bom_consuming_its_new_revision_becomes_effective(
    client: httpx.Client,
) -> None:
    assembly, plant = next(
        (a, p)
        for (p, a), bom in sorted(WORLD.boms.items())
        if WORLD.items[a].kind is ItemKind.ASSEMBLY
    )
    lines = WORLD.boms[(plant, assembly)].lines
    component = next(
        line.component for line in lines if WORLD.items[line.component].kind is ItemKind.COMPONENT
    )
    before = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
    new_component = next_revision(WORLD.current_revision(component))
    new_assembly = next_revision(WORLD.current_revision(assembly))
    _release(client, component, new_component)
    _release(client, assembly, new_assembly)
    body = {
        "assembly": assembly,
        "revision": new_assembly,
        "lines": [line.model_dump(mode="json") for line in lines],
    }
    today = datetime.now(UTC).date()
    later = client.post(
        f"/erp/plants/{plant}/boms", json=body | {"valid_from": str(today + timedelta(days=5))}
    )
    assert later.status_code == 201 and later.json()["status"] == "scheduled"
    scheduled = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
    assert scheduled[component] == before[component] != new_component
    # The assembly's own revision is its production version's, not its BOM's.
    assert scheduled[assembly] == before[assembly]

    now = client.post(
        f"/erp/plants/{plant}/boms", json=body | {"valid_from": str(today - timedelta(days=1))}
    )
    assert now.status_code == 201 and now.json()["status"] == "effective"
    effective = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
    assert effective[component] == new_component
    assert effective[assembly] == before[assembly]
    elsewhere = [p for p in WORLD.plant_codes if p != plant and component in uses(p)]
    for other in elsewhere:
        revisions = client.get(f"/erp/plants/{other}/revisions").json()["revisions"]
        assert revisions[component] != new_component


def test_mes_keeps_its_routing_under_a_new_version_unless_the_eco_changed_it(
    client: httpx.Client,
) -> None:
    plant, item = min(WORLD.routings)
    kept = next_revision(WORLD.current_revision(item))
    _release(client, item, kept)
    pv = client.post(
        f"/erp/plants/{plant}/production-versions", json={"item": item, "revision": kept}
    ).json()
    assert client.get(f"/mes/plants/{plant}/revisions").json()["revisions"][item] != kept
    time.sleep(CONFIRMATION_DELAY + 0.1)
    assert client.get(f"/erp/production-versions/{pv['id']}").json()["status"] == "active"
    assert client.get(f"/mes/plants/{plant}/revisions").json()["revisions"][item] == kept

    # An ECO that changes the routing: MES runs the new revision only with the new routing.
    eco = next(
        e
        for e in (burst(client, count=1)[0] for _ in range(20))
        if any(WORLD.items[c["item"]].kind is not ItemKind.COMPONENT for c in e["routing_changes"])
    )
    change = eco["routing_changes"][0]
    plant, item, revision = change["plant"], change["item"], change["revision"]
    for op in change["operations"]:
        client.post(f"/erp/plants/{plant}/work-centers/{op['work_center']}/activate")
    _release(client, item, revision)
    routing = {k: change[k] for k in ("item", "revision", "operations")}
    assert client.post(f"/erp/plants/{plant}/routings", json=routing).status_code == 201
    pv = client.post(
        f"/erp/plants/{plant}/production-versions", json={"item": item, "revision": revision}
    ).json()
    time.sleep(CONFIRMATION_DELAY + 0.1)
    assert client.get(f"/erp/plants/{plant}/revisions").json()["revisions"][item] == revision
    running = client.get(f"/mes/plants/{plant}/revisions").json()["revisions"].get(item)
    assert running != revision
    released = client.post(
        f"/mes/plants/{plant}/routings",
        json=routing | {"production_version": pv["id"]},
    )
    assert released.status_code == 201, released.text
    assert client.get(f"/mes/plants/{plant}/revisions").json()["revisions"][item] == revision


def test_plm_lists_the_history_ecos_as_the_backfill_played_them() -> None:
    end = datetime(2026, 3, 2, 12, tzinfo=UTC)
    config = SimulatorConfig(history_days=60, history_end=end)
    sims = build_simulators(config, clock=lambda: end + timedelta(minutes=1))
    events = [
        event
        for batch in history_events(WORLD, days=60, end=end, ecos_per_day=6.0, seed=7)
        for event in batch
    ]
    received = {
        e["data"]["eco"]: e["data"]["revisions"]
        for e in events
        if e["type"] == "io.threadline.eco.received.v1"
    }
    cancelled = {
        e["data"]["eco"]
        for e in events
        if e["type"] == "io.threadline.eco.cancelled.v1" and e["data"]["cause"] == "plm_cancelled"
    }
    records, more = sims.plm.page(limit=10_000)
    assert more is None and received and cancelled
    listed = {r.number: r.eco() for r in records}
    assert set(listed) == set(received)
    for number, eco in listed.items():
        assert {a.item: a.new_revision for a in eco.affected_items} == received[number]
        assert (eco.status is EcoStatus.CANCELLED) == (number in cancelled)
        assert eco.approved_at < end
