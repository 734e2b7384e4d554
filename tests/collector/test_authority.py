"""Producer authority: only the producer that owns a catalog type may emit it.

A token granted only a foreign source prefix tries to forge the audit trail, an ECO's
production readiness, a plant's revision and a notice's status; the collector refuses
each with 403 naming the type, and an event of that kind stored before the rule existed
is ignored when the read models are rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa

from collector.auth import ProducerGrant
from collector.store import EventStore
from collector.tables import eco_status, operator_actions, plant_revisions, supplier_notices
from collector.testing import running_collector
from contracts import events as ev
from contracts.operator_events import OperatorActionTaken
from contracts.steps import OperatorAction
from threadline.db import create_engine

ENGINE_TOKEN = "engine-authority-token-0123456789"
PLM_TOKEN = "plm-authority-token-9876543210"
GRANTS = {
    ENGINE_TOKEN: ProducerGrant(
        producer="engine", sources=("/threadline/",), types=("io.threadline.",)
    ),
    PLM_TOKEN: ProducerGrant(producer="plm", sources=("/plm/",)),
}
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FORGED = "ECO-2099-99999"

FORGERIES: dict[str, ev.EventData] = {
    "audit entry": OperatorActionTaken(
        actor="admin@forged",
        action=OperatorAction.RETRY,
        eco=FORGED,
        reason="forged",
        outcome="queued",
    ),
    "production-ready ECO": ev.EcoProductionReady(
        eco=FORGED,
        approved_at=AT,
        production_ready_at=AT,
        cycle_time_seconds=0,
        plants=["P100"],
    ),
    "plant revision": ev.PlantRevisionChanged(
        plant="P100",
        item="ASM-1001",
        new_revision="Z",
        eco=FORGED,
        effective_from=date(2026, 3, 2),
    ),
    "notice status": ev.SupplierNoticeSent(
        eco=FORGED, supplier="S010", notice_id="N-FORGED", items=["ASM-1001"], attempt=1
    ),
}


def _event(data: ev.EventData, source: str) -> dict[str, object]:
    return ev.new_event(data, source=source, time=AT)


def _read_models(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                "audit entry": len(
                    connection.execute(
                        sa.select(operator_actions.c.actor).where(
                            operator_actions.c.actor == "admin@forged"
                        )
                    ).all()
                ),
                "production-ready ECO": len(
                    connection.execute(
                        sa.select(eco_status.c.eco).where(eco_status.c.eco == FORGED)
                    ).all()
                ),
                "plant revision": len(
                    connection.execute(
                        sa.select(plant_revisions.c.item).where(
                            plant_revisions.c.current_revision == "Z"
                        )
                    ).all()
                ),
                "notice status": len(
                    connection.execute(
                        sa.select(supplier_notices.c.supplier).where(
                            supplier_notices.c.eco == FORGED
                        )
                    ).all()
                ),
            }
    finally:
        engine.dispose()


@pytest.fixture
def collector(database_url: str) -> Iterator[httpx.Client]:
    with (
        running_collector(database_url, GRANTS) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield client


def _post(client: httpx.Client, token: str, event: dict[str, object]) -> httpx.Response:
    return client.post(
        "/events",
        json=event,
        headers={
            "content-type": "application/cloudevents+json",
            "authorization": f"Bearer {token}",
        },
    )


@pytest.mark.parametrize("what", sorted(FORGERIES))
def test_a_token_for_plm_cannot_emit_the_engines_types(
    collector: httpx.Client, database_url: str, what: str
) -> None:
    data = FORGERIES[what]
    response = _post(collector, PLM_TOKEN, _event(data, "/plm/erp-gateway"))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "FORBIDDEN_TYPE"
    assert ev.type_of(data) in response.text
    assert _read_models(database_url)[what] == 0


def test_the_owner_of_a_type_may_emit_it(collector: httpx.Client, database_url: str) -> None:
    for data in FORGERIES.values():
        response = _post(collector, ENGINE_TOKEN, _event(data, "/threadline/engine"))
        assert response.status_code == 202, response.text
    assert all(count > 0 for count in _read_models(database_url).values())


def test_a_forged_event_stored_earlier_is_ignored_on_rebuild(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        store = EventStore(engine)
        # Stored as an older collector would have: no authority check on the way in.
        store.append([_event(d, "/plm/erp-gateway") for d in FORGERIES.values()], "plm")
        store.rebuild()
    finally:
        engine.dispose()
    assert _read_models(database_url) == dict.fromkeys(FORGERIES, 0)
