"""Reconciliation: compare each plant's revisions in ERP and MES with what the engine
recorded, report differences, and raise exceptions a person must look at.

- ``plant.revision_observed`` where ERP or MES shows a revision different from the one the
  engine last recorded for an item it manages at that plant (then the new value is
  recorded, so each difference is reported once);
- ``plant.reconciliation_exception`` ``erp_mes_disagree`` where ERP and MES run different
  revisions of an item whose routing the engine gave MES, with nothing in flight;
- ``stale_revision`` where ERP runs an older revision than the latest effective,
  production-ready ECO moved it to, with nothing in flight.

Each exception is raised once per distinct finding (remembered per plant and item).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.model import revision_key
from contracts.steps import System
from sync_engine import store
from sync_engine.connectors import ErpConnector, MesConnector
from sync_engine.errors import CallError

log = logging.getLogger(__name__)

DbCall = Callable[..., Awaitable[Any]]


def record_plant(
    connection: sa.Connection,
    plant: str,
    erp: dict[str, str],
    mes: dict[str, str],
    *,
    now: datetime,
    today: date,
) -> int:
    """Compare one plant's observed revisions with the records; return events emitted."""
    emitted = 0
    recorded = store.recorded_revisions(connection, plant)
    expected = store.expected_revisions(connection, plant, today)
    managed = sorted(set(recorded) | set(expected) | store.items_at(connection, plant))
    for item in managed:
        row = recorded.get(item)
        for system, observed in ((System.ERP, erp.get(item)), (System.MES, mes.get(item))):
            if system is System.MES and (row is None or row.mes_revision is None):
                continue  # the engine never gave MES this item: MES keeps its own routing
            last = None if row is None else getattr(row, f"{system.value}_revision")
            if observed != last:
                store.emit(
                    connection,
                    ev.PlantRevisionObserved(
                        plant=plant,
                        item=item,
                        system=system,
                        observed_revision=observed,
                        expected_revision=last,
                        eco=expected.get(item, (None, None))[1],
                    ),
                    now=now,
                )
                store.observe_revision(connection, plant, item, system, observed, now=now)
                emitted += 1
        finding = _finding(plant, item, erp.get(item), mes.get(item), row, expected.get(item))
        if finding is not None and store.open_work(connection, plant, item):
            continue
        key = None if finding is None else f"{finding.kind}:{finding.detail}"[:200]
        if store.set_last_exception(connection, plant, item, key, now=now) and finding:
            store.emit(
                connection,
                finding,
                now=now,
            )
            emitted += 1
    return emitted


def _finding(
    plant: str,
    item: str,
    erp: str | None,
    mes: str | None,
    row: Any,
    expected: tuple[str, str] | None,
) -> ev.ReconciliationException | None:
    if row is not None and row.mes_revision is not None and erp != mes:
        return ev.ReconciliationException(
            plant=plant,
            item=item,
            kind="erp_mes_disagree",
            detail=f"ERP runs {erp or 'nothing'}, MES runs {mes or 'nothing'}",
            erp_revision=erp,
            mes_revision=mes,
            expected_revision=expected[0] if expected else None,
            eco=expected[1] if expected else None,
        )
    if expected is not None and (erp is None or revision_key(erp) < revision_key(expected[0])):
        return ev.ReconciliationException(
            plant=plant,
            item=item,
            kind="stale_revision",
            detail=f"ERP runs {erp or 'nothing'}; {expected[1]} made {expected[0]} effective",
            erp_revision=erp,
            mes_revision=mes,
            expected_revision=expected[0],
            eco=expected[1],
        )
    return None


async def reconcile(db: DbCall, erp: ErpConnector, mes: MesConnector, *, now: datetime) -> int:
    """Reconcile every plant the engine has worked on; return events emitted."""
    emitted = 0
    for plant in await db(store.plants_in_use):
        try:
            erp_revisions = await erp.revisions(plant)
            mes_revisions = await mes.revisions(plant)
        except CallError as exc:
            log.warning("reconciliation of %s skipped: %s", plant, exc)
            continue
        emitted += await db(
            record_plant, plant, erp_revisions, mes_revisions, now=now, today=now.date()
        )
    return emitted
