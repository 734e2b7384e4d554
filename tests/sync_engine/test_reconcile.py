from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from contracts.events import parse_data
from sync_engine.reconcile import record_plant
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, events, receive, run_all

AFTER_EFFECTIVITY = date(2026, 4, 1)


def _reconcile(engine: sa.Engine, plant: str, erp: dict, mes: dict) -> list[dict]:
    before = len(events(engine))
    with engine.begin() as connection:
        record_plant(connection, plant, erp, mes, now=T0, today=AFTER_EFFECTIVITY)
    found = events(engine)[before:]
    for event in found:
        parse_data(event["type"], event["data"])
    return found


def test_reconciliation_reports_differences_once_and_raises_exceptions(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    run_all(engine)
    # What the engine itself recorded matches: nothing to say.
    assert _reconcile(engine, "P100", {"ASM-1001": "C"}, {"ASM-1001": "C"}) == []

    # Someone moved P100 back to B in ERP behind the engine's back.
    found = _reconcile(engine, "P100", {"ASM-1001": "B"}, {"ASM-1001": "C"})
    assert [(e["type"].split(".")[3], e["subject"]) for e in found] == [
        ("revision_observed", "P100/ASM-1001"),
        ("reconciliation_exception", "P100/ASM-1001"),
    ]
    observed, exception = (e["data"] for e in found)
    assert (observed["system"], observed["observed_revision"], observed["expected_revision"]) == (
        "erp",
        "B",
        "C",
    )
    assert exception["kind"] == "erp_mes_disagree"
    assert (exception["erp_revision"], exception["mes_revision"]) == ("B", "C")
    assert exception["eco"] == "ECO-2026-00042"
    assert _reconcile(engine, "P100", {"ASM-1001": "B"}, {"ASM-1001": "C"}) == []

    # P200 gets no MES routing from this ECO; ERP on an older revision is stale.
    found = _reconcile(engine, "P200", {"ASM-1001": "B"}, {"ASM-1001": "B"})
    kinds = [e["data"].get("kind") for e in found if "exception" in e["type"]]
    assert kinds == ["stale_revision"]
    # Put right: the finding clears, and a later relapse is reported again.
    assert [e["type"] for e in _reconcile(engine, "P200", {"ASM-1001": "C"}, {})] == [
        "io.threadline.plant.revision_observed.v1"
    ]
    relapse = _reconcile(engine, "P200", {"ASM-1001": "B"}, {})
    assert [e["data"].get("kind") for e in relapse if "exception" in e["type"]] == [
        "stale_revision"
    ]
