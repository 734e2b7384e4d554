from __future__ import annotations

import json

import httpx
import pytest

from contracts.steps import ErrorCategory
from sync_engine.connectors import (
    ErpConnector,
    MesConnector,
    PlmConnector,
    ProcurementConnector,
    new_client,
)
from sync_engine.errors import BusinessError, CallError, ContractError, TransientError

PROBLEM = "application/problem+json"
BOM = {
    "assembly": "ASM-1001",
    "revision": "C",
    "valid_from": "2026-03-09",
    "lines": [{"position": 10, "component": "CMP-3001", "quantity": "2", "uom": "EA"}],
}
ROUTING = {
    "item": "ASM-1001",
    "revision": "C",
    "operations": [
        {
            "number": 10,
            "work_center": "WC-P100-01",
            "description": "Cut",
            "setup_minutes": "0",
            "run_minutes": "1.5",
        }
    ],
}
NOTICE = {"supplier": "S010", "eco": "ECO-2026-00042", "items": ["CMP-3001"], "message": "Rev C"}


def _client(handler: object) -> httpx.AsyncClient:
    return new_client(timeout=1.0, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_writes_carry_the_idempotency_key_and_parse_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        created = {k: BOM[k] for k in ("assembly", "revision", "valid_from")}
        return httpx.Response(
            201,
            json={"bom_id": "BOM-P100-000001", "status": "scheduled", "plant": "P100"} | created,
        )

    async with _client(handler) as client:
        erp = ErpConnector(client, "http://erp.test/erp/")
        bom = await erp.create_bom("P100", BOM, "key-1")
    assert (bom.bom_id, bom.status) == ("BOM-P100-000001", "scheduled")
    assert seen[0].url == "http://erp.test/erp/plants/P100/boms"
    assert seen[0].headers["Idempotency-Key"] == "key-1"
    assert json.loads(seen[0].content) == BOM


async def test_a_payload_out_of_contract_is_refused_before_the_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    async with _client(handler) as client:
        erp = ErpConnector(client, "http://erp.test/erp")
        with pytest.raises(BusinessError) as caught:
            await erp.create_routing("P100", ROUTING | {"operations": []}, "k")
        with pytest.raises(BusinessError):
            await ProcurementConnector(client, "http://p.test").send_notice(
                NOTICE | {"eco": "ECO-42"}, "k"
            )
    assert caught.value.code == "VALIDATION_ERROR"
    assert "body.operations" in caught.value.message
    assert seen == [], "nothing the system would refuse is sent"


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (
            httpx.Response(
                503,
                json={"code": "SERVICE_UNAVAILABLE", "detail": "down"},
                headers={"Retry-After": "4", "Content-Type": PROBLEM},
            ),
            TransientError,
            "SERVICE_UNAVAILABLE",
        ),
        (httpx.Response(500, text="oops"), TransientError, "HTTP_500"),
        (
            httpx.Response(429, json={"code": "RATE_LIMITED"}, headers={"Retry-After": "2"}),
            TransientError,
            "RATE_LIMITED",
        ),
        (
            httpx.Response(422, json={"code": "WORK_CENTER_INACTIVE", "detail": "WC-1 inactive"}),
            BusinessError,
            "WORK_CENTER_INACTIVE",
        ),
        (
            httpx.Response(409, json={"code": "REVISION_OUT_OF_ORDER", "detail": "has D"}),
            BusinessError,
            "REVISION_OUT_OF_ORDER",
        ),
        (
            httpx.Response(409, json={"code": "REVISION_NOT_RELEASED", "detail": "no C"}),
            BusinessError,
            "REVISION_NOT_RELEASED",
        ),
        (
            httpx.Response(422, json={"detail": [{"loc": ["body"], "msg": "bad"}]}),
            ContractError,
            "HTTP_422",
        ),
        (httpx.Response(302, headers={"Location": "/elsewhere"}), ContractError, "HTTP_302"),
        (httpx.Response(201, json={"routing": "no id"}), ContractError, "INVALID_RESPONSE"),
        (
            httpx.Response(
                201,
                json={
                    "routing_id": "RT-1",
                    "plant": "P100",
                    "item": "ASM-1001",
                    "revision": "c",
                    "operations": 1,
                    "status": "created",
                },
            ),
            ContractError,
            "INVALID_RESPONSE",
        ),
        (httpx.Response(201, text="<html>"), ContractError, "INVALID_JSON"),
    ],
)
async def test_answers_are_classified_at_the_boundary(
    response: httpx.Response, kind: type[CallError], code: str
) -> None:
    async with _client(lambda request: response) as client:
        erp = ErpConnector(client, "http://erp.test/erp")
        with pytest.raises(kind) as caught:
            await erp.create_routing("P100", ROUTING, "k")
    assert caught.value.code == code
    if response.status_code in (429, 503):
        assert isinstance(caught.value, TransientError)
        assert caught.value.retry_after == float(response.headers["Retry-After"])
    if kind is ContractError and response.status_code == 201:
        assert caught.value.payload is not None, "the offending body is kept"


async def test_timeouts_and_connection_errors_are_transient() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler, code in ((slow, "TIMEOUT"), (refused, "CONNECTION_ERROR")):
        async with _client(handler) as client:
            with pytest.raises(TransientError) as caught:
                await ProcurementConnector(client, "http://p.test").send_notice(NOTICE, "k")
        assert caught.value.code == code
        assert caught.value.category is ErrorCategory.TRANSIENT


async def test_reads_of_plm_erp_and_mes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/plm/ecos":
            assert request.url.params["status"] == "approved"
            return httpx.Response(
                200,
                json={
                    "items": [{"updated_at": "2026-03-02T10:00:00Z", "eco": {"number": "x"}}],
                    "next_cursor": "abc",
                },
            )
        if path == "/plm/items/ASM-1001":
            return httpx.Response(
                200,
                json={
                    "number": "ASM-1001",
                    "description": "Housing",
                    "kind": "assembly",
                    "product_family": "Pumps",
                    "uom": "EA",
                },
            )
        if path == "/erp/production-versions/PV-1":
            return httpx.Response(
                200,
                json={
                    "id": "PV-1",
                    "status": "active",
                    "plant": "P100",
                    "item": "ASM-1001",
                    "revision": "C",
                    "requested_at": "2026-03-02T10:00:00Z",
                    "activated_at": "2026-03-02T10:00:02Z",
                    "reason": None,
                },
            )
        if path == "/mes/plants/P100/revisions":
            return httpx.Response(200, json={"plant": "P100", "revisions": {"ASM-1001": "C"}})
        return httpx.Response(404, json={"code": "NOT_FOUND"})

    async with _client(handler) as client:
        page = await PlmConnector(client, "http://s/plm").ecos("approved")
        item = await PlmConnector(client, "http://s/plm").item("ASM-1001")
        pv = await ErpConnector(client, "http://s/erp").production_version("PV-1")
        revisions = await MesConnector(client, "http://s/mes").revisions("P100")
        with pytest.raises(BusinessError):
            await MesConnector(client, "http://s/mes").revisions("P999")
    assert page.next_cursor == "abc" and page.items[0].eco == {"number": "x"}
    assert item.product_family == "Pumps"
    assert pv.status == "active" and pv.activated_at is not None
    assert revisions == {"ASM-1001": "C"}
