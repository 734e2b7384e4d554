"""The simulators' history and the engine plan the same steps (STYLE.md 19).

For every ECO the history plays out, the steps its events name (id, kind, plant, target,
revision, idempotency key) are exactly what ``contracts.plan`` returns for that ECO, and
the withdrawals it runs after a cancellation are exactly what ``contracts.plan.compensation``
plans for the writes its events show succeeded before the cancellation (BOMs ERP took as
effective and writes of a plant whose version was confirmed are left, and counted). Step
events carry no dependencies, so those are checked twice over: the playout's dependency
graph is the plan's, and the events honour it (no step becomes due before all it depends
on is done, a withdrawal included).

Nothing is excluded for cancellations: the history schedules every planned step
(``waiting``) when it receives the ECO, which is always before any cancellation, so even a
step the cancellation stopped short appears in the events.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.model import Eco, ItemKind
from contracts.plan import AppliedWrite, PlannedStep, compensation, plan
from contracts.steps import COMPENSATION_KINDS, StepKind, StepState
from simulators.generator import EcoGenerator
from simulators.history import PlannedEco, play
from simulators.playout import Playout
from simulators.playpurchase import plan_sourcing
from simulators.world import World, build_world, plant_today

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LATER = timedelta(days=365)
"""How far past approval a test's history ends: every propagation finishes well before."""

Row = tuple[str, str, str | None, str | None, str | None, str]
"""(step_id, kind, plant, target, revision, idempotency_key) of one step."""


@cache
def world() -> World:
    return build_world(7)


@cache
def generated() -> tuple[Eco, ...]:
    """A stream of live ECOs from the generator of the same world."""
    generator = EcoGenerator(world())
    return tuple(
        generator.generate(START + timedelta(minutes=n), fates=False)[0] for n in range(200)
    )


def _row(step: Any) -> Row:
    return (
        step.step_id,
        step.kind.value,
        step.plant,
        step.item or step.supplier,
        step.revision,
        step.idempotency_key,
    )


def _rows_in(events: list[dict[str, Any]]) -> dict[str, Row]:
    """Each step the events name, once; every event of a step names it the same way."""
    rows: dict[str, Row] = {}
    for event in events:
        if not event["type"].startswith("io.threadline.step."):
            continue
        data = event["data"]
        row = (
            data["step_id"],
            data["kind"],
            data.get("plant"),
            data.get("item") or data.get("supplier"),
            data.get("revision"),
            data["idempotency_key"],
        )
        assert rows.setdefault(row[0], row) == row
    return rows


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def _first_time(
    events: list[dict[str, Any]], step_id: str, states: Collection[str]
) -> datetime | None:
    for event in events:
        data = event["data"]
        if data.get("step_id") == step_id and data.get("to_state") in states:
            return _time(event)
    return None


def _succeeded_before_cancel(
    eco: Eco, planned: tuple[PlannedStep, ...], events: list[dict[str, Any]]
) -> list[AppliedWrite]:
    """The writes the events show succeeded before the ECO was cancelled, as the engine
    would hold them: a BOM ERP took as effective when its valid_from had come at the plant
    (ERP's rule), a plant's writes confirmed once its confirmation had succeeded."""
    cancel = next(n for n, e in enumerate(events) if e["type"] == "io.threadline.eco.cancelled.v1")
    last: dict[str, tuple[str, datetime]] = {}
    for event in events[:cancel]:
        data = event["data"]
        if event["type"].startswith("io.threadline.step."):
            last[data["step_id"]] = (data["to_state"], _time(event))
    succeeded = {sid: at for sid, (state, at) in last.items() if state == StepState.SUCCEEDED}
    confirmed = {
        (s.plant, s.item)
        for s in planned
        if s.kind is StepKind.ERP_CONFIRMATION and s.step_id in succeeded
    }
    writes = []
    for step in planned:
        at = succeeded.get(step.step_id)
        if at is None:
            continue
        effective = False
        if step.kind is StepKind.ERP_BOM:
            plant = world().plant(step.plant or "")
            assert plant is not None
            effective = eco.effectivity <= plant_today(plant, at)
        writes.append(
            AppliedWrite(
                step_id=step.step_id,
                eco=step.eco,
                kind=step.kind,
                plant=step.plant,
                item=step.item,
                revision=step.revision,
                supplier=step.supplier,
                external_id="as answered",
                effective_when_written=effective,
                plant_confirmed=(step.plant, step.item) in confirmed,
            )
        )
    return writes


def assert_history_follows_the_plan(playout: Playout, events: list[dict[str, Any]]) -> None:
    eco = playout.eco
    assert not playout.truncated
    planned = plan(eco, world().items, plan_sourcing(world(), eco))
    in_events = _rows_in(events)
    kinds = {k.value for k in COMPENSATION_KINDS}
    withdrawals = {sid: row for sid, row in in_events.items() if row[1] in kinds}
    assert set(in_events.values()) - set(withdrawals.values()) == {_row(s) for s in planned}

    cancelled = [e["data"] for e in events if e["type"] == "io.threadline.eco.cancelled.v1"]
    compensated: tuple[PlannedStep, ...] = ()
    if cancelled:
        expected = compensation(_succeeded_before_cancel(eco, planned, events))
        compensated = expected.withdrawals
        assert cancelled[0]["withdrawals"] == len(compensated)
        assert cancelled[0]["left_effective"] == len(expected.left_effective)
    assert set(withdrawals.values()) == {_row(w) for w in compensated}
    for withdrawal in compensated:
        done = _first_time(events, withdrawal.step_id, {StepState.SUCCEEDED})
        assert done is not None, withdrawal.step_id
        due = _first_time(events, withdrawal.step_id, {StepState.PENDING})
        for dependency in withdrawal.depends_on:
            finished = _first_time(events, dependency, {StepState.SUCCEEDED})
            assert finished is not None and due is not None and finished <= due

    received = next(e["data"] for e in events if e["type"] == "io.threadline.eco.received.v1")
    assert received["steps"] == len(planned)
    assert received["items"] == list(eco.items)
    assert received["plants"] == list(eco.plants)
    # The notices' suppliers: the approved lists' and PLM's, as the plan merged them.
    assert received["suppliers"] == [
        s.supplier for s in planned if s.kind is StepKind.SUPPLIER_NOTICE
    ]

    graph = {s.step_id: {playout.steps[d].step_id for d in s.deps} for s in playout.steps}
    assert graph == {s.step_id: set(s.depends_on) for s in planned}
    done = {StepState.SUCCEEDED, StepState.SKIPPED}
    for step in planned:
        due = _first_time(events, step.step_id, {StepState.PENDING})
        if due is None:
            continue
        for dependency in step.depends_on:
            finished = _first_time(events, dependency, done)
            assert finished is not None and finished <= due, (step.step_id, dependency)


@st.composite
def history_ecos(draw: st.DrawFn) -> tuple[PlannedEco, int]:
    """A past ECO as the history schedules one: components, or an assembly and children."""
    w = world()
    makes = [n for n, i in w.items.items() if i.kind is not ItemKind.COMPONENT]
    if draw(st.booleans()):
        components = w.items_of_kind(ItemKind.COMPONENT)
        items = draw(st.lists(st.sampled_from(components), min_size=1, max_size=3, unique=True))
    else:
        anchor = draw(st.sampled_from(makes))
        children = [line.component for line in w.bom_lines(anchor)]
        items = [anchor, *draw(st.lists(st.sampled_from(children), max_size=4, unique=True))]
    approved_at = START + timedelta(minutes=draw(st.integers(0, 300 * 24 * 60)))
    number = f"ECO-2026-{draw(st.integers(1, 50000)):05d}"
    return PlannedEco(number, approved_at, tuple(items)), draw(st.integers(0, 2**32))


def _play_history(planned: PlannedEco, seed: int) -> tuple[Playout, list[dict[str, Any]]]:
    revisions = {item: world().current_revision(item) for item in world().items}
    return play(world(), planned, revisions, {}, planned.approved_at + LATER, seed)


@settings(max_examples=150, deadline=None)
@given(history_ecos())
def test_the_history_plays_out_the_engine_plan(case: tuple[PlannedEco, int]) -> None:
    playout, events = _play_history(*case)
    assert_history_follows_the_plan(playout, events)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 199), st.integers(0, 2**32))
def test_the_playout_of_a_generated_eco_follows_the_engine_plan(index: int, seed: int) -> None:
    eco = generated()[index]
    playout = Playout(world(), eco, {}, eco.approved_at + LATER, random.Random(seed))
    assert_history_follows_the_plan(playout, playout.run())


def test_cancellations_withdrawals_and_blocks_follow_the_plan_too() -> None:
    w = world()
    makes = [n for n, i in w.items.items() if i.kind is not ItemKind.COMPONENT]
    picks = random.Random(7)
    seen: set[str] = set()
    for serial in range(1, 401):
        anchor = picks.choice(makes)
        children = [line.component for line in w.bom_lines(anchor)]
        items = (anchor, *picks.sample(children, min(len(children), picks.randint(0, 4))))
        planned = PlannedEco(f"ECO-2026-{serial:05d}", START + timedelta(hours=serial), items)
        playout, events = _play_history(planned, seed=serial)
        assert_history_follows_the_plan(playout, events)
        seen.update(e["type"].rsplit(".", 2)[-2] for e in events)
        seen.update(e["data"]["kind"] for e in events if "kind" in e["data"])
    compensations = {kind.value for kind in COMPENSATION_KINDS}
    assert {"cancelled", "blocked", "skipped"} | compensations <= seen


def test_cancellations_meet_every_case_of_the_compensation() -> None:
    """Across cancelled playouts, each case the compensation tells apart occurs and is
    played as planned: a BOM ERP took as effective, a plant's confirmed writes (both left
    for a new ECO), each kind of withdrawal, and a BOM version whose valid_from came after
    it was written but before its withdrawal, which ERP refuses: the withdrawal succeeds,
    left effective, naming since when (midnight at the plant)."""
    every = {
        "left erp.bom",
        "left erp.routing",
        "left erp.production_version",
        *(kind.value for kind in COMPENSATION_KINDS),
    }
    cases: set[str] = set()
    refused: list[tuple[Eco, dict[str, Any], list[dict[str, Any]]]] = []
    for seed in range(10_000):
        if every <= cases and refused:
            break
        eco = generated()[seed % len(generated())]
        end = eco.approved_at + LATER
        if not Playout(world(), eco, {}, end, random.Random(seed)).may_be_cancelled():
            continue
        playout = Playout(world(), eco, {}, end, random.Random(seed))
        events = playout.run()
        assert_history_follows_the_plan(playout, events)
        if not any(e["type"] == "io.threadline.eco.cancelled.v1" for e in events):
            continue  # production-ready before PLM cancelled it
        planned = plan(eco, world().items, plan_sourcing(world(), eco))
        writes = _succeeded_before_cancel(eco, planned, events)
        cases.update(f"left {w.kind.value}" for w in compensation(writes).left_effective)
        cases.update(e["data"]["kind"] for e in events if "withdrawal" in e["data"].get("kind", ""))
        refused.extend((eco, e["data"], events) for e in events if e["data"].get("effective_since"))
    assert every <= cases
    assert refused, "some cancellation comes after a scheduled BOM became effective"
    for eco, data, events in refused:
        assert data["kind"] == StepKind.ERP_BOM_WITHDRAWAL and data["to_state"] == "succeeded"
        assert data["reason"].startswith("left effective: BOM-")
        plant = world().plant(data["plant"])
        assert plant is not None
        since = datetime.fromisoformat(data["effective_since"])
        assert plant_today(plant, since) == eco.effectivity
        assert plant_today(plant, since - timedelta(seconds=1)) < eco.effectivity
        started = _first_time(events, data["step_id"], {StepState.RUNNING})
        assert started is not None and since <= started
