"""A step stopped for a person shows its last call and every attempt: a real call to the
simulated ERP with credentials on the client, through the engine's caller and store, the
events relayed into the collector, read back by the dashboards query (both databases)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.steps import StepKind
from dashboards.dead_letters import step_trouble
from simulators.testing import running_simulators
from sync_engine import results, store
from sync_engine import tables as t
from sync_engine.calls import Caller
from sync_engine.connectors import ErpConnector, MesConnector, ProcurementConnector, new_client
from sync_engine.exchange import REMOVED
from sync_engine.retry import DEFAULT_POLICIES
from tests.console.world import EngineWorld
from tests.factories import make_eco
from tests.sync_engine.helpers import claim, receive

SECRETS = ("Bearer tl-secret-token", "sid=tl-secret-cookie", "tl-secret-key")


async def _call(base: str, steps: list[store.StepRecord]) -> list[object]:
    client = new_client(timeout=5.0)
    client.headers.update({"Authorization": SECRETS[0], "Cookie": SECRETS[1]})
    client.params = client.params.set("api_key", SECRETS[2])
    async with client:
        caller = Caller(
            erp=ErpConnector(client, f"{base}/erp"),
            mes=MesConnector(client, f"{base}/mes"),
            procurement=ProcurementConnector(client, f"{base}/procurement"),
            retry=DEFAULT_POLICIES,
            rng=random.Random(1),
        )
        return list(await asyncio.gather(*(caller.call(step) for step in steps)))


def test_a_blocked_step_shows_its_last_call_without_credentials(engine: sa.Engine) -> None:
    faults = {"erp": {"business_rate": 1.0, "business_code": "ITEM_LOCKED"}}
    world = EngineWorld(engine)
    receive(engine, make_eco())
    claimed = [s for s in claim(engine) if s.kind is StepKind.ERP_ITEM_REVISION]
    assert claimed
    with running_simulators(faults=faults) as base:
        outcomes = asyncio.run(_call(base, claimed))
    with engine.begin() as connection:
        results.record(connection, outcomes, now=datetime.now(UTC))  # type: ignore[arg-type]
    world.relay()

    step = claimed[0]
    trouble = step_trouble(engine, step.step_id)
    assert trouble.state == "blocked" and trouble.last_call is not None
    assert (trouble.last_call.category, trouble.last_call.code) == ("business", "ITEM_LOCKED")
    exchange = trouble.exchange
    assert exchange is not None and exchange["response"] is not None
    request, response = exchange["request"], exchange["response"]
    item, revision = step.payload["item"], step.payload["revision"]
    assert request["method"] == "PUT"
    assert request["url"] == f"{base}/erp/items/{item}/revisions/{revision}?api_key={REMOVED}"
    assert request["headers"]["idempotency-key"] == step.idempotency_key
    assert request["headers"]["authorization"] == REMOVED
    assert request["headers"]["cookie"] == REMOVED
    assert request["body"]["description"] == step.payload["description"]
    assert request["body"].get("compliance") == step.payload.get("compliance")
    assert response["status"] == 422
    assert response["body"]["code"] == "ITEM_LOCKED"
    assert list(trouble.attempts["attempt"]) == [1]
    attempt = trouble.attempts.iloc[0]
    assert (attempt.outcome, attempt.error_class, attempt.error_code) == (
        "blocked",
        "business",
        "ITEM_LOCKED",
    )
    assert attempt.http_status == 422 and attempt.started <= attempt.ended

    # Written without them, too: nothing stored holds a credential.
    with engine.connect() as connection:
        rows = connection.execute(sa.select(t.dead_letters)).all()
    stored = json.dumps([[row.request, row.response, row.message] for row in rows])
    assert stored.count("idempotency-key") == len(claimed)
    for secret in SECRETS:
        assert secret.split()[-1] not in stored


def test_a_step_never_stopped_has_attempts_but_no_kept_call(engine: sa.Engine) -> None:
    world = EngineWorld(engine)
    receive(engine, make_eco())
    step = claim(engine)[0]
    world.relay()
    trouble = step_trouble(engine, step.step_id)
    assert trouble.last_call is None and trouble.exchange is None
    assert list(trouble.attempts["outcome"]) == ["running"]
