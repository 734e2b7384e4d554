from __future__ import annotations

import time

import httpx

from contracts.model import Eco, Item
from simulators.testing import running_simulators
from tests.simulators.conftest import assert_problem, burst


def test_each_system_serves_its_own_openapi_document(client: httpx.Client) -> None:
    expected = {
        "plm": "/ecos",
        "erp": "/plants/{plant}/production-versions",
        "mes": "/plants/{plant}/routings",
        "procurement": "/notices",
        "_admin": "/ledger",
    }
    for system, path in expected.items():
        response = client.get(f"/{system}/openapi.json")
        assert response.status_code == 200
        assert path in response.json()["paths"]


def test_listing_pages_through_every_eco_in_order_with_a_cursor(client: httpx.Client) -> None:
    numbers = [e["number"] for e in burst(client, count=7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/plm/ecos", params=params).json()
        pages += 1
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [i["eco"]["number"] for i in seen] == numbers
    keys = [(i["updated_at"], i["eco"]["number"]) for i in seen]
    assert keys == sorted(keys)
    for item in seen:
        Eco.model_validate(item["eco"])


def test_updated_since_and_status_filter_the_feed(client: httpx.Client) -> None:
    first, second, third = (e["number"] for e in burst(client, count=3))
    cancelled = client.post(f"/_admin/ecos/{second}/cancel").json()
    assert cancelled["eco"]["status"] == "cancelled"
    items = client.get("/plm/ecos").json()["items"]
    assert [i["eco"]["number"] for i in items] == [first, third, second], "cancel reappears last"
    approved = client.get("/plm/ecos", params={"status": "approved"}).json()["items"]
    assert [i["eco"]["number"] for i in approved] == [first, third]
    since = items[1]["updated_at"]
    newer = client.get("/plm/ecos", params={"updated_since": since}).json()["items"]
    assert [i["eco"]["number"] for i in newer] == [third, second]


def test_a_superseded_eco_reappears_with_the_number_of_its_replacement(
    client: httpx.Client,
) -> None:
    (eco,) = burst(client, count=1)
    answer = client.post(f"/_admin/ecos/{eco['number']}/supersede").json()
    old, new = answer["superseded"], answer["superseded_by"]
    assert old["eco"]["status"] == "superseded"
    assert old["eco"]["superseded_by"] == new["eco"]["number"]
    assert old["updated_at"] > new["updated_at"] > eco["approved_at"]
    assert [a["item"] for a in new["eco"]["affected_items"]] == [
        a["item"] for a in eco["affected_items"]
    ]
    for before, after in zip(eco["affected_items"], new["eco"]["affected_items"], strict=True):
        assert after["old_revision"] == before["new_revision"]
    feed = client.get("/plm/ecos", params={"status": "superseded"}).json()["items"]
    assert [i["eco"]["number"] for i in feed] == [eco["number"]]
    again = client.post(f"/_admin/ecos/{eco['number']}/cancel")
    assert_problem(again, 409, "ECO_NOT_APPROVED")


def test_one_eco_an_item_and_the_world_can_be_read(client: httpx.Client) -> None:
    (eco,) = burst(client, count=1, items=["FG-1001"], effectivity_days=3)
    one = client.get(f"/plm/ecos/{eco['number']}").json()
    assert one["eco"] == eco and one["updated_at"] == eco["approved_at"].replace("+00:00", "Z")
    item = Item.model_validate(client.get("/plm/items/FG-1001").json())
    assert item.kind == "finished_good" and item.product_family
    world = client.get("/plm/world").json()
    assert {"plants", "work_centers", "suppliers", "items"} <= world.keys()
    assert any(not wc["active"] for wc in world["work_centers"])
    fg = next(i for i in world["items"] if i["number"] == "FG-1001")
    assert fg["revision"] == eco["affected_items"][0]["new_revision"]
    assert_problem(client.get("/plm/ecos/ECO-2026-99999"), 404, "ECO_NOT_FOUND")
    assert_problem(client.get("/plm/items/NOPE"), 404, "ITEM_NOT_FOUND")


def test_bad_queries_are_answered_with_problem_details(client: httpx.Client) -> None:
    assert_problem(client.get("/plm/ecos", params={"limit": 501}), 422, "VALIDATION_ERROR")
    assert_problem(client.get("/plm/ecos", params={"cursor": "%%%"}), 400, "INVALID_CURSOR")
    assert_problem(client.get("/plm/ecos", params={"status": "lost"}), 422, "VALIDATION_ERROR")
    assert_problem(client.post("/_admin/ecos", json={"plants": ["P999"]}), 422, "INVALID_SHAPE")


def test_ecos_arrive_steadily_at_the_configured_rate() -> None:
    with running_simulators(eco_rate=1200.0) as url, httpx.Client(base_url=url) as http:
        time.sleep(1.0)
        first = http.get("/plm/ecos", params={"limit": 500}).json()["items"]
        time.sleep(0.5)
        later = http.get("/plm/ecos", params={"limit": 500}).json()["items"]
    assert 5 <= len(first) <= 60
    assert len(later) > len(first)
    stamps = [i["updated_at"] for i in later]
    assert stamps == sorted(stamps)


def approved_stream(seed: int) -> list[dict]:
    with running_simulators(seed=seed) as url, httpx.Client(base_url=url) as http:
        numbers = http.post("/_admin/ecos", json={"count": 8}).json()["ecos"]
        ecos = [http.get(f"/plm/ecos/{n}").json()["eco"] for n in numbers]
    for eco in ecos:
        del eco["approved_at"], eco["effectivity"]  # wall-clock dependent
    return ecos


def test_the_same_seed_serves_the_same_eco_stream() -> None:
    first = approved_stream(21)
    assert approved_stream(21) == first
    assert approved_stream(22) != first
