"""The engine's SLA reports in the read models: the latest report per step or ECO wins
whatever order events arrive in, and only work still in its stage counts as overdue."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from collector.derived import ConfirmationSla
from collector.projections import Projector
from collector.rows import Working
from collector.samples import START, Emitter, propagation_events
from contracts.operator_events import WorkOverdue, WorkResolved
from contracts.sla import Stage, parse_sla
from contracts.steps import StepKind
from tests.collector.test_projections import stored

ECO = "ECO-2026-00042"
NOTICE = f"{ECO}/{StepKind.SUPPLIER_NOTICE}/-/S010"


def reports(at: datetime) -> list[dict[str, Any]]:
    """The notice overdue while it retried, then resolved; the ECO overdue, then resolved."""
    out = Emitter(eco=ECO, clock=at, sequence_prefix="sla")
    notice: dict[str, Any] = {"stage": Stage.SUPPLIER_NOTICE, "eco": ECO, "step_id": NOTICE}
    notice |= {"kind": StepKind.SUPPLIER_NOTICE, "supplier": "S010", "since": START}
    notice |= {"due_at": START + timedelta(seconds=1), "sla_seconds": 1}
    whole: dict[str, Any] = {"stage": Stage.ECO, "eco": ECO, "since": START}
    whole |= {"due_at": START + timedelta(seconds=2), "sla_seconds": 2}
    out.emit(WorkOverdue(**notice))
    out.emit(WorkOverdue(**whole))
    out.emit(WorkResolved(**notice, overdue_seconds=3))
    out.emit(WorkResolved(**whole, overdue_seconds=9))
    return out.events


def project(events: list[Any], rng: random.Random | None) -> Working:
    projector = Projector()
    work = Working()
    if rng is not None:
        events = rng.sample(events, len(events))
    for event in events:
        projector.apply(work, event)
    projector.derive(work, [ECO])
    return work


def test_open_reports_count_only_while_the_work_is_in_their_stage() -> None:
    propagation = propagation_events()
    first_retry = next(
        i
        for i, e in enumerate(propagation)
        if e["data"].get("step_id") == NOTICE and e["data"]["to_state"] == "retrying"
    )
    overdue = reports(datetime.fromisoformat(propagation[first_retry]["time"]))[:2]
    work = project(stored([*propagation[: first_retry + 1], *overdue]), None)
    assert work.steps[NOTICE]["overdue"] is True
    assert work.steps[NOTICE]["sla_stage"] == "supplier_notice"
    assert work.steps[NOTICE]["overdue_due_at"] == START + timedelta(seconds=1)
    assert work.ecos[ECO]["overdue"] is True
    # The notice was sent and the ECO finished; the resolutions have not arrived yet.
    work = project(stored([*propagation, *overdue]), None)
    assert work.steps[NOTICE]["overdue"] is False
    assert work.ecos[ECO]["overdue"] is False


@pytest.mark.parametrize("seed", range(6))
def test_any_arrival_order_leaves_the_latest_report(seed: int) -> None:
    propagation = propagation_events()
    events = stored([*propagation[:40], *reports(datetime.fromisoformat(propagation[39]["time"]))])
    in_order = project(events, None)
    shuffled = project(events, random.Random(seed))
    for work in (in_order, shuffled):
        assert work.steps[NOTICE]["overdue_open"] is False
        assert work.ecos[ECO]["overdue_open"] is False
        assert work.ecos[ECO]["overdue_reported_at"] is not None
    assert shuffled.steps[NOTICE] == in_order.steps[NOTICE]
    assert shuffled.ecos[ECO]["sla_stage"] == in_order.ecos[ECO]["sla_stage"] == "eco"


def test_a_confirmations_due_time_follows_the_sla_file_by_plant_and_family() -> None:
    policy = parse_sla(
        '[families.PUMPS]\nerp_confirmation = "1h"\n[plants.P200]\nerp_confirmation = "2m"\n'
    )
    projector = Projector(ConfirmationSla.from_policy(policy))
    work = Working()
    for event in stored(propagation_events()):
        projector.apply(work, event)
    projector.derive(work, [ECO])
    due = {
        row["plant"]: row["sla_due_at"] - row["requested_at"]
        for row in work.steps.values()
        if row["kind"] == StepKind.ERP_CONFIRMATION
    }
    assert due == {"P100": timedelta(hours=1), "P200": timedelta(minutes=2)}
