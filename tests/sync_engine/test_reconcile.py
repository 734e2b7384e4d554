from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from contracts.events import parse_data
from contracts.model import Eco
from contracts.readmodel import DriftCause
from sync_engine import store
from sync_engine.reconcile import record_plant
from sync_engine.store import EcoScope
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, events, receive, run_all

AFTER_EFFECTIVITY = date(2026, 4, 1)


def _plm(*ecos: Eco) -> list[EcoScope]:
    return [EcoScope.of_document(eco.model_dump(mode="json"), None) for eco in ecos]


def _reconcile(
    engine: sa.Engine, plant: str, erp: dict, mes: dict, plm: list[EcoScope], minutes: int = 0
) -> tuple[list[store.DriftRecord], list[dict]]:
    before = len(events(engine))
    with engine.begin() as connection:
        drift, _ = record_plant(
            connection,
            plant,
            erp,
            mes,
            plm,
            now=T0 + timedelta(minutes=minutes),
            today=AFTER_EFFECTIVITY,
        )
    found = [e for e in events(engine)[before:] if ".drift_" in e["type"]]
    for event in found:
        parse_data(event["type"], event["data"])
    return drift, found


def _pairs(drift: list[store.DriftRecord]) -> set[tuple[str, str, DriftCause, str | None]]:
    return {(d.plant, d.item, d.cause, d.eco) for d in drift}


def test_drift_is_reported_once_with_its_cause_and_resolved_once(engine: sa.Engine) -> None:
    eco = make_eco()
    plm = _plm(eco)
    receive(engine, eco)
    run_all(engine)
    agreed = {"ASM-1001": "C", "CMP-2001": "B"}
    assert _reconcile(engine, "P100", agreed, {"ASM-1001": "C"}, plm) == ([], [])

    # Someone moved P100 back to B in ERP behind Threadline's back.
    moved = {"ASM-1001": "B", "CMP-2001": "B"}
    drift, found = _reconcile(engine, "P100", moved, {"ASM-1001": "C"}, plm, minutes=1)
    assert _pairs(drift) == {("P100", "ASM-1001", DriftCause.OUTSIDE, "ECO-2026-00042")}
    (row,) = drift
    assert (row.plm_revision, row.erp_revision, row.mes_revision, row.expected_revision) == (
        "C",
        "B",
        "C",
        "C",
    )
    assert row.since == T0 + timedelta(minutes=1)
    assert [(e["type"], e["subject"]) for e in found] == [
        ("io.threadline.plant.drift_detected.v1", "P100/ASM-1001")
    ]
    assert found[0]["correlationid"] == "ECO-2026-00042"
    # The same drift ten minutes later: nothing new to say, and it is still as old.
    drift, found = _reconcile(engine, "P100", moved, {"ASM-1001": "C"}, plm, minutes=11)
    assert found == [] and [d.since for d in drift] == [T0 + timedelta(minutes=1)]

    # Put right: the drift ends once.
    drift, found = _reconcile(engine, "P100", agreed, {"ASM-1001": "C"}, plm, minutes=12)
    assert drift == []
    assert [(e["type"], e["data"]["revision"]) for e in found] == [
        ("io.threadline.plant.drift_resolved.v1", "C")
    ]
    assert _reconcile(engine, "P100", agreed, {"ASM-1001": "C"}, plm, minutes=13) == ([], [])


def test_each_cause_names_the_responsible_eco(engine: sa.Engine) -> None:
    first = make_eco()
    receive(engine, first)
    run_all(engine)
    # A later ECO Threadline holds but has not run yet, and one it never read from PLM.
    second = make_eco(
        number="ECO-2026-00043",
        approved_at=(T0 + timedelta(hours=1)).isoformat(),
        affected_items=[{"item": "ASM-1001", "old_revision": "C", "new_revision": "D"}],
        bom_changes=[],
        routing_changes=[],
        suppliers=[],
    )
    unread = make_eco(
        number="ECO-2026-00044",
        approved_at=(T0 + timedelta(hours=2)).isoformat(),
        affected_items=[{"item": "CMP-2002", "old_revision": "A", "new_revision": "B"}],
        plants=["P200"],
        bom_changes=[],
        routing_changes=[],
        suppliers=[],
    )
    receive(engine, second, now=T0 + timedelta(hours=1))
    plm = _plm(first, second, unread)
    erp = {"ASM-1001": "C", "CMP-2001": "B", "CMP-2002": "A"}
    drift, _ = _reconcile(engine, "P100", erp, {"ASM-1001": "B"}, plm)
    assert _pairs(drift) == {("P100", "ASM-1001", DriftCause.IN_FLIGHT, "ECO-2026-00043")}
    assert drift[0].mes_revision == "B" and drift[0].eco_state == "in_progress"

    drift, _ = _reconcile(engine, "P200", erp, {}, plm)
    assert _pairs(drift) == {
        ("P200", "ASM-1001", DriftCause.IN_FLIGHT, "ECO-2026-00043"),
        ("P200", "CMP-2002", DriftCause.NOT_RECEIVED, "ECO-2026-00044"),
    }
    # MES runs something no ECO explains at a pair PLM never changed.
    drift, _ = _reconcile(engine, "P300", {"ASM-7000": "B"}, {"ASM-7000": "A"}, plm)
    assert _pairs(drift) == {("P300", "ASM-7000", DriftCause.OUTSIDE, None)}
    with engine.connect() as connection:
        assert set(store.reconciled_plants(connection)) == {"P100", "P200", "P300"}
