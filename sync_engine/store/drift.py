"""What reconciliation needs of the engine's records and what it remembers between runs:
the ECOs Threadline holds with the (plant, item) pairs they move, the states of their
steps at a plant, the drift last reported per pair, and when each plant was last
reconciled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.readmodel import DriftCause
from contracts.steps import PURCHASING_KINDS, StepState
from sync_engine import logbook
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.cursors import get_cursor, set_cursor
from sync_engine.store.outbox import emit

RECONCILED_CURSOR = "reconciled."
"""Prefix of the cursor holding when a plant was last reconciled (ISO time)."""


@dataclass(frozen=True)
class EcoScope:
    """An ECO and the revisions it moves items to at its plants (PLM's or Threadline's)."""

    number: str
    approved_at: datetime
    effectivity: date
    plants: frozenset[str]
    revisions: Mapping[str, str]
    state: EcoProgress | None = None  # Threadline's state; ``None`` for PLM's view

    @classmethod
    def of_document(cls, document: Mapping[str, Any], state: EcoProgress | None) -> EcoScope:
        """The scope of an ECO document (``contracts.model.Eco`` as JSON)."""
        return cls(
            number=str(document["number"]),
            approved_at=_datetime(document["approved_at"]),
            effectivity=_date(document["effectivity"]),
            plants=frozenset(document.get("plants") or ()),
            revisions={
                str(a["item"]): str(a["new_revision"]) for a in document.get("affected_items") or ()
            },
            state=state,
        )


@dataclass(frozen=True)
class DriftRecord:
    """One drifting (plant, item) pair as reconciliation found it."""

    plant: str
    item: str
    plm_revision: str | None
    erp_revision: str | None
    mes_revision: str | None
    expected_revision: str | None
    eco: str | None
    eco_state: str | None
    cause: DriftCause
    detail: str
    since: datetime | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        """What makes two findings the same drift (the detail and the time do not)."""
        parts = (
            self.plm_revision,
            self.erp_revision,
            self.mes_revision,
            self.expected_revision,
            self.eco,
            self.eco_state,
            self.cause.value,
        )
        return "|".join(p or "-" for p in parts)[:300]


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def threadline_ecos(connection: sa.Connection) -> dict[str, EcoScope]:
    """Every ECO the engine has read from PLM (rejected ones included), by number."""
    rows = connection.execute(sa.select(t.ecos.c.number, t.ecos.c.state, t.ecos.c.document)).all()
    scopes = {}
    for row in rows:
        try:
            scopes[row.number] = EcoScope.of_document(row.document, EcoProgress(row.state))
        except (KeyError, TypeError, ValueError):
            # A rejected ECO's document may be malformed: it still names a known number.
            scopes[row.number] = EcoScope(
                row.number, datetime.min, date.max, frozenset(), {}, EcoProgress(row.state)
            )
    return scopes


def step_states_at(connection: sa.Connection, plant: str) -> dict[str, dict[str, set[StepState]]]:
    """ECO -> item -> the states of that ECO's steps at ``plant`` for the item.

    Steps of no item (there are none at a plant today) are filed under ``""``.
    """
    rows = connection.execute(
        sa.select(t.steps.c.eco, t.steps.c.item, t.steps.c.state)
        .where(t.steps.c.plant == plant)
        # Purchasing does not move a plant's revision (see contracts.steps.PURCHASING_KINDS).
        .where(t.steps.c.kind.not_in(sorted(PURCHASING_KINDS)))
        .distinct()
    ).all()
    found: dict[str, dict[str, set[StepState]]] = {}
    for row in rows:
        found.setdefault(row.eco, {}).setdefault(row.item or "", set()).add(StepState(row.state))
    return found


def open_drift(
    connection: sa.Connection, plants: Iterable[str] | None = None
) -> dict[tuple[str, str], DriftRecord]:
    """The drift last reported and not resolved, by (plant, item)."""
    query = sa.select(t.drift)
    if plants is not None:
        query = query.where(t.drift.c.plant.in_(sorted(plants)))
    return {
        (row.plant, row.item): DriftRecord(
            plant=row.plant,
            item=row.item,
            plm_revision=row.plm_revision,
            erp_revision=row.erp_revision,
            mes_revision=row.mes_revision,
            expected_revision=row.expected_revision,
            eco=row.eco,
            eco_state=row.eco_state,
            cause=DriftCause(row.cause),
            detail=row.detail,
            since=row.since,
        )
        for row in connection.execute(query.order_by(t.drift.c.plant, t.drift.c.item))
    }


def report_drift(
    connection: sa.Connection, found: DriftRecord, *, now: datetime
) -> DriftRecord | None:
    """Remember a drifting pair and emit ``plant.drift_detected`` if it is new or changed;
    return the stored record (with its ``since``), or ``None`` when nothing changed."""
    current = connection.execute(
        sa.select(t.drift.c.fingerprint, t.drift.c.since)
        .where(t.drift.c.plant == found.plant)
        .where(t.drift.c.item == found.item)
        .with_for_update()
    ).one_or_none()
    if current is not None and current.fingerprint == found.fingerprint:
        return None
    since = now if current is None else current.since
    values = {
        "fingerprint": found.fingerprint,
        "plm_revision": found.plm_revision,
        "erp_revision": found.erp_revision,
        "mes_revision": found.mes_revision,
        "expected_revision": found.expected_revision,
        "eco": found.eco,
        "eco_state": found.eco_state,
        "cause": found.cause.value,
        "detail": found.detail[:500],
        "since": since,
        "updated_at": now,
    }
    if current is None:
        connection.execute(sa.insert(t.drift).values(plant=found.plant, item=found.item, **values))
    else:
        connection.execute(
            sa.update(t.drift)
            .where(t.drift.c.plant == found.plant)
            .where(t.drift.c.item == found.item)
            .values(**values)
        )
    emit(
        connection,
        ev.DriftDetected(
            plant=found.plant,
            item=found.item,
            plm_revision=found.plm_revision,
            erp_revision=found.erp_revision,
            mes_revision=found.mes_revision,
            expected_revision=found.expected_revision,
            responsible_eco=found.eco,
            eco_state=found.eco_state,
            cause=found.cause,
            detail=found.detail[:500],
            since=since,
        ),
        now=now,
    )
    logbook.drift_found(found.plant, found.item, found.cause.value, found.eco, found.detail)
    return replace(found, since=since)


def resolve_drift(
    connection: sa.Connection, plant: str, item: str, revision: str | None, *, now: datetime
) -> bool:
    """Forget a pair's drift and emit ``plant.drift_resolved``; ``False`` if none was open."""
    where = sa.and_(t.drift.c.plant == plant, t.drift.c.item == item)
    since = connection.execute(
        sa.select(t.drift.c.since).where(where).with_for_update()
    ).scalar_one_or_none()
    if since is None:
        return False
    connection.execute(sa.delete(t.drift).where(where))
    emit(
        connection,
        ev.DriftResolved(plant=plant, item=item, revision=revision, since=since),
        now=now,
    )
    logbook.drift_ended(plant, item, revision)
    return True


def mark_reconciled(connection: sa.Connection, plant: str, *, now: datetime) -> None:
    """Note that ``plant`` was compared with PLM, ERP and MES at ``now``."""
    set_cursor(connection, f"{RECONCILED_CURSOR}{plant}", now.isoformat(), now=now)


def last_reconciled(connection: sa.Connection, plant: str) -> datetime | None:
    """When ``plant`` was last reconciled, if ever."""
    value = get_cursor(connection, f"{RECONCILED_CURSOR}{plant}")
    return None if value is None else datetime.fromisoformat(value)


def reconciled_plants(connection: sa.Connection) -> dict[str, datetime]:
    """Every plant ever reconciled and when it last was."""
    rows = connection.execute(
        sa.select(t.cursors.c.name, t.cursors.c.value).where(
            t.cursors.c.name.startswith(RECONCILED_CURSOR)
        )
    ).all()
    return {row.name[len(RECONCILED_CURSOR) :]: datetime.fromisoformat(row.value) for row in rows}
