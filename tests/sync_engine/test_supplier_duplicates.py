"""Duplicate supplier records: reconciliation compares procurement's and ERP's supplier
masters (the real simulators over loopback), reports each duplicate once and its end once,
and the Drift page's rows are what the two masters show."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from collector.store import EventStore
from contracts.api import SupplierMaster, SupplierRecord
from contracts.model import utcnow
from dashboards.suppliers import duplicate_suppliers
from simulators.testing import running_simulators
from sync_engine import store
from sync_engine.connectors import ErpConnector, ProcurementConnector
from sync_engine.suppliers import duplicates, reconcile_suppliers
from tests.sync_engine.scenario import Db
from threadline.db import create_engine

TYPE = "io.threadline.supplier.records_duplicated.v1"


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11) as url:
        yield url


def _truth(url: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """The duplicates the two masters themselves show: a tax id under several codes, a
    code under several names."""
    masters = [httpx.get(f"{url}/{s}/suppliers").json()["items"] for s in ("procurement", "erp")]
    by_tax: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    for master in masters:
        for record in master:
            by_tax.setdefault(record["tax_id"], set()).add(record["code"])
            names.setdefault(record["code"], set()).add(record["name"])
    found = {("tax_id", tax, tuple(sorted(c))) for tax, c in by_tax.items() if len(c) > 1}
    found |= {("code", code, (code,)) for code, n in names.items() if len(n) > 1}
    return found


def _run(database_url: str, sims: str) -> int:
    db = create_engine(database_url)

    async def main() -> int:
        async with httpx.AsyncClient() as client:
            procurement = ProcurementConnector(client, f"{sims}/procurement")
            erp = ErpConnector(client, f"{sims}/erp")

            async def run_db(fn: Any, *args: Any, **kwargs: Any) -> Any:
                with store.writing(db) as connection:
                    return fn(connection, *args, **kwargs)

            return await reconcile_suppliers(run_db, procurement, erp)

    try:
        return asyncio.run(main())
    finally:
        db.dispose()


def test_each_duplicate_is_reported_once_and_shown_as_the_masters_have_it(
    sims: str, database_url: str
) -> None:
    truth = _truth(sims)
    assert {kind for kind, _, _ in truth} == {"tax_id", "code"}
    assert _run(database_url, sims) == len(truth)
    assert _run(database_url, sims) == 0  # nothing changed: nothing reported again
    reader = Db(database_url)
    try:
        events = [e for e in reader.events() if e["type"] == TYPE]
    finally:
        reader.close()
    reported = {(e["data"]["kind"], e["data"]["key"], tuple(e["data"]["codes"])) for e in events}
    assert reported == truth
    engine = create_engine(database_url)
    try:
        EventStore(engine).append(events, "engine")
        rows = duplicate_suppliers(engine)
    finally:
        engine.dispose()
    assert {(r.kind, r.key, tuple(r.codes)) for r in rows.itertuples()} == truth


def test_a_merged_duplicate_is_reported_resolved(database_url: str) -> None:
    procurement = SupplierMaster(
        system="procurement", items=[SupplierRecord(code="S010", name="Acme", tax_id="DE1")]
    )
    erp = SupplierMaster(
        system="erp", items=[SupplierRecord(code="V-9", name="Acme", tax_id="DE1")]
    )
    found = duplicates(procurement, erp)
    assert [(d.kind, d.key, d.codes, d.systems) for d in found] == [
        ("tax_id", "DE1", ["S010", "V-9"], ["erp", "procurement"])
    ]
    engine = create_engine(database_url)
    try:
        with store.writing(engine) as connection:
            assert store.report_duplicates(connection, found, now=utcnow()) == 1
        with store.writing(engine) as connection:
            assert store.report_duplicates(connection, found, now=utcnow()) == 0
        with store.writing(engine) as connection:
            assert store.report_duplicates(connection, [], now=utcnow()) == 1
    finally:
        engine.dispose()
    reader = Db(database_url)
    try:
        reports = [e["data"] for e in reader.events() if e["type"] == TYPE]
    finally:
        reader.close()
    assert [(r.get("resolved", False), r["codes"]) for r in reports] == [
        (False, ["S010", "V-9"]),
        (True, ["S010", "V-9"]),
    ]
