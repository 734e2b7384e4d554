"""Helpers for the engine's scenarios against the real simulators over loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from sync_engine import store
from sync_engine import tables as t
from threadline.db import create_engine


def admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10)


def burst(url: str, count: int, **shape: Any) -> list[str]:
    with admin(url) as client:
        response = client.post("/_admin/ecos", json={"count": count, **shape})
        response.raise_for_status()
        return list(response.json()["ecos"])


def activate_inactive_work_centers(url: str, numbers: list[str]) -> int:
    """Activate every inactive work center the given ECOs' routings use (so they can finish)."""
    with admin(url) as client:
        world = client.get("/plm/world").json()
        inactive = {(w["plant"], w["code"]) for w in world["work_centers"] if not w["active"]}
        used = set()
        for number in numbers:
            eco = client.get(f"/plm/ecos/{number}").json()["eco"]
            for change in eco["routing_changes"]:
                for op in change["operations"]:
                    if (change["plant"], op["work_center"]) in inactive:
                        used.add((change["plant"], op["work_center"]))
        for plant, code in used:
            client.post(f"/erp/plants/{plant}/work-centers/{code}/activate").raise_for_status()
        return len(used)


def ledger(url: str, system: str | None = None) -> list[dict[str, Any]]:
    with admin(url) as client:
        params = {"system": system} if system else {}
        body = client.get("/_admin/ledger", params=params).json()
        assert body["dropped"] == 0
        return list(body["entries"])


def set_faults(url: str, faults: dict[str, Any]) -> None:
    with admin(url) as client:
        client.put("/_admin/faults", json=faults).raise_for_status()


def wait_until(check: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


class Db:
    """Reads of the engine's tables for assertions."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def eco_states(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return store.eco_states(connection)

    def ready(self, numbers: list[str]) -> bool:
        states = self.eco_states()
        return all(states.get(n) == "production_ready" for n in numbers)

    def steps(self, **filters: Any) -> list[store.StepRecord]:
        with self.engine.connect() as connection:
            return store.find_steps(connection, **filters)

    def events(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(t.outbox).order_by(t.outbox.c.id)).all()
        return [dict(row.event) for row in rows]


def assert_exactly_once(url: str, db: Db) -> list[dict[str, Any]]:
    """Every change the engine made was applied once, under its step's key, and MES
    released no routing before ERP activated its production version."""
    entries = ledger(url)
    keyed: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry["idempotency_key"]:
            keyed.setdefault(entry["idempotency_key"], []).append(entry)
    duplicates = {k: v for k, v in keyed.items() if len(v) > 1}
    assert duplicates == {}, f"applied more than once: {duplicates}"
    succeeded = [
        s for s in db.steps() if s.state.value == "succeeded" and s.kind.value != "erp.confirmation"
    ]
    missing = [s.step_id for s in succeeded if s.idempotency_key not in keyed]
    assert missing == [], f"succeeded without an applied change: {missing}"
    activated = {
        e["production_version"]: e["seq"]
        for e in entries
        if e["operation"] == "production_version.activate"
    }
    for entry in entries:
        if entry["system"] == "mes" and entry["operation"] == "routing.release":
            pv = entry["production_version"]
            assert pv in activated and activated[pv] < entry["seq"], entry
    return entries


def world(url: str) -> dict[str, Any]:
    with admin(url) as client:
        return dict(client.get("/plm/world").json())
