"""Both transports under the connectors' httpx clients, over real HTTP on loopback:
the same answers, and the same error codes for a slow and an unreachable system."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from simulators.testing import free_port, serving
from sync_engine.connectors import ProcurementConnector, new_client
from sync_engine.errors import BusinessError, TransientError

NOTICE = {"supplier": "S010", "eco": "ECO-2026-00042", "items": ["CMP-3001"], "message": "Rev C"}
TRANSPORTS = ("aiohttp", "httpcore")


def _app() -> FastAPI:
    app = FastAPI()
    seen: list[str] = []

    @app.post("/procurement/notices")
    async def notice(body: dict[str, Any]) -> JSONResponse:
        seen.append(body["supplier"])
        if body["supplier"] == "SLOW":
            await asyncio.sleep(2)
        if body["supplier"] == "S999":
            return JSONResponse(
                {"code": "SUPPLIER_UNKNOWN", "title": "no such supplier"},
                status_code=422,
                media_type="application/problem+json",
            )
        notice = {**body, "id": f"N-{len(seen)}", "status": "sent"}
        return JSONResponse({**notice, "sent_at": "2026-03-02T10:00:00Z"}, status_code=201)

    return app


@pytest.fixture(scope="module")
def server() -> Any:
    with serving(_app(), name="procurement") as url:
        yield url


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_answers_and_problems_read_the_same_through_either_transport(
    server: str, transport: Any
) -> None:
    async with new_client(timeout=5, http_transport=transport) as client:
        connector = ProcurementConnector(client, f"{server}/procurement")
        assert (await connector.send_notice(NOTICE, "k1")).startswith("N-")
        with pytest.raises(BusinessError) as caught:
            await connector.send_notice({**NOTICE, "supplier": "S999"}, "k2")
    assert caught.value.code == "SUPPLIER_UNKNOWN"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_slow_system_times_out_and_an_absent_one_is_unreachable(
    server: str, transport: Any
) -> None:
    async with new_client(timeout=0.3, http_transport=transport) as client:
        with pytest.raises(TransientError) as slow:
            await ProcurementConnector(client, f"{server}/procurement").send_notice(
                {**NOTICE, "supplier": "SLOW"}, "k3"
            )
        absent = ProcurementConnector(client, f"http://127.0.0.1:{free_port()}/procurement")
        with pytest.raises(TransientError) as unreachable:
            await absent.send_notice(NOTICE, "k4")
    assert slow.value.code == "TIMEOUT"
    assert unreachable.value.code == "CONNECTION_ERROR"
