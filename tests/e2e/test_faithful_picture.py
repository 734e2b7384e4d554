"""The faithful picture: what the console shows equals what the systems of record report.

The real simulators, engine and collector over loopback HTTP, under a fault mix: the
supplier portal down for a while, suppliers whose contact bounces or whose portal is
unreliable, routings refused for inactive work centers (one fixed and retried by an
operator), ECOs cancelled and superseded in PLM and cancelled by an operator, one
effective later, ECOs as the generator draws them, and ERP slow to confirm the last ones.
Once the engine has done all it can, one reconciliation runs and the outbox is drained to
the collector. Then every list the console shows, read with the ``dashboards`` query
functions under the filter its Overview figure links with, is compared with ground truth
read from PLM, ERP, MES, procurement and the ledger themselves (:mod:`tests.e2e.truth`),
as sets of keys; each figure must equal the size of its set, and a rebuild of the read
models from the stored events must show the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from collector.derived import ConfirmationSla
from collector.store import EventStore
from collector.testing import running_collector
from contracts.events import ENGINE
from contracts.steps import StepKind, StepState
from dashboards.confirmations import awaiting_confirmation
from dashboards.drift import drift_page
from dashboards.exceptions import stuck_plants
from dashboards.impact import current_impact, exposure
from dashboards.notices import failed_notices
from dashboards.overview import (
    AWAITING,
    BLOCKED_PLANTS,
    DRIFT,
    FAILED_NOTICES,
    PAST_SLA,
    overview_kpis,
)
from dashboards.qualifications import (
    QualificationFilter,
    count_waiting,
    rejected,
    waiting_on_qualification,
)
from dashboards.revisions import behind_pairs, late_plants
from simulators.app import SimulatorConfig, create_app
from simulators.generator import GeneratorConfig
from simulators.testing import serving
from simulators.world import build_world
from sync_engine import commands, store
from sync_engine.reconcile import reconcile_once
from sync_engine.testing import fast_config, running_engine
from tests.e2e import sourcing_truth, truth
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    admin,
    burst,
    set_faults,
    wait_until,
)

pytestmark = pytest.mark.e2e

SEED = 11
TOKEN = "engine-token-for-the-faithful-picture"
GRANT = {"producer": ENGINE, "sources": ["/threadline/"], "types": ["io.threadline."]}
OPERATOR = "ops@example.com"
CONFIRMATION_DELAY = 0.3
SLOW_CONFIRMATION = 3600.0
# One plant's confirmations are due within a second, so the slow ECOs are past SLA there
# and on time everywhere else.
SLA_PLANT = "P100"
SLA = ConfirmationSla(default_seconds=3600.0, by_plant={SLA_PLANT: 1.0})
OPEN = (StepState.PENDING, StepState.RUNNING, StepState.RETRYING)


def _faults(
    *, procurement: dict[str, Any] | None = None, delay: float = CONFIRMATION_DELAY
) -> dict[str, Any]:
    """Every system's faults at once (``PUT /_admin/faults`` replaces them all). Sourcing
    and quality take an hour to decide a qualification, so every one requested in the run
    is still pending at its end."""
    faults: dict[str, Any] = {"erp": {"confirmation_delay_seconds": delay}}
    faults["procurement"] = {"qualification_delay_seconds": 3600.0, **(procurement or {})}
    return faults


def _assemblies(count: int) -> list[str]:
    """Distinct assemblies routed at two plants or more, so each ECO changes routings
    (which an inactive work center can block) and no two ECOs share an item: every hold
    in the run is one the scenario made, not two ECOs queued on the same item."""
    routed: dict[str, set[str]] = {}
    world = build_world(SEED)
    for routing in world.routings.values():
        routed.setdefault(routing.item, set()).add(routing.plant)
    found = sorted(
        number
        for number, item in world.items.items()
        if item.kind.value == "assembly" and len(routed.get(number, ())) >= 2
    )
    assert len(found) >= count
    return found[:count]


def _routed_plant(item: str, avoid: str | None = None) -> str:
    """A plant where ``item`` is routed, other than ``avoid``."""
    plants = sorted(r.plant for r in build_world(SEED).routings.values() if r.item == item)
    return next(p for p in plants if p != avoid)


@pytest.fixture
def sims() -> Iterator[str]:
    # Only the ECOs the scenario asks for use an inactive work center, so that every
    # activation it makes is one it knows about (see the blocked ECOs below).
    config = SimulatorConfig(
        seed=SEED,
        confirmation_delay=CONFIRMATION_DELAY,
        generator=GeneratorConfig(inactive_work_center_share=0.0),
    )
    with serving(create_app(config), name="simulators") as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def _settled(db: Db) -> Any:
    """A snapshot of every step's state once nothing is running or due; ``None`` before."""
    steps = db.steps()
    if any(s.state in OPEN for s in steps):
        return None
    return sorted((s.step_id, s.state.value) for s in steps)


def _quiet(db: Db, timeout: float) -> None:
    """Wait until the engine has done all it can: no step running or due, twice in a row
    a second apart (a dependency that just finished promotes its successor in between)."""
    previous: list[Any] = [None]

    def still() -> bool:
        snapshot = _settled(db)
        same = snapshot is not None and snapshot == previous[0]
        previous[0] = snapshot
        return same

    wait_until(still, timeout, "the engine to settle", step=1.0)


def _blocked(db: Db, eco: str) -> bool:
    return any(
        s.kind is StepKind.ERP_ROUTING for s in db.steps(eco=eco, states=[StepState.BLOCKED])
    )


def test_every_figure_equals_what_the_systems_of_record_report(
    sims: str, database_url: str, db: Db
) -> None:
    started = time.monotonic()
    with admin(sims) as client:
        world = client.get("/plm/world").json()
    suppliers = world["suppliers"]
    reachable = [
        s["code"] for s in suppliers if not s["invalid_contact"] and not s["unreliable_portal"]
    ]
    unreliable = [
        s["code"] for s in suppliers if s["unreliable_portal"] and not s["invalid_contact"]
    ]
    bouncing = [s["code"] for s in suppliers if s["invalid_contact"]]
    assert reachable and unreliable and bouncing
    items = iter(_assemblies(12))

    def one(**shape: Any) -> str:
        item = next(items)
        (number,) = burst(sims, 1, items=[item], **shape)
        return number

    stopped: set[str] = set()
    with (
        running_collector(database_url, {TOKEN: GRANT}, sla=SLA) as collector,
        running_engine(
            database_url,
            sims,
            collector_url=collector,
            collector_token=SecretStr(TOKEN),
            impact_interval=1.0,
        ),
    ):
        # The supplier portal is down while the first ECOs notify: every attempt fails
        # until the notices are dead letters; the portal then comes back.
        set_faults(sims, _faults(procurement={"error_rate": 1.0}))
        portal_down = [
            one(effectivity_days=0, suppliers=[reachable[0], reachable[1 % len(reachable)]])
            for _ in range(2)
        ]
        activate_inactive_work_centers(sims, portal_down)

        def notices_dead() -> bool:
            notices = [
                s
                for n in portal_down
                for s in db.steps(eco=n)
                if s.kind is StepKind.SUPPLIER_NOTICE
            ]
            return bool(notices) and all(s.state is StepState.FAILED for s in notices)

        wait_until(notices_dead, 60, "the notices to run out of attempts")
        set_faults(sims, _faults())

        # ECOs that finish (one telling an unreliable portal, one a bouncing contact), one
        # effective in ten days, and four whose routing is refused at a plant.
        finishing = [
            one(effectivity_days=0, suppliers=[reachable[0], unreliable[0]]),
            one(effectivity_days=0, suppliers=[bouncing[0], reachable[0]]),
        ]
        later = one(effectivity_days=10, suppliers=[reachable[0]])
        activate_inactive_work_centers(sims, [*finishing, later])
        # ECOs as the generator draws them: any items (components too, sharing items with
        # each other, so some wait behind others), plants, suppliers and effectivity.
        burst(sims, 20)
        # The one left blocked is at another plant than the one fixed: activating a work
        # center there lets no refused routing of the blocked ECO through unseen (ERP's
        # ledger shows activations, not which refusal they answer).
        refused: dict[str, str] = {}
        at: dict[str, str] = {}
        for role in ("blocked", "fixed", "plm_cancelled", "plm_superseded", "operator_cancelled"):
            item = next(items)
            plant = at[role] = _routed_plant(item, avoid=at.get("blocked"))
            (refused[role],) = burst(
                sims, 1, items=[item], effectivity_days=0, inactive_work_center_plant=plant
            )
        wait_until(
            lambda: all(_blocked(db, n) for n in refused.values()), 60, "the routings refused"
        )

        # PLM cancels one and supersedes another by a new ECO; an operator cancels a third
        # (PLM still approves it); a planner activates the fourth's work center and an
        # operator retries it.
        with admin(sims) as client:
            client.post(f"/_admin/ecos/{refused['plm_cancelled']}/cancel").raise_for_status()
            replaced = client.post(f"/_admin/ecos/{refused['plm_superseded']}/supersede")
            replaced.raise_for_status()
        successor = replaced.json()["superseded_by"]["eco"]["number"]
        result = commands.cancel_eco(
            db.engine, refused["operator_cancelled"], actor=OPERATOR, reason="redesign coming"
        )
        assert result.outcome == "cancelled", result
        stopped.add(refused["operator_cancelled"])
        activate_inactive_work_centers(sims, [refused["fixed"]])
        for step in db.steps(eco=refused["fixed"], states=[StepState.BLOCKED]):
            commands.retry_step(db.engine, step.step_id, actor=OPERATOR, reason="WC active")
        # The bouncing contact keeps the second ECO from production-ready; the rest settle.
        wait_until(
            lambda: db.ready([finishing[0], refused["fixed"], successor]), 90, "the ECOs to finish"
        )

        # ERP now confirms slowly: the last ECOs' production versions stay pending.
        set_faults(sims, _faults(delay=SLOW_CONFIRMATION))
        slow = [one(effectivity_days=0, suppliers=[reachable[0]]) for _ in range(2)]
        activate_inactive_work_centers(sims, slow)
        wait_until(
            lambda: all(db.steps(eco=n, states=[StepState.AWAITING_CONFIRMATION]) for n in slow),
            60,
            "ERP to hold the slow ECOs' production versions",
        )
        _quiet(db, 60)
        with admin(sims) as client:
            plants = [p["code"] for p in client.get("/plm/world").json()["plants"]]
        reconcile_once(db.engine, fast_config(sims), plants=plants)
        # What the blocked plants put at risk, as ERP's own order lists say; the engine
        # reads it again every second until it reports the same.
        # What the stuck ECOs put at risk, as ERP's own order lists say; the engine reads
        # it again every second until it reports the same.
        settled = truth.read_systems(sims)
        then = sourcing_truth.read_sourcing(sims, settled)
        stuck_then = _stuck_pairs(settled, _truth(settled, then, datetime.now(UTC), stopped))
        at_risk = truth.exposure(sims, settled, stuck_then)
        wait_until(
            lambda: _reported_exposure(db, stuck_then) == at_risk,
            30,
            "the engine to report what the stuck ECOs put at risk",
        )

        def drained() -> bool:
            with db.engine.connect() as connection:
                return store.outbox_backlog(connection) == 0

        wait_until(drained, 30, "the outbox to drain")
    worked = time.monotonic() - started

    now = datetime.now(UTC)
    systems = truth.read_systems(sims)
    sourcing = sourcing_truth.read_sourcing(sims, systems)
    expected = _truth(systems, sourcing, now, stopped)
    assert _shown(db.engine, now) == expected
    assert _figures(db.engine, now) == {name: len(keys) for name, keys in expected.items()}

    # The exposure the console shows for the stuck ECOs is what ERP's orders say, and the
    # Overview's exposure figure counts exactly the rows of the Exposure page.
    shown_exposure = current_impact(db.engine)
    stuck = _stuck_pairs(systems, expected)
    assert _exposure_rows(shown_exposure, stuck) == truth.exposure(sims, systems, stuck)
    assert at_risk and exposure(db.engine).scopes == len(shown_exposure)
    assert exposure(db.engine).purchase_orders == int(shown_exposure["purchase_orders"].sum())

    # Every list holds what the scenario made, so no comparison above is of empty sets.
    assert expected["behind"] and expected["drift"] and expected["waiting_qualification"]
    assert {eco for eco, _, _ in expected["awaiting"]} == set(slow)
    assert expected["past_sla"] and expected["awaiting"] - expected["past_sla"]
    assert refused["blocked"] in {eco for eco, _ in expected["blocked"]}
    assert not {eco for eco, _ in expected["blocked"]} & {*refused.values(), successor} - {
        refused["blocked"]
    }
    assert {(n, reachable[0]) for n in portal_down} <= expected["unnotified"]
    assert (finishing[1], bouncing[0]) in expected["unnotified"]

    # The read models are projections of the stored events: a rebuild shows the same.
    EventStore(db.engine, sla=SLA).rebuild()
    assert _shown(db.engine, now) == expected
    assert worked < 150, f"the scenario took {worked:.0f} s"


def _truth(
    systems: truth.Systems, sourcing: sourcing_truth.Sourcing, now: datetime, stopped: set[str]
) -> dict[str, set[Any]]:
    """What PLM, ERP, MES, procurement and the ledger report, per list."""
    today = now.date()
    return {
        "behind": truth.behind(systems, today),
        "awaiting": truth.awaiting_confirmation(systems),
        "past_sla": truth.awaiting_confirmation(
            systems, now=now, sla=SLA.by_plant, default_sla=SLA.default_seconds
        ),
        "blocked": truth.blocked_plants(systems, stopped),
        "unnotified": truth.unnotified(systems, stopped, sourcing_truth.owed(sourcing, systems)),
        "drift": truth.drifting(systems, today),
        "waiting_qualification": sourcing_truth.qualifications(
            sourcing, systems, "pending", stopped
        ),
        "rejected_qualification": sourcing_truth.qualifications(
            sourcing, systems, "rejected", stopped
        ),
    }


def _shown(engine: sa.Engine, now: datetime) -> dict[str, set[Any]]:
    """The same keys from the console's query functions, each list as its figure filters it."""
    today = now.date()
    behind = late_plants(engine, today=today, limit=500).rows
    awaiting = awaiting_confirmation(engine, AWAITING, now=now, limit=500).rows
    past_sla = awaiting_confirmation(engine, PAST_SLA, now=now, limit=500).rows
    blocked = stuck_plants(engine, BLOCKED_PLANTS, limit=500).rows
    notices = failed_notices(engine, FAILED_NOTICES, limit=500).rows
    drift = drift_page(engine, DRIFT, limit=500).rows
    waiting = waiting_on_qualification(engine, now=now, limit=500).rows
    refused = rejected(engine)
    triple = list(QUALIFICATION)
    return {
        "behind": set(zip(behind["plant"], behind["item"], strict=True)),
        "awaiting": set(zip(awaiting["eco"], awaiting["plant"], awaiting["item"], strict=True)),
        "past_sla": set(zip(past_sla["eco"], past_sla["plant"], past_sla["item"], strict=True)),
        "blocked": set(zip(blocked["eco"], blocked["plant"], strict=True)),
        "unnotified": set(zip(notices["eco"], notices["supplier"], strict=True)),
        "drift": set(zip(drift["plant"], drift["item"], strict=True)),
        "waiting_qualification": set(waiting[triple].itertuples(index=False, name=None)),
        "rejected_qualification": set(refused[triple].itertuples(index=False, name=None)),
    }


def _figures(engine: sa.Engine, now: datetime) -> dict[str, int]:
    """The Overview's figures, named as the lists they count."""
    kpis = overview_kpis(engine, now=now)
    behind = behind_pairs(engine, today=now.date())
    assert kpis.plants_on_prior_revision == behind["plant"].nunique()
    return {
        "behind": kpis.prior_revision.value,
        "awaiting": kpis.awaiting_confirmation.value,
        "past_sla": kpis.awaiting_past_sla.value,
        "blocked": kpis.blocked_plants.value,
        "unnotified": kpis.failed_supplier_notices.value,
        "drift": kpis.drift.value,
        "waiting_qualification": _waiting_figure(engine, now),
        "rejected_qualification": len(rejected(engine).drop_duplicates(QUALIFICATION)),
    }


QUALIFICATION = ("supplier", "component", "revision")
IMPACT = "io.threadline.eco.impact_assessed.v1"


def _stuck_pairs(systems: truth.Systems, expected: dict[str, set[Any]]) -> set[Any]:
    """(ECO, plant) of every ECO the systems show stuck: a plant blocked, a notice owed, or
    purchasing waiting on (or refused) a qualification; every plant of such an ECO."""
    numbers = {eco for eco, _ in expected["blocked"] | expected["unnotified"]}
    held = {
        (component, revision)
        for _, component, revision in expected["waiting_qualification"]
        | expected["rejected_qualification"]
    }
    for eco in systems.approved:
        if any((a["item"], a["new_revision"]) in held for a in eco["affected_items"]):
            numbers.add(eco["number"])
    return {
        (eco["number"], plant)
        for eco in systems.approved
        if eco["number"] in numbers
        for plant in eco["plants"]
    }


def _exposure_rows(rows: Any, pairs: set[Any]) -> set[tuple[Any, ...]]:
    return {
        (r.eco, r.plant, r.item, r.purchase_orders, r.production_orders)
        for r in rows.itertuples()
        if (r.eco, r.plant) in pairs
    }


def _reported_exposure(db: Db, pairs: set[Any]) -> set[tuple[Any, ...]]:
    """What the engine last reported of each scope of ``pairs`` (its outbox)."""
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in db.events():
        if event["type"] == IMPACT:
            data = event["data"]
            latest[(data.get("eco"), data["plant"], data["item"])] = data
    return {
        (eco, plant, item, d["purchase_orders"], d["production_orders"])
        for (eco, plant, item), d in latest.items()
        if (eco, plant) in pairs and (d["purchase_orders"] or d["production_orders"])
    }


def _waiting_figure(engine: sa.Engine, now: datetime) -> int:
    """The qualifications the Supplier qualification page says info records wait on."""
    waiting = waiting_on_qualification(engine, now=now, limit=500)
    with engine.connect() as connection:
        assert count_waiting(connection, QualificationFilter(), now=now) == waiting.total
    return len(waiting.rows.drop_duplicates(list(QUALIFICATION)))
