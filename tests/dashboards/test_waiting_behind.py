"""The ECO page names the ECO a held step waits behind, from the collector's read models
of the engine's own events."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from collector.store import EventStore
from dashboards.ecos import eco_steps, waiting_behind
from sync_engine import store
from sync_engine.errors import BusinessError
from tests.factories import APPROVED_AT, make_eco
from tests.sync_engine.helpers import T0, claim, receive

EARLIER, LATER = "ECO-2026-00042", "ECO-2026-00043"
RELEASE = f"{EARLIER}/erp.item_revision/-/ASM-1001"
LATER_RELEASE = f"{LATER}/erp.item_revision/-/ASM-1001"


def _relay(engine: sa.Engine) -> None:
    """Hand the engine's undelivered events to the collector's store, as the relay does."""
    with engine.begin() as connection:
        batch = store.undelivered(connection, after=0, limit=10_000)
        store.mark_delivered(connection, [i for i, _ in batch], T0)
    EventStore(engine).append([event for _, event in batch], "engine")


def test_a_held_step_names_the_eco_it_waits_behind_until_that_step_is_resolved(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    receive(
        engine,
        make_eco(
            number=LATER,
            approved_at=(APPROVED_AT + timedelta(hours=1)).isoformat(),
            affected_items=[{"item": "ASM-1001", "old_revision": "C", "new_revision": "D"}],
            bom_changes=[],
            routing_changes=[],
            suppliers=[],
        ),
    )
    first = {s.step_id: s for s in claim(engine)}
    with engine.begin() as connection:
        blocked = store.fail(
            connection,
            first[RELEASE],
            BusinessError("ITEM_LOCKED", "locked in ERP"),
            now=T0,
            next_attempt_at=None,
        )
    claim(engine)
    _relay(engine)
    shown = waiting_behind(engine, LATER)
    # The release waits behind the blocked one; the plants' versions behind the earlier
    # ECO's versions, which wait for their own release.
    assert shown[LATER_RELEASE] == EARLIER and set(shown.values()) == {EARLIER}
    assert {s.split("/")[1] for s in shown} == {
        "erp.item_revision",
        "erp.production_version",
        "erp.confirmation",
    }
    with engine.connect() as connection:
        waiting = [s.step_id for s in store.steps_of(connection, LATER)]
        assert store.waiting_behind(connection, waiting) == shown
    assert waiting_behind(engine, EARLIER) == {}
    listed = eco_steps(engine, LATER).set_index("step_id")
    assert listed.loc[LATER_RELEASE, "waits_behind"] == EARLIER

    with engine.begin() as connection:
        store.skip(connection, blocked, now=T0, actor="ops", reason="released by hand")
    claim(engine)
    _relay(engine)
    assert LATER_RELEASE not in waiting_behind(engine, LATER)
    # The page's step list says why the earlier step no longer holds anything.
    listed = eco_steps(engine, EARLIER).set_index("step_id")
    assert (listed.loc[RELEASE, "state"], listed.loc[RELEASE, "reason"]) == (
        "skipped",
        "released by hand",
    )
