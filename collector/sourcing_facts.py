"""The purchasing facts' rows: one row per stored event of the purchasing catalog types
(:mod:`collector.sourcing_tables`), written with the other projections' changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from collector.projections import StoredEvent
from collector.rows import Row
from collector.sourcing_tables import (
    impact_assessments,
    impact_scopes,
    info_record_activations,
    qualification_facts,
    supplier_duplicates,
)
from contracts import sourcing_events as se
from contracts.events import type_of


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _qualification(status: str, at: str) -> Callable[[StoredEvent], Row]:
    def row(event: StoredEvent) -> Row:
        data = event.data
        return {
            "event_seq": event.seq,
            "supplier": data["supplier"],
            "component": data["component"],
            "revision": data["revision"],
            "qualification_id": data["qualification_id"],
            "eco": data.get("eco"),
            "status": status,
            "reason": data.get("reason"),
            "plants": data.get("plants"),
            "at": _time(data[at]),
        }

    return row


def _activation(event: StoredEvent) -> Row:
    data = event.data
    return {
        "event_seq": event.seq,
        "eco": data["eco"],
        "supplier": data["supplier"],
        "component": data["component"],
        "revision": data["revision"],
        "plant": data.get("plant"),
        "plants": list(data["plants"]),
        "info_record": data["info_record"],
        "activated_at": _time(data["activated_at"]),
    }


def _duplicate(event: StoredEvent) -> Row:
    data = event.data
    return {
        "event_seq": event.seq,
        "kind": data["kind"],
        "key": data["key"],
        "codes": list(data["codes"]),
        "names": list(data["names"]),
        "systems": list(data["systems"]),
        "detail": data["detail"],
        "resolved": bool(data.get("resolved", False)),
        "detected_at": event.time,
    }


def _impact(event: StoredEvent) -> Row:
    data = event.data
    return {
        "event_seq": event.seq,
        "eco": data.get("eco"),
        "plant": data.get("plant"),
        "item": data.get("item"),
        "superseded_revision": data.get("superseded_revision"),
        "purchase_orders": data["purchase_orders"],
        "purchase_value": float(data["purchase_value"]),
        "earliest_due": _date(data.get("earliest_due")),
        "production_orders": data["production_orders"],
        "production_quantity": float(data["production_quantity"]),
        "earliest_start": _date(data.get("earliest_start")),
        "read_at": _time(data["read_at"]),
    }


_ROWS: Mapping[str, tuple[sa.Table, Callable[[StoredEvent], Row]]] = {
    type_of(se.QualificationRequested): (
        qualification_facts,
        _qualification("requested", "requested_at"),
    ),
    type_of(se.QualificationApproved): (
        qualification_facts,
        _qualification("qualified", "approved_at"),
    ),
    type_of(se.QualificationRejected): (
        qualification_facts,
        _qualification("rejected", "rejected_at"),
    ),
    type_of(se.InfoRecordActivated): (info_record_activations, _activation),
    type_of(se.SupplierRecordsDuplicated): (supplier_duplicates, _duplicate),
    type_of(se.ImpactAssessed): (impact_assessments, _impact),
}


FACT_TYPES = frozenset(_ROWS)
"""The catalog types kept one row per event (the other projections do not handle them)."""


def scope_key(row: Row) -> tuple[str, str, str]:
    """An assessment's scope as ``impact_scopes`` keys it (empty for none)."""
    return (row["eco"] or "", row["plant"] or "", row["item"] or "")


def fact_changes(new_events: Iterable[StoredEvent]) -> list[tuple[sa.Table, list[Row]]]:
    """The rows the new events of the purchasing types add, by table, and the newest
    assessment of each scope they assess."""
    rows: dict[str, tuple[sa.Table, list[Any]]] = {}
    newest: dict[tuple[str, str, str], Row] = {}
    for event in new_events:
        entry = _ROWS.get(event.type)
        if entry is not None:
            table, make = entry
            row = make(event)
            rows.setdefault(table.name, (table, []))[1].append(row)
            if table is impact_assessments:
                key = scope_key(row)
                if key not in newest or newest[key]["event_seq"] < row["event_seq"]:
                    newest[key] = row
    changes = list(rows.values())
    if newest:
        # Events are stored and projected in seq order, so the last written is the newest.
        changes.append(
            (
                impact_scopes,
                [
                    {"scope_eco": e, "scope_plant": p, "scope_item": i, **row}
                    for (e, p, i), row in newest.items()
                ],
            )
        )
    return changes
