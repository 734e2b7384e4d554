"""One ERP poll confirming several production versions records them all at once.

The factory ECO takes ASM-1001 to C at P100 (with a new MES routing there) and at P200
(without one, so MES keeps its routing there, now for C).
"""

from __future__ import annotations

import sqlalchemy as sa

from contracts.api import ProductionVersionStatus
from contracts.steps import StepKind, StepState
from sync_engine import results, store
from sync_engine import tables as t
from sync_engine.config import EngineConfig
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, claim, events, later, receive


def _until_awaiting(engine: sa.Engine) -> list[store.StepRecord]:
    """Run the steps as the systems would until every confirmation waits for ERP."""
    for _ in range(20):
        claimed = claim(engine)
        with engine.begin() as connection:
            for step in claimed:
                if step.kind is StepKind.ERP_CONFIRMATION:
                    store.await_confirmation(connection, step, now=T0)
                else:
                    store.succeed(connection, step, now=T0, external_id=f"PV-{step.plant}")
            waiting = store.awaiting_confirmations(connection, limit=100)
        if len(waiting) == 2:
            return waiting
    raise AssertionError("the confirmations never started waiting")


def _active(step: store.StepRecord) -> ProductionVersionStatus:
    return ProductionVersionStatus(
        id=step.production_version or "",
        status="active",
        plant=step.plant or "",
        item=step.item or "",
        revision=step.revision or "",
        requested_at=T0,
        activated_at=later(5),
    )


def test_a_poll_confirming_two_plants_records_each_plants_new_revision(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    waiting = _until_awaiting(engine)
    answers = [(step, _active(step)) for step in waiting]

    with engine.begin() as connection:
        settled = results.record_confirmations(connection, answers, EngineConfig(), now=later(10))

    assert settled == 2
    with engine.connect() as connection:
        steps = store.find_steps(connection, kind=StepKind.ERP_CONFIRMATION)
        recorded = {
            (row.plant, row.item): (row.erp_revision, row.mes_revision)
            for row in connection.execute(sa.select(t.plant_revisions)).all()
        }
        first = connection.execute(sa.select(t.ecos.c.first_confirmed_at)).scalar_one()
    assert {s.plant: s.state for s in steps} == {
        "P100": StepState.SUCCEEDED,
        "P200": StepState.SUCCEEDED,
    }
    # P100's MES moves when its routing is released; P200's keeps its routing for C.
    assert recorded[("P100", "ASM-1001")] == ("C", None)
    assert recorded[("P200", "ASM-1001")] == ("C", "C")
    assert first == later(5)
    changed = [
        (e["data"]["plant"], e["data"]["system"], e["data"]["effective_from"])
        for e in events(engine)
        if e["type"] == "io.threadline.plant.revision_changed.v1"
        and e["data"]["item"] == "ASM-1001"
    ]
    assert sorted(changed) == [
        ("P100", "erp", "2026-03-16"),
        ("P200", "erp", "2026-03-16"),
        ("P200", "mes", "2026-03-16"),
    ]
    confirmed = [e for e in events(engine) if e["type"].endswith("production_version_confirmed.v1")]
    assert len(confirmed) == 2


def test_a_confirmation_already_settled_is_not_counted_again(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    waiting = _until_awaiting(engine)
    answers = [(step, _active(step)) for step in waiting]
    with engine.begin() as connection:
        results.record_confirmations(connection, answers[:1], EngineConfig(), now=later(10))

    with engine.begin() as connection:
        settled = results.record_confirmations(connection, answers, EngineConfig(), now=later(11))

    assert settled == 1
    confirmed = [e for e in events(engine) if e["type"].endswith("production_version_confirmed.v1")]
    assert len(confirmed) == 2
