"""What business impact is assessed for, and what was last reported of it.

A scope is an ECO at one of its plants for one of its items, for every ECO that is
blocked, failed or waiting on a qualification (in progress, or production-ready with its
purchasing still held) or at risk (effective by tomorrow and not production-ready), and
for every (plant, item) reconciliation finds behind (its responsible ECO's, or ``-`` when
none explains it). Each scope's exposure is reported once (``eco.impact_assessed``),
again when it changes, and once as zero when the scope is no longer stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from contracts import sourcing_events as se
from contracts.steps import StepState
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.outbox import emit

NO_ECO = "-"
STUCK = (
    StepState.BLOCKED.value,
    StepState.FAILED.value,
    StepState.AWAITING_QUALIFICATION.value,
)
AT_RISK_WITHIN = timedelta(days=1)


@dataclass(frozen=True)
class ImpactScope:
    """Where to look for open orders on a superseded revision."""

    eco: str | None
    plant: str
    item: str
    target: str  # the revision the plant should run; older ones are superseded
    effectivity: date


def impact_scopes(connection: sa.Connection, today: date) -> list[ImpactScope]:
    """Every scope stuck now, one per (ECO, plant, item)."""
    stuck = (
        sa.select(sa.literal(1))
        .where(t.steps.c.eco == t.ecos.c.number)
        .where(t.steps.c.state.in_(STUCK))
    )
    in_progress = t.ecos.c.state == EcoProgress.IN_PROGRESS.value
    # A production-ready ECO still waiting on a qualification keeps buying the old revision.
    ready = t.ecos.c.state == EcoProgress.PRODUCTION_READY.value
    rows = connection.execute(
        sa.select(t.ecos.c.number, t.ecos.c.effectivity, t.ecos.c.document)
        .where(
            sa.or_(
                sa.and_(sa.or_(in_progress, ready), stuck.exists()),
                sa.and_(in_progress, t.ecos.c.effectivity <= today + AT_RISK_WITHIN),
            )
        )
        .order_by(t.ecos.c.number)
    ).all()
    scopes: dict[tuple[str | None, str, str], ImpactScope] = {}
    effective: dict[str, date] = {}
    for row in rows:
        effective[row.number] = row.effectivity or today
        for plant in row.document.get("plants", []):
            for affected in row.document.get("affected_items", []):
                scope = ImpactScope(
                    row.number, plant, affected["item"], affected["new_revision"], row.effectivity
                )
                scopes[(scope.eco, scope.plant, scope.item)] = scope
    for drift in connection.execute(sa.select(t.drift)).all():
        target = drift.plm_revision or drift.expected_revision
        if target is None:
            continue
        on = effective.get(drift.eco or "") or _effectivity(connection, drift.eco) or today
        scopes.setdefault(
            (drift.eco, drift.plant, drift.item),
            ImpactScope(drift.eco, drift.plant, drift.item, target, on),
        )
    return list(scopes.values())


def _effectivity(connection: sa.Connection, eco: str | None) -> date | None:
    if eco is None:
        return None
    found: date | None = connection.execute(
        sa.select(t.ecos.c.effectivity).where(t.ecos.c.number == eco)
    ).scalar()
    return found


def _fingerprint(found: se.ImpactAssessed) -> str:
    return "|".join(
        str(part)
        for part in (
            found.purchase_orders,
            round(found.purchase_value, 2),
            found.earliest_due,
            found.production_orders,
            round(found.production_quantity, 3),
            found.earliest_start,
        )
    )


def record_impact(
    connection: sa.Connection,
    assessed: Sequence[se.ImpactAssessed],
    *,
    now: datetime,
    partial: bool = False,
) -> int:
    """Report the exposures that are new or changed, and (unless ``partial``: some scopes
    could not be read) zero for the scopes no longer assessed that had some; return how
    many events were emitted."""
    table = t.impact
    known = {
        (row.eco, row.plant, row.item): row.fingerprint
        for row in connection.execute(sa.select(table)).all()
    }
    emitted = 0
    seen: set[tuple[str, str, str]] = set()
    for found in assessed:
        key = (found.eco or NO_ECO, found.plant or "", found.item or "")
        seen.add(key)
        fingerprint = _fingerprint(found)
        exposed = found.purchase_orders or found.production_orders
        if known.get(key) == fingerprint or (key not in known and not exposed):
            continue
        where = sa.and_(table.c.eco == key[0], table.c.plant == key[1], table.c.item == key[2])
        connection.execute(sa.delete(table).where(where))
        if exposed:
            values = dict(zip(("eco", "plant", "item"), key, strict=True))
            connection.execute(
                sa.insert(table).values(**values, fingerprint=fingerprint, read_at=found.read_at)
            )
        emit(connection, found, now=now)
        emitted += 1
    for eco, plant, item in sorted(set() if partial else set(known) - seen):
        connection.execute(
            sa.delete(table).where(table.c.eco == eco, table.c.plant == plant, table.c.item == item)
        )
        emit(
            connection,
            se.ImpactAssessed(
                eco=None if eco == NO_ECO else eco,
                plant=plant,
                item=item,
                purchase_orders=0,
                purchase_value=0.0,
                production_orders=0,
                production_quantity=0.0,
                read_at=now,
            ),
            now=now,
        )
        emitted += 1
    return emitted
