"""Procurement announces its qualification decisions to a real collector, at least once."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from collector.testing import running_collector
from contracts.api import Qualification
from simulators.announce import SOURCE, Announcer
from simulators.app import SimulatorConfig, create_app
from simulators.faults import Faults
from simulators.testing import serving
from tests.simulators.test_qualifications import approved_component

TOKENS = {
    "proc-token": {
        "producer": "procurement",
        "sources": ["/procurement/"],
        "types": ["io.threadline.procurement."],
    }
}


def stored(url: str) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type, source, subject FROM events ORDER BY seq")
            ).all()
    finally:
        engine.dispose()
    return [(str(r.type), str(r.source), str(r.subject)) for r in rows]


def wait_for(url: str, count: int, timeout: float = 15.0) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        found = stored(url)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.mark.e2e
def test_decisions_reach_the_collector_once_each(database_url: str) -> None:
    faults = Faults.model_validate(
        {"procurement": {"qualification_delay_seconds": 0.3, "qualification_reject_rate": 0}}
    )
    with running_collector(database_url, TOKENS) as collector:
        config = SimulatorConfig(
            seed=7, faults=faults, collector_url=collector, collector_token="proc-token"
        )
        with serving(create_app(config), name="simulators") as url:
            with httpx.Client(base_url=url, timeout=10) as client:
                component, supplier = approved_component(client)
                for revision in ("ZY", "ZZ"):
                    body = {"supplier": supplier, "component": component, "revision": revision}
                    assert client.post("/procurement/qualifications", json=body).status_code == 201
                found = wait_for(database_url, 2)
                # Nobody asks again: the simulators' clock ticks for the decisions anyway.
                approved = "io.threadline.procurement.qualification_approved.v1"
                assert sorted(found) == [
                    (approved, SOURCE, f"{supplier}/{component}/ZY"),
                    (approved, SOURCE, f"{supplier}/{component}/ZZ"),
                ]
                ids = [
                    q["id"]
                    for q in client.get("/procurement/qualifications?revision=ZZ").json()["items"]
                ]
                again = client.post(
                    f"/_admin/qualifications/{ids[0]}/approve", json={"reason": "x"}
                )
                assert again.status_code == 200
                time.sleep(1.0)
    assert len(stored(database_url)) == 2, "a decision is announced once"


async def test_an_unreachable_collector_keeps_the_decisions_queued() -> None:
    announcer = Announcer("http://127.0.0.1:9", "secret-token")
    decided = Qualification.model_validate(
        {
            "id": "Q-000001",
            "supplier": "S010",
            "component": "CMP-3001",
            "revision": "B",
            "status": "rejected",
            "requested_at": "2026-06-01T08:00:00Z",
            "decided_at": "2026-06-01T09:00:00Z",
            "reason": "plating fails salt spray",
        }
    )
    announcer.decided(decided)
    async with httpx.AsyncClient(timeout=2) as client:
        assert await announcer.deliver(client) == 0
    assert announcer.queued == 1 and announcer.sent == 0
    assert "secret-token" not in repr(announcer)
