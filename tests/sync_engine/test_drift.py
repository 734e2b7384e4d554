"""Drift against the real simulators: what reconciliation finds equals what PLM, ERP and
MES themselves report (as sets); the collector's drift read model follows it and a
rebuild reproduces it; an operator's re-sync ends a blocked drift; ``threadline reconcile``
prints the drift and exits 1 with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from collector.store import EventStore
from contracts.model import revision_key
from contracts.readmodel import DriftCause
from dashboards.drift import DriftFilter, drift_count, drift_page, drift_rows
from simulators.testing import running_simulators
from sync_engine import commands
from sync_engine.reconcile import reconcile_once
from sync_engine.testing import fast_config, running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    admin,
    burst,
    wait_until,
)

PLANTS = ("P100", "P200", "P300", "P400")


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.2) as url:
        yield url


def _approved(client: httpx.Client) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        params: dict[str, Any] = {"status": "approved", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/plm/ecos", params=params).json()
        found += [entry["eco"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def ground_truth(url: str) -> set[tuple[str, str]]:
    """Pairs where ERP or MES runs something else than PLM's newest effective approved
    revision (or an approved later one), or MES and ERP differ: read from the systems."""
    today = datetime.now(UTC).date()
    drifting = set()
    with admin(url) as client:
        ecos = _approved(client)
        for plant in PLANTS:
            erp = client.get(f"/erp/plants/{plant}/revisions").json()["revisions"]
            mes = client.get(f"/mes/plants/{plant}/revisions").json()["revisions"]
            newest: dict[str, str] = {}
            later: dict[str, set[str]] = {}
            for eco in ecos:
                if plant not in eco["plants"]:
                    continue
                for affected in eco["affected_items"]:
                    item, revision = affected["item"], affected["new_revision"]
                    if datetime.fromisoformat(eco["effectivity"]).date() > today:
                        later.setdefault(item, set()).add(revision)
                    elif revision_key(revision) > revision_key(newest.get(item, "")):
                        newest[item] = revision
            for item in set(erp) | set(mes):
                approved, running = newest.get(item), erp.get(item)
                ahead = running in later.get(item, set()) and revision_key(
                    running or ""
                ) > revision_key(approved or "")
                if approved is not None and running != approved and not ahead:
                    drifting.add((plant, item))
                if item in mes and mes[item] != running:
                    drifting.add((plant, item))
    return drifting


def _change_outside(url: str, plant: str, item: str, revision: str) -> None:
    """What a planner does in ERP by hand: a new revision and its production version."""
    with admin(url) as client:
        client.put(
            f"/erp/items/{item}/revisions/{revision}", json={"description": "by hand"}
        ).raise_for_status()
        client.post(
            f"/erp/plants/{plant}/production-versions", json={"item": item, "revision": revision}
        ).raise_for_status()


def _get(url: str, path: str) -> Any:
    with admin(url) as client:
        response = client.get(path)
        response.raise_for_status()
        return response.json()


def _project(database_url: str, db: Db) -> EventStore:
    store = EventStore(db.engine)
    store.append(db.events(), producer="engine")
    return store


def _rows(engine: sa.Engine) -> set[tuple[str, str, str, str | None]]:
    return {(r["plant"], r["item"], r["cause"].value, r["eco"]) for r in drift_rows(engine)}


def test_reconciliation_finds_exactly_the_drift_the_systems_show(
    database_url: str, sims: str
) -> None:
    db = Db(database_url)
    try:
        done_ecos = burst(sims, 2, plants=["P100", "P200"], effectivity_days=0)
        activate_inactive_work_centers(sims, done_ecos)
        (blocked,) = burst(
            sims, 1, plants=["P300"], effectivity_days=0, inactive_work_center_plant="P300"
        )
        with running_engine(database_url, sims):
            wait_until(lambda: db.ready(done_ecos), 60, "the first ECOs in production")
            wait_until(
                lambda: any(s.state.value == "blocked" for s in db.steps(eco=blocked)),
                60,
                "the routing at P300 blocked",
            )
        # A planner moves one of the ECO's assemblies at P100 on by hand in ERP.
        eco = _get(sims, f"/plm/ecos/{done_ecos[0]}")["eco"]
        erp_before = _get(sims, "/erp/plants/P100/revisions")["revisions"]
        item = next(
            a["item"]
            for a in eco["affected_items"]
            if a["item"].startswith("ASM") and a["item"] in erp_before
        )
        _change_outside(sims, "P100", item, "ZZ")
        wait_until(
            lambda: _get(sims, "/erp/plants/P100/revisions")["revisions"][item] == "ZZ",
            10,
            "ERP to activate the hand-made production version",
        )

        config = fast_config(sims)
        done = reconcile_once(db.engine, config, plants=PLANTS)
        truth = ground_truth(sims)
        assert {(d.plant, d.item) for d in done.drift} == truth
        assert truth, "the scenario makes drift"
        causes = {(d.plant, d.item): d for d in done.drift}
        blocked_pairs = [d for d in done.drift if d.eco == blocked]
        assert blocked_pairs and {d.cause for d in blocked_pairs} == {DriftCause.BLOCKED}
        assert causes[("P100", item)].cause is DriftCause.OUTSIDE
        assert causes[("P100", item)].erp_revision == "ZZ"

        # Reported once: a second run adds no drift event.
        before = len(db.events())
        again = reconcile_once(db.engine, config, plants=PLANTS)
        assert {(d.plant, d.item) for d in again.drift} == truth
        drift_events = [e for e in db.events()[before:] if ".drift_" in e["type"]]
        assert drift_events == []

        # The collector's read model shows the same rows, and a rebuild reproduces it.
        store = _project(database_url, db)
        shown = _rows(db.engine)
        assert {(p, i) for p, i, _, _ in shown} == truth
        assert drift_count(db.engine) == len(truth) == drift_page(db.engine, limit=500).total
        blocked_only = DriftFilter(causes=(DriftCause.BLOCKED,))
        assert drift_count(db.engine, blocked_only) == len(blocked_pairs)
        store.rebuild()
        assert _rows(db.engine) == shown

        # Re-sync the blocked drift once its work center is active: it ends.
        activate_inactive_work_centers(sims, [blocked])
        target = blocked_pairs[0]
        result = commands.resync_drift(
            db.engine, target.plant, target.item, actor="ana", role="operator", reason="WC fixed"
        )
        assert result.outcome == "queued" and result.affected >= 1
        with running_engine(database_url, sims):
            wait_until(lambda: db.ready([blocked]), 60, "the blocked ECO in production")
        final = reconcile_once(db.engine, config, plants=PLANTS)
        assert {(d.plant, d.item) for d in final.drift} == ground_truth(sims)
        # What is left of the ECO's drift is no longer its blocked routing (MES may still
        # run another revision where the ECO gave it no routing).
        assert not [d for d in final.drift if d.eco == blocked and d.cause is DriftCause.BLOCKED]
        assert (target.plant, target.item, DriftCause.BLOCKED.value, blocked) not in {
            (d.plant, d.item, d.cause.value, d.eco) for d in final.drift
        }
        _project(database_url, db)
        assert _rows(db.engine) == {(d.plant, d.item, d.cause.value, d.eco) for d in final.drift}
        audit = [e["data"] for e in db.events() if e["type"] == "io.threadline.operator.action.v1"]
        assert [(a["action"], a["outcome"]) for a in audit] == [("resync", "queued")]
    finally:
        db.close()


def test_threadline_reconcile_prints_the_drift_and_exits_1_with_it(
    database_url: str, sims: str
) -> None:
    # The seeded world has plants where MES runs another revision than ERP, and others
    # where they agree (see the simulators' own answers).
    with admin(sims) as client:
        differ = {
            plant: sorted(
                item
                for item, revision in client.get(f"/mes/plants/{plant}/revisions")
                .json()["revisions"]
                .items()
                if client.get(f"/erp/plants/{plant}/revisions").json()["revisions"].get(item)
                != revision
            )
            for plant in PLANTS
        }
    drifting = next(p for p in PLANTS if differ[p])
    calm = next(p for p in PLANTS if not differ[p])
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_PLM_URL": f"{sims}/plm",
        "THREADLINE_ERP_URL": f"{sims}/erp",
        "THREADLINE_MES_URL": f"{sims}/mes",
    }

    def run(plant: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "threadline", "reconcile", "--plant", plant, "--exit-code"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    found = run(drifting)
    assert found.returncode == 1, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].split()[:6] == ["plant", "item", "PLM", "ERP", "MES", "expected"]
    assert sorted(line.split()[1] for line in lines[1:-1]) == differ[drifting]
    assert all("outside" in line for line in lines[1:-1])
    quiet = run(calm)
    assert quiet.returncode == 0, quiet.stderr
    assert len(quiet.stdout.splitlines()) == 2  # the header and the summary
