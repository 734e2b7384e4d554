from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.events import parse_data
from contracts.plan import idempotency_key
from contracts.steps import StepKind
from simulators.cli import backfill
from simulators.history import (
    SOURCE,
    final_revisions,
    history_events,
    revision_at,
    revision_index,
)
from simulators.world import build_world

END = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
START = datetime(2026, 5, 21, tzinfo=UTC)  # midnight, 40 days before END


@pytest.fixture(scope="module")
def world():
    return build_world(7)


@pytest.fixture(scope="module")
def stream(world):
    return list(history_events(world, days=40, end=END, ecos_per_day=20, seed=7))


def step_target(data: dict) -> str:
    """What a step is about: its item, its supplier, or both for a purchasing step."""
    if data.get("item") and data.get("supplier"):
        return f"{data['item']}:{data['supplier']}"
    return data.get("item") or data.get("supplier") or "-"


def time_of(event) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def test_every_event_validates_and_carries_the_eco_as_correlation(stream) -> None:
    assert 600 < len(stream) < 1000
    ids = set()
    sequences = []
    for events in stream:
        number = events[0]["data"]["eco"]
        assert events[0]["type"] == "io.threadline.eco.received.v1"
        for event in events:
            parse_data(event["type"], event["data"])
            assert event["source"] == SOURCE and event["specversion"] == "1.0"
            assert event["correlationid"] == number
            data = event["data"]
            if event["type"] in (
                "io.threadline.plant.revision_changed.v1",
                "io.threadline.eco.impact_assessed.v1",  # per item, as the engine reads them
            ):
                assert event["subject"] == f"{data['plant']}/{data['item']}"
            elif "component" in data:  # a purchasing fact is about one qualification
                assert event["subject"] == (
                    f"{data['supplier']}/{data['component']}/{data['revision']}"
                )
            else:
                assert event["subject"] == number
            ids.add(event["id"])
            sequences.append(event["sequence"])
    assert len(ids) == len(sequences), "ids are unique"
    assert all(len(s) == 20 for s in sequences) and sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)


def test_the_same_seed_gives_the_same_history(world, stream) -> None:
    again = history_events(world, days=40, end=END, ecos_per_day=20, seed=7)
    assert list(islice(again, 150)) == stream[:150]
    other = next(iter(history_events(world, days=40, end=END, ecos_per_day=20, seed=8)))
    assert other != stream[0]


def test_times_run_forward_within_each_eco_and_stay_in_the_past(stream) -> None:
    for events in stream:
        times = [time_of(e) for e in events]
        assert times == sorted(times)
        approved = datetime.fromisoformat(events[0]["data"]["approved_at"].replace("Z", "+00:00"))
        assert START <= approved <= times[0] and times[-1] <= END


def test_each_step_moves_through_an_unbroken_chain_of_states(stream) -> None:
    for events in stream:
        last: dict[str, str | None] = {}
        number = events[0]["data"]["eco"]
        for event in events:
            if not event["type"].startswith("io.threadline.step."):
                continue
            data = event["data"]
            step_id = data["step_id"]
            target = step_target(data)
            assert step_id == f"{number}/{data['kind']}/{data.get('plant') or '-'}/{target}"
            assert data.get("from_state") == last.get(step_id)
            last[step_id] = data["to_state"]


def test_every_step_carries_the_engine_idempotency_key(stream) -> None:
    for events in stream:
        for event in events:
            if not event["type"].startswith("io.threadline.step."):
                continue
            data = event["data"]
            target = f"{data.get('plant') or '-'}/{step_target(data)}"
            kind = StepKind(data["kind"])
            expected = idempotency_key(data["eco"], kind, target, data.get("revision"))
            assert data["idempotency_key"] == expected, data["step_id"]


def test_history_has_retries_blocks_operator_retries_cancellations_and_open_work(stream) -> None:
    flat = [e for events in stream for e in events]
    types = defaultdict(list)
    for event in flat:
        types[event["type"]].append(event)
    assert types["io.threadline.step.retrying.v1"]
    blocked = [
        e
        for e in types["io.threadline.step.blocked.v1"]
        if e["data"]["error"]["code"] == "WORK_CENTER_INACTIVE"
    ]
    assert blocked
    retried = {
        sid
        for e in types["io.threadline.operator.action.v1"]
        if e["data"]["action"] == "retry"
        for sid in e["data"]["step_ids"]
    }
    assert retried & {e["data"]["step_id"] for e in blocked}
    succeeded = {e["data"]["step_id"] for e in types["io.threadline.step.succeeded.v1"]}
    assert retried & succeeded, "a retried routing goes through"
    assert types["io.threadline.eco.cancelled.v1"]
    assert types["io.threadline.supplier.notice_failed.v1"]
    ready = {e["data"]["eco"] for e in types["io.threadline.eco.production_ready.v1"]}
    cancelled = {e["data"]["eco"] for e in types["io.threadline.eco.cancelled.v1"]}
    every = {events[0]["data"]["eco"] for events in stream}
    assert every == ready | cancelled, "history holds only finished ECOs; the engine owns the rest"
    for event in types["io.threadline.eco.production_ready.v1"]:
        data = event["data"]
        assert data["cycle_time_seconds"] > 0


def test_confirmation_times_differ_by_plant(stream) -> None:
    waits = defaultdict(list)
    for events in stream:
        for e in events:
            if e["type"] == "io.threadline.erp.production_version_confirmed.v1":
                d = e["data"]
                requested = datetime.fromisoformat(d["requested_at"].replace("Z", "+00:00"))
                confirmed = datetime.fromisoformat(d["confirmed_at"].replace("Z", "+00:00"))
                waits[d["plant"]].append((confirmed - requested).total_seconds())
    medians = {plant: statistics.median(w) for plant, w in waits.items()}
    assert len(medians) >= 3
    assert max(medians.values()) > 2 * min(medians.values())


def test_history_numbers_and_revisions_fit_the_live_world(world, stream) -> None:
    numbers = [events[0]["data"]["eco"] for events in stream]
    assert len(set(numbers)) == len(numbers)
    assert all(int(n[-5:]) < 50001 for n in numbers)
    last: dict[str, str] = {}
    touches: dict[str, int] = defaultdict(int)
    for events in stream:
        for item, revision in events[0]["data"]["revisions"].items():
            if item in last:
                assert revision_index(revision) == revision_index(last[item]) + 1
            last[item] = revision
            touches[item] += 1
    final = final_revisions(world, days=40, end=END, ecos_per_day=20, seed=7)
    for item, revision in last.items():
        assert final[item] == revision, "the live world starts where the history ends"
    assert [revision_at(n) for n in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert all(revision_index(revision_at(n)) == n for n in range(2000))


def test_a_backfill_through_the_collector_stores_each_event_once(tmp_path: Path) -> None:
    from collector.testing import running_collector
    from threadline.migrate import upgrade

    url = f"sqlite+pysqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    tokens = {
        "h1st": {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]}
    }
    with running_collector(url, tokens) as collector:
        first = backfill(collector_url=collector, token="h1st", days=3, end=END, ecos_per_day=20)
        again = backfill(collector_url=collector, token="h1st", days=3, end=END, ecos_per_day=20)
    assert first == again and first[0] > 20
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    finally:
        engine.dispose()
    assert stored == first[1]


def test_step_kinds_follow_the_propagation_plan(stream) -> None:
    kinds = {
        e["data"]["kind"]
        for events in stream
        for e in events
        if e["type"] == "io.threadline.step.scheduled.v1"
    }
    assert kinds == {k.value for k in StepKind}


def test_live_simulators_continue_the_revisions_the_history_left(world) -> None:
    from simulators.app import SimulatorConfig, build_simulators

    history = list(history_events(world, days=20, end=END, ecos_per_day=15, seed=7))
    last: dict[str, str] = {}
    for events in history:
        last.update(events[0]["data"]["revisions"])
    config = SimulatorConfig(history_days=20, history_ecos_per_day=15)
    sims = build_simulators(config, clock=lambda: END + timedelta(minutes=3))
    for item, revision in last.items():
        assert sims.generator.revision_of(item) == revision
    eco, _ = sims.generator.generate(END + timedelta(minutes=5))
    for affected in eco.affected_items:
        assert affected.old_revision == last.get(
            affected.item, world.current_revision(affected.item)
        )


def test_after_a_history_each_plant_runs_what_the_ecos_naming_it_made(world) -> None:
    """ERP's revision of every pair it lists is the one the newest history ECO that names
    the plant made (built items: its production version, whatever its effectivity;
    components: only once effective there), else the seeded one; read through PLM's ECOs
    and ERP's plant revisions. A cancelled ECO may or may not have left its revision."""
    from contracts.model import EcoStatus, ItemKind, revision_key
    from simulators.app import SimulatorConfig, build_simulators
    from simulators.changes import effective_from
    from simulators.world import advance_world

    now = END + timedelta(minutes=3)
    sims = build_simulators(SimulatorConfig(history_days=30), clock=lambda: now)
    final = final_revisions(world, days=30, end=now, ecos_per_day=6, seed=7)
    seeded = advance_world(world, final)  # the seeded lags, as the world had them before
    cancelled = {
        events[-1]["data"]["eco"]
        for events in history_events(world, days=30, end=now, ecos_per_day=6, seed=7)
        if events[-1]["type"] == "io.threadline.eco.cancelled.v1"
    }
    records, _ = sims.plm.page(limit=100_000)
    ecos = [r.eco() for r in records]
    cancelled |= {r.number for r in records if r.status is EcoStatus.CANCELLED}
    assert any(eco.effectivity > now.date() for eco in ecos)
    checked = moved = 0
    for plant in world.plant_codes:
        for item, revision in sims.erp.revisions(plant).revisions.items():
            built = world.items[item].kind is not ItemKind.COMPONENT
            made = [
                (a.new_revision, eco.number)
                for eco in ecos
                if plant in eco.plants
                and (built or effective_from(world, plant, eco.effectivity) <= now)
                for a in eco.affected_items
                if a.item == item
            ]
            kept = [r for r, number in made if number not in cancelled]
            expected = max(kept, key=revision_key, default=seeded.plant_revisions[plant][item])
            allowed = {expected} | {r for r, number in made if number in cancelled}
            assert revision in allowed, (plant, item, revision, made)
            checked += 1
            moved += bool(kept)
    assert checked > 500 and moved > 50


def test_event_ids_are_uuid5_of_their_key() -> None:
    import uuid

    from simulators.playstep import NAMESPACE, event_id

    for key in ("ECO-2026-00001|received", "ECO-2026-00001/erp.bom/P100/ASM-2001|3", "é"):
        assert event_id(key) == str(uuid.uuid5(NAMESPACE, key))


def test_history_activates_info_records_only_after_their_qualification_is_approved(
    stream,
) -> None:
    prefix = "io.threadline."
    seen: dict[str, int] = defaultdict(int)
    for events in stream:
        approved: dict[tuple[str, str, str], datetime] = {}
        for event in events:
            kind = event["type"].removeprefix(prefix).removesuffix(".v1")
            seen[kind] += 1
            data = event["data"]
            if "component" not in data:
                continue
            key = (data["supplier"], data["component"], data["revision"])
            if kind == "procurement.qualification_approved":
                approved[key] = time_of(event)
            elif kind == "erp.info_record_activated":
                assert key in approved and approved[key] <= time_of(event), key
    for kind in (
        "procurement.qualification_requested",
        "procurement.qualification_approved",
        "procurement.qualification_rejected",
        "erp.info_record_activated",
        "step.awaiting_qualification",
        "eco.impact_assessed",
    ):
        assert seen[kind], kind
