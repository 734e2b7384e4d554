"""A confirmation skipped as superseded takes its MES routing with it.

The earlier ECO takes ASM-1001 to C at P100 with a new routing; the later one takes it to
D and writes a BOM of FG-3001 that consumes ASM-1001 D. That BOM is effective at once, so
P100's ERP is at D before the earlier ECO's production version is confirmed: its
confirmation is skipped as superseded. Its MES routing (C) must not be sent then (MES
refuses a routing for a production version that is not active, and a blocked routing
would hold the later ECO's MES routing of the item for ever); both ECOs finish and MES
gets the later routing.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from contracts.model import Eco
from contracts.steps import StepKind, StepState
from sync_engine import store
from sync_engine.states import EcoProgress
from tests.factories import APPROVED_AT, make_eco
from tests.sync_engine.helpers import T0, claim, events, receive

EARLIER = "ECO-2026-00042"
LATER = "ECO-2026-00043"
ROUTING = [{"number": 10, "work_center": "WC-P100-01", "description": "Weld"}]


def _later_eco() -> Eco:
    return make_eco(
        number=LATER,
        approved_at=(APPROVED_AT + timedelta(hours=1)).isoformat(),
        affected_items=[
            {"item": "ASM-1001", "old_revision": "C", "new_revision": "D"},
            {"item": "FG-3001", "old_revision": "A", "new_revision": "B"},
        ],
        plants=["P100"],
        suppliers=[],
        bom_changes=[
            {
                "assembly": "FG-3001",
                "revision": "B",
                "lines": [{"position": 10, "component": "ASM-1001", "quantity": "1", "uom": "EA"}],
            }
        ],
        routing_changes=[
            {"item": "ASM-1001", "revision": "D", "plant": "P100", "operations": ROUTING}
        ],
    )


def _drive(engine: sa.Engine, rounds: int = 20) -> list[store.StepRecord]:
    """Run every step as the systems would: FG-3001's BOM is effective when written, and
    ERP confirms a production version one round after it was requested. Returns every
    step claimed, in order."""
    claimed_all: list[store.StepRecord] = []
    for _ in range(rounds):
        with engine.begin() as connection:
            waiting = store.awaiting_confirmations(connection, limit=100)
            for step in waiting:
                store.confirm(connection, step, now=T0, confirmed_at=T0)
        claimed = claim(engine)
        claimed_all.extend(claimed)
        if not claimed and not waiting:
            break
        with engine.begin() as connection:
            for step in claimed:
                if step.kind is StepKind.ERP_CONFIRMATION:
                    store.await_confirmation(connection, step, now=T0)
                    continue
                status = None
                if step.kind is StepKind.ERP_BOM:
                    status = "effective" if step.item == "FG-3001" else "scheduled"
                store.succeed(
                    connection,
                    step,
                    now=T0,
                    external_id=f"{step.kind.value}-{step.eco}",
                    external_status=status,
                )
    return claimed_all


def test_the_mes_routing_of_a_superseded_confirmation_is_skipped_not_sent(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco(plants=["P100"], suppliers=[]))
    receive(engine, _later_eco())
    claimed = _drive(engine)
    with engine.connect() as connection:
        assert store.eco_states(connection) == {
            EARLIER: EcoProgress.PRODUCTION_READY,
            LATER: EcoProgress.PRODUCTION_READY,
        }
        steps = {
            (s.eco, s.kind): s
            for s in store.find_steps(connection, plant="P100")
            if s.item == "ASM-1001"
        }
    earlier_confirmation = steps[EARLIER, StepKind.ERP_CONFIRMATION]
    assert earlier_confirmation.state is StepState.SKIPPED, "the scenario needs the skip"
    assert steps[EARLIER, StepKind.MES_ROUTING].state is StepState.SKIPPED
    assert steps[LATER, StepKind.MES_ROUTING].state is StepState.SUCCEEDED
    sent_to_mes = [(s.eco, s.revision) for s in claimed if s.kind is StepKind.MES_ROUTING]
    assert sent_to_mes == [(LATER, "D")], "MES gets only the routing ERP confirmed"
    reasons = {
        e["data"]["step_id"]: (e["data"]["reason"], e["data"]["actor"])
        for e in events(engine)
        if e["type"] == "io.threadline.step.skipped.v1"
    }
    assert reasons[steps[EARLIER, StepKind.MES_ROUTING].step_id] == (
        "superseded: P100/ASM-1001 already at D in ERP",
        "engine",
    )
