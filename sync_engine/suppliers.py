"""Reconciliation of the supplier masters: procurement's and ERP's records of one supplier
must agree. One tax id under two codes, or one code under two names (in either system or
across them), is a duplicate for sourcing to merge (``supplier.records_duplicated``,
reported once and again when it changes or ends)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from contracts.api import SupplierMaster
from contracts.model import utcnow
from contracts.sourcing_events import SupplierRecordsDuplicated
from sync_engine import store
from sync_engine.connectors import ErpConnector, ProcurementConnector

System = Literal["procurement", "erp"]


def duplicates(*masters: SupplierMaster) -> list[SupplierRecordsDuplicated]:
    """Every tax id under more than one code and every code under more than one name."""
    by_tax: dict[str, set[tuple[str, str, System]]] = {}
    by_code: dict[str, set[tuple[str, str, System]]] = {}
    for master in masters:
        for record in master.items:
            entry = (record.code, record.name, master.system)
            by_tax.setdefault(record.tax_id, set()).add(entry)
            by_code.setdefault(record.code, set()).add(entry)
    found = []
    for kind, groups, differing in (("tax_id", by_tax, 0), ("code", by_code, 1)):
        for key, entries in sorted(groups.items()):
            if len({entry[differing] for entry in entries}) < 2:
                continue
            codes = sorted({e[0] for e in entries})
            names = sorted({e[1] for e in entries})
            systems: list[System] = sorted({e[2] for e in entries})
            where = "; ".join(f"{c} '{n}' ({s})" for c, n, s in sorted(entries))
            found.append(
                SupplierRecordsDuplicated(
                    kind=kind,
                    key=key,
                    codes=codes,
                    names=names,
                    systems=systems,
                    detail=f"{'tax id' if kind == 'tax_id' else 'code'} {key}: {where}"[:500],
                )
            )
    return found


async def reconcile_suppliers(
    db: Callable[..., Awaitable[Any]], procurement: ProcurementConnector, erp: ErpConnector
) -> int:
    """Compare the two supplier masters and report what changed; return events emitted.
    Raises a ``CallError`` if either cannot be read (nothing is reported then)."""
    found = duplicates(await procurement.suppliers(), await erp.suppliers())
    return int(await db(store.report_duplicates, found, now=utcnow()))
