"""Plants on a prior revision equal what the systems of record report, as sets.

The real simulators, engine and collector over loopback: ECOs effective today that finish,
one whose routing is blocked at a plant, one on a purchased component alone (no BOM
consumes its new revision), one effective later, and two that ERP is slow to confirm.
Then the pairs :func:`dashboards.revisions.behind_pairs` lists must be exactly those where
ERP or MES (their own APIs) runs an older revision than the newest one PLM (its own API)
approved and made effective by today.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collector.testing import running_collector
from contracts.events import ENGINE
from contracts.model import revision_key
from contracts.steps import StepState
from dashboards.revisions import behind_pairs, count_behind, late_plants
from simulators.testing import running_simulators
from sync_engine import store
from sync_engine.reconcile import reconcile_once
from sync_engine.testing import fast_config, running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    burst,
    set_faults,
    wait_until,
)
from threadline.db import create_engine

TOKEN = "engine-token-for-revision-tests"
GRANT = {"producer": ENGINE, "sources": ["/threadline/"], "types": ["io.threadline."]}


def approved_ecos(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "approved", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/plm/ecos", params=params).json()
        found.extend(entry["eco"] for entry in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return found


def truly_behind(url: str, today: date) -> set[tuple[str, str]]:
    """From PLM, ERP and MES alone: pairs running older than the newest effective ECO."""
    with httpx.Client(base_url=url, timeout=10) as client:
        newest: dict[tuple[str, str], str] = {}
        for eco in approved_ecos(client):
            if date.fromisoformat(eco["effectivity"]) > today:
                continue
            for plant in eco["plants"]:
                for affected in eco["affected_items"]:
                    pair, revision = (plant, affected["item"]), affected["new_revision"]
                    if pair not in newest or revision_key(revision) > revision_key(newest[pair]):
                        newest[pair] = revision
        behind = set()
        for plant in {p for p, _ in newest}:
            erp = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
            mes = client.get(f"/mes/plants/{plant}/revisions").json()["revisions"]
            for (at, item), revision in newest.items():
                if at != plant or item not in erp:
                    continue  # the plant does not use the item
                running = [erp[item], *([mes[item]] if item in mes else [])]
                if any(revision_key(r) < revision_key(revision) for r in running):
                    behind.add((plant, item))
        return behind


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.3) as url:
        yield url


def test_plants_behind_are_exactly_the_pairs_erp_and_mes_run_behind(
    sims: str, database_url: str
) -> None:
    with httpx.Client(base_url=sims, timeout=10) as client:
        plants = [p["code"] for p in client.get("/plm/world").json()["plants"]]
        master = client.get(f"/erp/plants/{plants[0]}/items").json()["items"]
    component = next(i["item"] for i in master if i["source"] == "bom")
    finishing = burst(sims, 4, effectivity_days=0)
    activate_inactive_work_centers(sims, finishing)
    (blocked,) = burst(sims, 1, effectivity_days=0, inactive_work_center_plant=plants[0])
    (alone,) = burst(sims, 1, effectivity_days=0, items=[component], plants=[plants[0]])
    (later,) = burst(sims, 1, effectivity_days=10)
    activate_inactive_work_centers(sims, [later])
    db = Db(database_url)
    reader = create_engine(database_url)
    try:
        with (
            running_collector(database_url, {TOKEN: GRANT}) as collector,
            running_engine(
                database_url, sims, collector_url=collector, collector_token=SecretStr(TOKEN)
            ),
        ):
            wait_until(lambda: db.ready([*finishing, alone]), 90, "the ECOs to finish")
            wait_until(
                lambda: db.steps(eco=blocked, states=[StepState.BLOCKED]), 30, "a blocked plant"
            )
            set_faults(sims, {"erp": {"confirmation_delay_seconds": 3600}})
            slow = burst(sims, 2, effectivity_days=0)
            activate_inactive_work_centers(sims, slow)
            wait_until(
                lambda: all(
                    db.steps(eco=n, states=[StepState.AWAITING_CONFIRMATION]) for n in slow
                ),
                60,
                "ERP to hold the slow ECOs' production versions",
            )
            reconcile_once(reader, fast_config(sims), plants=plants)

            def drained() -> bool:
                with reader.connect() as connection:
                    return store.outbox_backlog(connection) == 0

            wait_until(drained, 30, "the outbox to drain")
        today = datetime.now(UTC).date()
        truth = truly_behind(sims, today)
        rows = behind_pairs(reader, today=today)
        with reader.connect() as connection:
            figure = count_behind(connection, today=today)
        page = late_plants(reader, today=today, limit=500)
    finally:
        db.close()
        reader.dispose()

    listed = set(zip(rows["plant"], rows["item"], strict=True))
    assert listed == truth
    assert {eco for eco in rows["target_eco"]} >= {blocked, alone, *slow}
    assert not set(rows["target_eco"]) & {*finishing, later}
    reasons = dict(zip(rows["target_eco"], rows["reason"], strict=False))
    assert reasons[blocked].startswith("blocked")
    assert reasons[slow[0]] == "awaiting ERP confirmation"
    assert reasons[alone] == "no step of the ECO changes it at this plant"
    assert (figure.pairs, figure.plants) == (len(truth), len({p for p, _ in truth}))
    assert page.total == len(page.rows) == len(truth)
