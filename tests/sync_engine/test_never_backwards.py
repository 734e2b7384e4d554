"""A target never goes backwards: proven from the reference systems' own ledger.

Two ECOs change the same assembly; the earlier one's step is made to fail (ERP down until
its attempts run out) or to block (an inactive work center), and is then retried, skipped
after the change was made by hand, or its ECO cancelled. Once everything settles, ERP's
ledger shows every item's releases, and every plant's BOMs, routings and production
versions of it, in revision order, and the later ECO is production-ready.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.model import ItemKind, revision_key
from contracts.steps import StepKind, StepState, System
from simulators.testing import running_simulators
from simulators.world import build_world
from sync_engine import commands, store
from sync_engine.retry import RetryPolicy
from sync_engine.testing import FAST_RETRY, running_engine
from tests.sync_engine.scenario import Db, admin, burst, ledger, set_faults, wait_until

CONFIRMATION_DELAY = 0.3
SEED = 11
PLANT = "P100"
OPERATOR = "planner@example.com"
# Two attempts, quickly: the earlier ECO's release is a dead letter while ERP is down.
SHORT = RetryPolicy(max_attempts=2, base_delay=0.02, max_delay=0.05, max_retry_after=0.05)
ORDERED = ("bom.create", "routing.create", "production_version.request")


@dataclass(frozen=True)
class Case:
    """How the earlier ECO's step goes wrong and what the operator does about it."""

    trouble: str  # "failed": ERP down until attempts run out; "blocked": inactive work center
    resolution: str  # "retry", "skip" (after doing it by hand) or "cancel"


CASES = {
    "failed-then-retried": Case("failed", "retry"),
    "blocked-then-retried": Case("blocked", "retry"),
    "skipped": Case("failed", "skip"),
    "cancelled": Case("blocked", "cancel"),
}


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=SEED, confirmation_delay=CONFIRMATION_DELAY) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def _eco(sims: str, number: str) -> dict[str, Any]:
    with admin(sims) as client:
        return dict(client.get(f"/plm/ecos/{number}").json()["eco"])


def _inactive_used(sims: str, number: str) -> set[tuple[str, str]]:
    with admin(sims) as client:
        world = client.get("/plm/world").json()
    inactive = {(w["plant"], w["code"]) for w in world["work_centers"] if not w["active"]}
    return {
        (change["plant"], op["work_center"])
        for change in _eco(sims, number)["routing_changes"]
        for op in change["operations"]
        if (change["plant"], op["work_center"]) in inactive
    }


def _activate(sims: str, centers: set[tuple[str, str]]) -> None:
    with admin(sims) as client:
        for plant, code in sorted(centers):
            client.post(f"/erp/plants/{plant}/work-centers/{code}/activate").raise_for_status()


def _erp_faults(sims: str, **erp: Any) -> None:
    set_faults(sims, {"erp": {"confirmation_delay_seconds": CONFIRMATION_DELAY, **erp}})


def _step(db: Db, eco: str, kind: StepKind) -> store.StepRecord:
    (step,) = [s for s in db.steps(eco=eco, kind=kind) if s.plant in (None, PLANT)]
    return step


def _state(db: Db, eco: str, kind: StepKind) -> StepState | None:
    found = [s.state for s in db.steps(eco=eco, kind=kind) if s.plant in (None, PLANT)]
    return found[0] if found else None


def _assert_in_revision_order(sims: str, item: str) -> list[dict[str, Any]]:
    """ERP received no older revision of ``item`` after a newer one: globally for its
    releases, per plant for each kind of plant record and for its activations."""
    entries = [e for e in ledger(sims) if e.get("item") == item]
    streams: dict[tuple[str, str, str | None], list[str]] = {}
    for entry in entries:
        if entry["operation"] == "item_revision.release":
            key = ("erp", entry["operation"], None)
        elif entry["operation"] in (*ORDERED, "production_version.activate", "routing.release"):
            key = (entry["system"], entry["operation"], entry["plant"])
        else:
            continue
        streams.setdefault(key, []).append(entry["revision"])
    for key, revisions in streams.items():
        assert revisions == sorted(revisions, key=revision_key), (key, revisions)
    return entries


def _assembly_routed_at(plant: str) -> str:
    """An assembly with a routing at ``plant`` in the simulators' seeded world."""
    world = build_world(SEED)
    return min(
        item
        for (at, item) in world.routings
        if at == plant and world.items[item].kind is ItemKind.ASSEMBLY
    )


def _prepare(sims: str, case: Case, item: str) -> tuple[str, str | None, set[tuple[str, str]]]:
    """Approve the earlier ECO and set its trouble up (ERP down, or an inactive work
    center left inactive; the later ECO is approved too then); return both numbers (the
    later one ``None`` if not approved yet) and the work centers that stay inactive."""
    if case.trouble == "failed":
        (first,) = burst(sims, 1, items=[item], plants=[PLANT], suppliers=[])
        _activate(sims, _inactive_used(sims, first))
        _erp_faults(sims, outage_seconds=3600)
        return first, None, set()
    shape = {"items": [item], "plants": [PLANT], "suppliers": []}
    (first,) = burst(sims, 1, **shape, inactive_work_center_plant=PLANT)
    (second,) = burst(sims, 1, **shape)
    blocking = _inactive_used(sims, first)
    _activate(sims, _inactive_used(sims, second) - blocking)
    return first, second, blocking


def _trouble(
    sims: str, db: Db, case: Case, item: str, first: str, second: str | None
) -> tuple[str, str]:
    """Wait for the earlier ECO's step to fail or block; return the later ECO's number and
    the troubled step's id, once the later ECO's step of the same target is seen held."""
    if second is None:
        kind, held = StepKind.ERP_ITEM_REVISION, StepKind.ERP_ITEM_REVISION
        wait_until(lambda: _state(db, first, kind) is StepState.FAILED, 20, "the release to fail")
        _erp_faults(sims)
        (second,) = burst(sims, 1, items=[item], plants=[PLANT], suppliers=[])
        _activate(sims, _inactive_used(sims, second))
    else:
        kind, held = StepKind.ERP_ROUTING, StepKind.ERP_PRODUCTION_VERSION
        wait_until(lambda: _state(db, first, kind) is StepState.BLOCKED, 20, "the routing to block")
    wait_until(lambda: db.steps(eco=second), 20, "the later ECO to be planned")
    # Long enough for the later ECO's step to have gone, were it not held.
    time.sleep(1.0)
    later = _step(db, second, held)
    assert later.state is StepState.WAITING
    with db.engine.connect() as connection:
        assert store.waiting_behind(connection, [later.step_id]) == {later.step_id: first}
    return second, _step(db, first, kind).step_id


def _resolve(
    sims: str, db: Db, case: Case, first: str, step_id: str, blocking: set[tuple[str, str]]
) -> None:
    _activate(sims, blocking)
    if case.resolution == "retry":
        result = commands.retry_step(db.engine, step_id, actor=OPERATOR, reason="fixed")
        assert result.outcome == "queued", result
    elif case.resolution == "skip":
        payload = _step(db, first, StepKind.ERP_ITEM_REVISION).payload
        with admin(sims) as client:
            client.put(
                f"/erp/items/{payload['item']}/revisions/{payload['revision']}",
                json={"description": payload["description"]},
            ).raise_for_status()
        commands.skip_step(db.engine, step_id, actor=OPERATOR, reason="released by hand")
    else:
        commands.cancel_eco(db.engine, first, actor=OPERATOR, reason="replaced by the later ECO")


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_erp_never_receives_an_older_revision_after_a_newer_one(
    sims: str, database_url: str, db: Db, case: Case
) -> None:
    item = _assembly_routed_at(PLANT)
    first, approved, blocking = _prepare(sims, case, item)
    retry = {**{s: FAST_RETRY for s in System}, System.ERP: SHORT}
    with running_engine(database_url, sims, retry=retry):
        second, step_id = _trouble(sims, db, case, item, first, approved)
        _resolve(sims, db, case, first, step_id, blocking)
        end = "cancelled" if case.resolution == "cancel" else "production_ready"

        def settled() -> bool:
            states = db.eco_states()
            return states.get(first) == end and states.get(second) == "production_ready"

        wait_until(settled, 30, "both ECOs to settle")
    codes = {s.step_id: s.last_error_code for s in db.steps() if s.last_error_code}
    assert not [c for c in codes.values() if c.startswith("REVISION_")], codes
    entries = _assert_in_revision_order(sims, item)
    old, new = (_eco(sims, n)["affected_items"][0]["new_revision"] for n in (first, second))
    assert revision_key(old) < revision_key(new)
    releases = [e["revision"] for e in entries if e["operation"] == "item_revision.release"]
    assert releases == [old, new]
    revisions = httpx.get(f"{sims}/erp/plants/{PLANT}/revisions").json()["revisions"]
    assert revisions[item] == new
