"""Due times of in-flight work: each open step and the ECO itself, on time, due soon or
overdue as the SLA file's limits say."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from collector.store import EventStore
from contracts.sla import SlaState, Stage, parse_sla
from dashboards.sla import eco_deadlines
from tests.dashboards.history_seed import END, RISKY, awaiting_confirmation

POLICY = parse_sla(
    """
    due_soon = 0.75
    [defaults]
    erp_confirmation = "2h"
    eco = "1d"
    [plants.P200]
    erp_confirmation = "10m"
    """
)


def test_every_open_step_and_the_eco_carry_a_due_time_and_a_state(engine: sa.Engine) -> None:
    story = awaiting_confirmation(RISKY, END.date())
    EventStore(engine).append(story.events, "engine")
    requested = story.clock  # its last event: the confirmation step starts awaiting ERP
    with engine.connect() as connection:
        at = {
            offset: {
                d["stage"]: d for d in eco_deadlines(connection, RISKY, requested + offset, POLICY)
            }
            for offset in (
                timedelta(hours=1),
                timedelta(minutes=100),
                timedelta(hours=2, seconds=5),
            )
        }
    hour, soon, late = at.values()
    confirmation = hour[Stage.ERP_CONFIRMATION]
    assert confirmation["plant"] == "P100"
    assert confirmation["since"] == requested
    assert confirmation["due_at"] == requested + timedelta(hours=2)
    assert confirmation["sla_state"] is SlaState.ON_TIME
    assert soon[Stage.ERP_CONFIRMATION]["sla_state"] is SlaState.DUE_SOON
    assert late[Stage.ERP_CONFIRMATION]["sla_state"] is SlaState.OVERDUE
    eco = hour[Stage.ECO]
    assert eco["step_id"] is None and eco["due_at"] == story.approved_at + timedelta(days=1)
    assert eco["sla_state"] is SlaState.ON_TIME
    assert set(hour) == {Stage.ERP_CONFIRMATION, Stage.ECO}  # waiting steps have no clock yet
