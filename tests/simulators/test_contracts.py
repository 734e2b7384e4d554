"""The simulators speak the shared request and response models of ``contracts.api``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from pydantic import BaseModel

from contracts import api
from contracts.model import BomLine, Item, Operation
from tests.simulators.conftest import CONFIRMATION_DELAY, burst

ANSWERS = [
    ("plm", "get", "/ecos", "200", api.EcoPage),
    ("plm", "get", "/ecos/{number}", "200", api.EcoEntry),
    ("plm", "get", "/items/{number}", "200", Item),
    ("erp", "put", "/items/{item}/revisions/{revision}", "200", api.ItemRevisionReleased),
    ("erp", "post", "/plants/{plant}/boms", "201", api.BomCreated),
    ("erp", "delete", "/plants/{plant}/boms/{bom_id}", "200", api.BomWithdrawn),
    ("erp", "post", "/plants/{plant}/routings", "201", api.RoutingCreated),
    ("erp", "delete", "/plants/{plant}/routings/{routing_id}", "200", api.RoutingWithdrawn),
    (
        "erp",
        "delete",
        "/plants/{plant}/production-versions/{pv_id}",
        "200",
        api.ProductionVersionWithdrawn,
    ),
    ("erp", "post", "/plants/{plant}/production-versions", "202", api.ProductionVersionStatus),
    ("erp", "get", "/production-versions/{pv_id}", "200", api.ProductionVersionStatus),
    ("erp", "get", "/plants/{plant}/revisions", "200", api.PlantRevisions),
    ("mes", "post", "/plants/{plant}/routings", "201", api.MesRoutingReleased),
    ("mes", "get", "/plants/{plant}/revisions", "200", api.PlantRevisions),
    ("procurement", "post", "/notices", "201", api.Notice),
    ("procurement", "post", "/notices/{notice_id}/withdrawal", "201", api.Notice),
    ("procurement", "get", "/notices", "200", api.NoticeList),
    ("procurement", "get", "/notices/{notice_id}", "200", api.Notice),
]
REQUESTS = [
    ("erp", "put", "/items/{item}/revisions/{revision}", api.ItemRevisionRequest),
    ("erp", "post", "/plants/{plant}/boms", api.BomRequest),
    ("erp", "post", "/plants/{plant}/routings", api.RoutingRequest),
    ("erp", "post", "/plants/{plant}/production-versions", api.ProductionVersionRequest),
    ("mes", "post", "/plants/{plant}/routings", api.MesRoutingRequest),
    ("procurement", "post", "/notices", api.NoticeRequest),
    ("procurement", "post", "/notices/{notice_id}/withdrawal", api.NoticeWithdrawalRequest),
]


def _ref(schema: dict) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def test_each_route_documents_the_shared_models(client: httpx.Client) -> None:
    documents = {
        system: client.get(f"/{system}/openapi.json").json()
        for system in ("plm", "erp", "mes", "procurement")
    }
    for system, method, path, status, model in ANSWERS:
        operation = documents[system]["paths"][path][method]
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert _ref(schema).startswith(model.__name__), (system, path)
    for system, method, path, model in REQUESTS:
        operation = documents[system]["paths"][path][method]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _ref(schema).startswith(model.__name__), (system, path)


def _parsed(response: httpx.Response, model: type[BaseModel]) -> BaseModel:
    assert response.is_success, response.text
    parsed = model.model_validate(response.json())
    assert parsed.model_dump(mode="json") == response.json(), "the model is the whole answer"
    return parsed


@pytest.mark.parametrize("replayed", [False, True])
def test_one_eco_through_every_system_in_the_shared_models(
    client: httpx.Client, replayed: bool
) -> None:
    (eco,) = burst(client, count=1, items=["FG-1001"])
    _parsed(client.get("/plm/ecos", params={"limit": 1}), api.EcoPage)
    _parsed(client.get(f"/plm/ecos/{eco['number']}"), api.EcoEntry)
    item = eco["affected_items"][0]

    def send(method: str, url: str, model: type[BaseModel], body: BaseModel | None = None):
        json = None if body is None else body.model_dump(mode="json")
        headers = {"Idempotency-Key": f"{method} {url}"} if replayed else {}
        first = _parsed(client.request(method, url, json=json, headers=headers), model)
        if replayed:
            again = _parsed(client.request(method, url, json=json, headers=headers), model)
            assert again == first
        return first

    revision = api.ItemRevisionRequest(description="Pump housing")
    released = send(
        "PUT",
        f"/erp/items/{item['item']}/revisions/{item['new_revision']}",
        api.ItemRevisionReleased,
        revision,
    )
    assert released == api.ItemRevisionReleased(
        item=item["item"], revision=item["new_revision"], status="released"
    )
    plant = "P100"
    for number in (item["item"], "ASM-2001"):
        # ERP takes BOMs and routings only for revisions it released.
        client.put(
            f"/erp/items/{number}/revisions/ZZ", json={"description": "a far revision"}
        ).raise_for_status()
    pv_request = api.ProductionVersionRequest(item=item["item"], revision="ZZ")
    url = f"/erp/plants/{plant}/production-versions"
    pv = send("POST", url, api.ProductionVersionStatus, pv_request)
    assert isinstance(pv, api.ProductionVersionStatus) and pv.status == "pending"
    time.sleep(CONFIRMATION_DELAY + 0.1)
    active = _parsed(client.get(f"/erp/production-versions/{pv.id}"), api.ProductionVersionStatus)
    assert isinstance(active, api.ProductionVersionStatus) and active.status == "active"
    assert active.activated_at is not None and active.activated_at.utcoffset() is not None
    revisions = _parsed(client.get(f"/erp/plants/{plant}/revisions"), api.PlantRevisions)
    assert isinstance(revisions, api.PlantRevisions) and revisions.revisions[item["item"]] == "ZZ"
    _parsed(client.get(f"/mes/plants/{plant}/revisions"), api.PlantRevisions)

    world = client.get("/plm/world").json()
    later = (datetime.now(UTC) + timedelta(days=10)).date()
    line = BomLine(position=10, component="CMP-3001", quantity=Decimal("2.5"), uom="EA")
    bom_request = api.BomRequest(
        assembly="ASM-2001", revision="ZZ", valid_from=later, lines=(line,)
    )
    bom = send("POST", f"/erp/plants/{plant}/boms", api.BomCreated, bom_request)
    assert isinstance(bom, api.BomCreated) and bom.status == "scheduled"
    assert bom.valid_from == later
    withdrawn = send("DELETE", f"/erp/plants/{plant}/boms/{bom.bom_id}", api.BomWithdrawn)
    assert withdrawn == api.BomWithdrawn(bom_id=bom.bom_id, status="withdrawn")

    center = next(wc for wc in world["work_centers"] if wc["plant"] == plant and wc["active"])
    operation = Operation(number=10, work_center=center["code"], description="Assemble")
    routing = api.RoutingRequest(item=item["item"], revision="ZZ", operations=(operation,))
    created = send("POST", f"/erp/plants/{plant}/routings", api.RoutingCreated, routing)
    assert isinstance(created, api.RoutingCreated) and created.operations == 1
    mes_request = api.MesRoutingRequest(
        item=item["item"], revision="ZZ", production_version=pv.id, operations=(operation,)
    )
    mes = send("POST", f"/mes/plants/{plant}/routings", api.MesRoutingReleased, mes_request)
    assert isinstance(mes, api.MesRoutingReleased) and mes.production_version == pv.id

    good = next(
        s for s in world["suppliers"] if not s["unreliable_portal"] and not s["invalid_contact"]
    )
    items = tuple(a["item"] for a in eco["affected_items"])
    notice_request = api.NoticeRequest(supplier=good["code"], eco=eco["number"], items=items)
    notice = send("POST", "/procurement/notices", api.Notice, notice_request)
    assert isinstance(notice, api.Notice) and notice.items == items
    assert _parsed(client.get(f"/procurement/notices/{notice.id}"), api.Notice) == notice
    listed = _parsed(client.get("/procurement/notices"), api.NoticeList)
    assert listed == api.NoticeList(items=[notice])
