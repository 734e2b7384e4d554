from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from collector.samples import START, eco_number, many_propagations, propagation_events
from collector.store import BadCursor, EventStore
from collector.tables import (
    PROJECTIONS,
    eco_plants,
    eco_status,
    events,
    step_status,
    supplier_notices,
)


def snapshot(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(
                (dict(row) for row in connection.execute(sa.select(table)).mappings()),
                key=repr,
            )
            for table in PROJECTIONS
        }


def rows(engine: sa.Engine, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
    query = sa.select(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def test_a_duplicate_is_counted_and_changes_nothing(engine: sa.Engine) -> None:
    store = EventStore(engine)
    stream = propagation_events()
    assert store.append(stream[:20], "engine") == (20, 0)
    before = snapshot(engine)
    assert store.append([*stream[10:20], stream[10]], "engine") == (0, 11)
    assert snapshot(engine) == before
    assert store.append(stream[15:25], "engine") == (5, 5)
    assert store.count() == 25


def test_a_finished_propagation_reads_production_ready(engine: sa.Engine) -> None:
    store = EventStore(engine)
    store.append(propagation_events(blocked_plant="P200"), "engine")
    eco = rows(engine, eco_status)[0]
    assert eco["state"] == "production_ready"
    assert (eco["plants_total"], eco["plants_done"]) == (2, 2)
    assert eco["approved_at"] == START
    assert eco["cycle_time_seconds"] > 0
    assert eco["erp_confirmed_at"] is not None
    assert {p["state"] for p in rows(engine, eco_plants)} == {"production_ready"}
    notice = rows(engine, supplier_notices)[0]
    assert (notice["status"], notice["attempts"], notice["notice_id"]) == ("sent", 2, "N-S010")


def test_a_blocked_routing_blocks_its_plant_and_the_eco(engine: sa.Engine) -> None:
    store = EventStore(engine)
    stream = propagation_events(blocked_plant="P200")
    blocked = next(i for i, e in enumerate(stream) if e["type"].endswith("step.blocked.v1"))
    store.append(stream[: blocked + 1], "engine")
    eco = rows(engine, eco_status)[0]
    assert (eco["state"], eco["blocked_count"]) == ("blocked", 1)
    plant = rows(engine, eco_plants, plant="P200")[0]
    assert plant["state"] == "blocked"
    assert "WC-P200-01" in plant["blocked_reason"]
    step = rows(engine, step_status, state="blocked")[0]
    assert step["fingerprint"] == "erp:erp.routing:WORK_CENTER_INACTIVE"
    assert step["error_category"] == "business"
    store.append(stream[blocked + 1 :], "engine")
    assert rows(engine, eco_status)[0]["state"] == "production_ready"


def test_awaiting_confirmation_carries_its_sla_and_overdue_report(engine: sa.Engine) -> None:
    store = EventStore(engine)
    stream = propagation_events(blocked_plant="P200")
    overdue = next(i for i, e in enumerate(stream) if e["type"].endswith("overdue.v1"))
    store.append(stream[: overdue + 1], "engine")
    step = rows(engine, step_status, step_id="ECO-2026-00042/erp.confirmation/P200/ASM-1001")[0]
    assert step["state"] == "awaiting_confirmation"
    assert step["overdue"] is True
    assert step["sla_due_at"] == step["requested_at"] + timedelta(seconds=900)


def test_rebuild_equals_the_incremental_projections_of_a_shuffled_duplicated_stream(
    engine: sa.Engine,
) -> None:
    stream = list(many_propagations(3, blocked_plant="P100"))
    rng = random.Random(5)
    shuffled = stream + rng.sample(stream, len(stream) // 3)
    rng.shuffle(shuffled)
    store = EventStore(engine)
    position = 0
    while position < len(shuffled):
        size = rng.randint(1, 40)
        store.append(shuffled[position : position + size], "engine")
        position += size
    assert store.count() == len(stream)
    incremental = snapshot(engine)
    assert store.rebuild(batch_size=17) == len(stream)
    assert snapshot(engine) == incremental
    states = {row["eco"]: row["state"] for row in incremental["eco_status"]}
    assert states == {eco_number(i): "production_ready" for i in (1, 2, 3)}


def test_summary_counts_what_the_read_models_hold(engine: sa.Engine) -> None:
    store = EventStore(engine)
    assert store.summary() == {
        "ecos_received": 0,
        "production_ready": 0,
        "awaiting_confirmation": 0,
        "blocked_plants": 0,
        "failed_notices": 0,
    }
    store.append(propagation_events(eco_number(1)), "engine")
    stream = propagation_events(eco_number(2), blocked_plant="P200")
    blocked = next(i for i, e in enumerate(stream) if e["type"].endswith("step.blocked.v1"))
    store.append(stream[: blocked + 1], "engine")
    summary = store.summary()
    assert summary["ecos_received"] == 2
    assert summary["production_ready"] == 1
    assert summary["blocked_plants"] == 1
    assert summary["awaiting_confirmation"] == len(
        rows(engine, step_status, state="awaiting_confirmation")
    )


def test_query_filters_and_pages_with_a_cursor(engine: sa.Engine) -> None:
    store = EventStore(engine)
    store.append(list(many_propagations(2)), "engine")
    eco = eco_number(2)
    page = store.query(correlationid=eco, limit=25)
    seen = list(page.events)
    while page.next_cursor is not None:
        page = store.query(correlationid=eco, cursor=page.next_cursor, limit=25)
        seen.extend(page.events)
    expected = [e for e in many_propagations(1, first=2)]
    assert [e["correlationid"] for e in seen] == [eco] * len(expected)
    assert [e["data"] for e in seen] == [e["data"] for e in expected]
    assert len({e["id"] for e in seen}) == len(seen)
    step_events = store.query(type="io.threadline.step.blocked.v1")
    assert step_events.events == []
    with pytest.raises(BadCursor):
        store.query(cursor="bogus")


def test_query_by_time_range(engine: sa.Engine) -> None:
    store = EventStore(engine)
    stream = propagation_events()
    store.append(stream, "engine")
    middle = START + timedelta(seconds=5)
    early = store.query(until=middle, limit=1000).events
    late = store.query(since=middle, limit=1000).events
    assert len(early) + len(late) == len(stream)
    assert early and late
    with engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(events)).scalar()
    assert stored == len(stream)


def test_concurrent_writers_end_with_the_projections_a_rebuild_gives(
    engine: sa.Engine,
) -> None:
    import threading

    stream = list(many_propagations(4, blocked_plant="P200"))
    rng = random.Random(11)
    rng.shuffle(stream)
    stores = [EventStore(engine) for _ in range(4)]
    failures: list[BaseException] = []

    def write(store: EventStore, share: list[dict[str, Any]]) -> None:
        try:
            for position in range(0, len(share), 7):
                store.append(share[position : position + 7], "engine")
        except BaseException as exc:  # surfaced below, in the test's thread
            failures.append(exc)

    threads = [
        threading.Thread(target=write, args=(store, stream[i::4] + stream[: 10 * i]))
        for i, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert stores[0].count() == len(stream)
    concurrent = snapshot(engine)
    stores[0].rebuild()
    assert snapshot(engine) == concurrent
