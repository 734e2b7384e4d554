"""The simulators' history and the engine plan the same steps (STYLE.md 19).

For every ECO the history plays out, the steps its events name (id, kind, plant, target,
revision, idempotency key) are exactly what ``contracts.plan`` returns for that ECO, and
the withdrawals it runs after a cancellation are exactly ``withdrawal_step``'s. Step events
carry no dependencies, so those are checked twice over: the playout's dependency graph is
the plan's, and the events honour it (no step becomes due before all it depends on is done).

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
from contracts.plan import plan, withdrawal_step
from contracts.steps import StepKind, StepState
from simulators.generator import EcoGenerator
from simulators.history import PlannedEco, play
from simulators.playout import Playout
from simulators.world import World, build_world

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


def _first_time(
    events: list[dict[str, Any]], step_id: str, states: Collection[str]
) -> datetime | None:
    for event in events:
        data = event["data"]
        if data.get("step_id") == step_id and data.get("to_state") in states:
            return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return None


def assert_history_follows_the_plan(playout: Playout, events: list[dict[str, Any]]) -> None:
    eco = playout.eco
    assert not playout.truncated
    planned = plan(eco, world().items)
    in_events = _rows_in(events)
    withdrawals = {sid: row for sid, row in in_events.items() if "/erp.bom_withdrawal/" in sid}
    assert set(in_events.values()) - set(withdrawals.values()) == {_row(s) for s in planned}

    bom_rows = {_row(s)[0]: s for s in planned if s.kind is StepKind.ERP_BOM}
    for row in withdrawals.values():
        _, _, plant, assembly, revision, _ = row
        assert plant is not None and assembly is not None and revision is not None
        expected = withdrawal_step(eco.number, plant, assembly, revision, bom_id="-")
        assert row == _row(expected)
        bom = bom_rows[f"{eco.number}/erp.bom/{plant}/{assembly}"]
        assert _first_time(events, bom.step_id, {StepState.SUCCEEDED}) is not None

    received = next(e["data"] for e in events if e["type"] == "io.threadline.eco.received.v1")
    assert received["steps"] == len(planned)
    assert received["items"] == list(eco.items)
    assert received["plants"] == list(eco.plants)
    assert received["suppliers"] == list(eco.suppliers)

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
    assert {"cancelled", "blocked", "skipped", StepKind.ERP_BOM_WITHDRAWAL.value} <= seen
