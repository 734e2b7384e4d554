"""What reconciliation remembers of duplicate supplier records: each reported once, again
only when it changes, and its end once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from contracts import sourcing_events as se
from sync_engine import tables as t
from sync_engine.store.outbox import emit


def _fingerprint(found: se.SupplierRecordsDuplicated) -> str:
    return "|".join([",".join(found.codes), ",".join(found.names), ",".join(found.systems)])[:500]


def report_duplicates(
    connection: sa.Connection, found: Sequence[se.SupplierRecordsDuplicated], *, now: datetime
) -> int:
    """Report the duplicates found that are new or changed, and the end of those no longer
    found; return how many events were emitted."""
    table = t.supplier_duplicates
    known = {(row.kind, row.key): row for row in connection.execute(sa.select(table)).all()}
    emitted = 0
    current = set()
    for duplicate in found:
        key = (duplicate.kind, duplicate.key)
        current.add(key)
        fingerprint = _fingerprint(duplicate)
        row = known.get(key)
        if row is not None and row.fingerprint == fingerprint:
            continue
        if row is None:
            connection.execute(
                sa.insert(table).values(
                    kind=duplicate.kind, key=duplicate.key, fingerprint=fingerprint, since=now
                )
            )
        else:
            connection.execute(
                sa.update(table)
                .where(table.c.kind == duplicate.kind, table.c.key == duplicate.key)
                .values(fingerprint=fingerprint)
            )
        emit(connection, duplicate, now=now)
        emitted += 1
    for (kind, key), row in known.items():
        if (kind, key) in current:
            continue
        connection.execute(sa.delete(table).where(table.c.kind == kind, table.c.key == key))
        codes, names, systems = (part.split(",") for part in row.fingerprint.split("|", 2))
        emit(
            connection,
            se.SupplierRecordsDuplicated(
                kind=kind,
                key=key,
                codes=codes,
                names=names,
                systems=systems,
                detail=f"{kind} {key}: one record again",
                resolved=True,
            ),
            now=now,
        )
        emitted += 1
    return emitted
