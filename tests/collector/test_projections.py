from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.derived import ConfirmationSla
from collector.projections import NOTICE_STATUS, Projector, StoredEvent, order_key
from collector.rows import Working
from collector.samples import many_propagations, propagation_events
from collector.sourcing_facts import FACT_TYPES
from collector.tables import limit_problems
from contracts.events import CATALOG, EcoRejected, ReconciliationException, StepTransition, type_of
from contracts.operator_events import OperationCompleted
from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import StepState

SEQ_DEPENDENT = {"last_event_seq", "event_seq"}


def stored(events: list[dict[str, Any]]) -> list[StoredEvent]:
    return [
        StoredEvent(
            seq=seq,
            type=e["type"],
            time=datetime.fromisoformat(e["time"]),
            sequence=e.get("sequence"),
            data=e["data"],
        )
        for seq, e in enumerate(events, start=1)
    ]


def project(events: list[StoredEvent], rng: random.Random | None) -> dict[str, Any]:
    """Feed events in random chunks (or one chunk in order) to one projector."""
    projector = Projector(ConfirmationSla(600, {"P200": 60}))
    work = Working()
    position = 0
    while position < len(events):
        size = rng.randint(1, 25) if rng else len(events)
        chunk = events[position : position + size]
        for event in chunk:
            projector.apply(work, event)
        projector.derive(work, projector.needs((e.type, e.data) for e in chunk).ecos)
        position += size
    return normalise(work)


def normalise(work: Working) -> dict[str, Any]:
    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in SEQ_DEPENDENT and not k.endswith("_key")}

    return {
        "ecos": {k: clean(v) for k, v in work.ecos.items()},
        "plants": {k: clean(v) for k, v in work.plants.items()},
        "steps": {k: clean(v) for k, v in work.steps.items()},
        "revisions": {k: clean(v) for k, v in work.revisions.items()},
        "notices": {k: clean(v) for k, v in work.notices.items()},
        "actions": sorted((clean(a) for a in work.actions), key=repr),
    }


@pytest.mark.parametrize("seed", range(8))
def test_any_arrival_order_gives_the_same_projections(seed: int) -> None:
    events = stored(list(many_propagations(2, blocked_plant="P200")))
    in_order = project(events, None)
    rng = random.Random(seed)
    # A shuffle keeps each event's own seq: arrival order is not the emission order.
    shuffled = rng.sample(events, len(events))
    assert project(shuffled, rng) == in_order
    assert in_order["ecos"]["ECO-2026-00001"]["state"] == "production_ready"


def test_a_late_older_event_does_not_overwrite_a_newer_state() -> None:
    events = stored(propagation_events())
    step = "ECO-2026-00042/erp.bom/P100/ASM-1001"
    bom = [e for e in events if isinstance(e.data, dict) and e.data.get("step_id") == step]
    projector = Projector()
    work = Working()
    for event in [events[0], bom[-1], *bom[:-1]]:
        projector.apply(work, event)
    projector.derive(work, ["ECO-2026-00042"])
    assert work.steps[step]["state"] == "succeeded"
    assert work.steps[step]["state_since"] == bom[-1].time


def test_order_key_sorts_by_time_then_sequence_then_seq() -> None:
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    t2 = datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert order_key(t1, "9", 5) < order_key(t1, "10", 1) < order_key(t2, "1", 1)
    assert order_key(t1, "7", 1) < order_key(t1, "7", 2)
    assert order_key(t1, None, 3) < order_key(t1, "0", 1)


def test_strings_too_long_for_their_column_are_named() -> None:
    problems = limit_problems(
        {"step_id": "x" * 600, "plant": "P1", "error": {"code": "C" * 300}, "items": ["I" * 101]}
    )
    assert [name for name, _ in problems] == ["step_id", "code", "items[0]"]


def test_handlers_are_keyed_by_the_catalog() -> None:
    handlers = Projector._handlers
    assert set(handlers) <= set(CATALOG)
    step_types = {t for t, entry in CATALOG.items() if issubclass(entry.model, StepTransition)}
    assert step_types and {t for t in handlers if handlers[t] is Projector._step} == step_types
    # Reconciliation findings are stored and listed, not projected; an operation's outcome
    # is read from the stored events by the audit log; purchasing facts are kept one row
    # per event (collector.sourcing_facts).
    assert not FACT_TYPES & set(handlers)
    assert set(CATALOG) - set(handlers) - FACT_TYPES == {
        type_of(ReconciliationException),
        type_of(OperationCompleted),
    }


def test_every_step_state_has_a_notice_status() -> None:
    assert set(NOTICE_STATUS) == set(StepState)


def test_projections_store_only_the_read_model_state_names() -> None:
    events = stored(propagation_events(blocked_plant="P200"))
    seen: dict[str, set[str]] = {"ecos": set(), "plants": set(), "notices": set(), "steps": set()}
    # Every prefix of the story: the states an ECO passes through on its way.
    for cut in range(1, len(events) + 1):
        work = project(events[:cut], None)
        for name, rows in seen.items():
            column = "status" if name == "notices" else "state"
            rows.update(row[column] for row in work[name].values())
    assert seen["ecos"] <= set(EcoState) and len(seen["ecos"]) > 2
    assert seen["plants"] <= set(PlantState) and len(seen["plants"]) > 2
    assert seen["notices"] <= set(NoticeStatus) and len(seen["notices"]) > 2
    assert seen["steps"] <= set(StepState)


def test_an_eco_planned_after_plm_corrected_it_is_no_longer_rejected() -> None:
    story = list(propagation_events())
    first = datetime.fromisoformat(story[0]["time"])
    refused = {
        "type": type_of(EcoRejected),
        "time": first.replace(year=first.year - 1).isoformat(),
        "sequence": "0",
        "data": {"eco": "ECO-2026-00042", "violations": [{"path": "plants", "message": "x"}]},
    }
    events = stored([refused, *story])
    in_order = project(events, None)
    assert in_order["ecos"]["ECO-2026-00042"]["state"] == "production_ready"
    assert in_order["ecos"]["ECO-2026-00042"]["rejected_at"] is not None
    for seed in range(4):
        rng = random.Random(seed)
        assert project(rng.sample(events, len(events)), rng) == in_order
    # Refused and never corrected: rejected, whatever the order, titled by the newest.
    again = refused | {
        "time": (first.replace(year=first.year - 1) + timedelta(days=1)).isoformat(),
        "data": refused["data"] | {"title": "Pump housing, corrected"},
    }
    both = stored([again, refused | {"data": refused["data"] | {"title": "Pump housing"}}])
    for order in (both, both[::-1]):
        alone = project(order, None)["ecos"]["ECO-2026-00042"]
        assert (alone["state"], alone["title"]) == ("rejected", "Pump housing, corrected")
