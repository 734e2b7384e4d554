"""Business impact against the real simulators: the open orders stuck ECOs put at risk,
read by the engine, kept by the collector and shown by the dashboards, equal what ERP's
own order lists say, as sets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from collector.store import EventStore
from contracts.model import revision_key
from contracts.steps import StepState
from dashboards.impact import current_impact, exposure
from simulators.testing import running_simulators
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import Db, burst, set_faults, wait_until
from threadline.db import create_engine

TYPE = "io.threadline.eco.impact_assessed.v1"
STUCK = {StepState.BLOCKED, StepState.FAILED, StepState.AWAITING_QUALIFICATION}


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.3) as url:
        yield url


def _stuck(db: Db, numbers: list[str]) -> set[str]:
    return {s.eco for s in db.steps() if s.eco in numbers and s.state in STUCK}


def _truth(url: str, db: Db, ecos: set[str]) -> set[tuple[Any, ...]]:
    """Per stuck ECO, plant and item: ERP's open orders on an older revision."""
    found = set()
    with httpx.Client(base_url=url, timeout=10) as client:
        for number in sorted(ecos):
            eco = client.get(f"/plm/ecos/{number}").json()["eco"]
            for plant in eco["plants"]:
                for affected in eco["affected_items"]:
                    item, target = affected["item"], affected["new_revision"]
                    params = {"plant": plant, "component": item}
                    orders = client.get("/erp/purchase-orders", params=params).json()["items"]
                    params = {"plant": plant, "item": item, "starts_after": eco["effectivity"]}
                    runs = client.get("/erp/production-orders", params=params).json()["items"]
                    old = revision_key(target)
                    buying = [o for o in orders if revision_key(o["revision"]) < old]
                    building = [o for o in runs if revision_key(o["revision"]) < old]
                    if buying or building:
                        found.add((number, plant, item, len(buying), len(building)))
    return found


def _latest(events: list[dict[str, Any]], stuck: set[str]) -> set[tuple[Any, ...]]:
    """What the engine last reported of each scope of the stuck ECOs."""
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        latest[(data.get("eco"), data["plant"], data["item"])] = data
    return {
        (eco, plant, item, d["purchase_orders"], d["production_orders"])
        for (eco, plant, item), d in latest.items()
        if eco in stuck and (d["purchase_orders"] or d["production_orders"])
    }


def test_exposure_of_stuck_ecos_is_what_erp_reports(sims: str, database_url: str) -> None:
    set_faults(sims, {"procurement": {"qualification_delay_seconds": 3600}})
    numbers = burst(sims, 10)
    db = Db(database_url)
    seen: dict[str, Any] = {}

    def agreed() -> bool:
        stuck = _stuck(db, numbers)
        events = [e for e in db.events() if e["type"] == TYPE]
        truth = _truth(sims, db, stuck)
        seen.update(stuck=stuck, events=events, truth=truth)
        return bool(truth) and _latest(events, stuck) == truth

    try:
        with running_engine(database_url, sims, impact_interval=0.5):
            wait_until(agreed, 45, "the reported exposure to match ERP's orders", step=0.5)
    finally:
        db.close()
    stuck, events, truth = seen["stuck"], seen["events"], seen["truth"]
    engine = create_engine(database_url)
    try:
        EventStore(engine).append(events, "engine")
        rows = current_impact(engine)
        total = exposure(engine)
    finally:
        engine.dispose()
    shown = {
        (r.eco, r.plant, r.item, r.purchase_orders, r.production_orders)
        for r in rows.itertuples()
        if r.eco in stuck
    }
    assert shown == truth
    assert total.purchase_orders == int(rows["purchase_orders"].sum())
    assert total.scopes == len(rows)
    assert all(read is not None for read in rows["read_at"])
