"""What the engine knows of each plant's revisions (for reconciliation), named cursors,
and lease-holder names.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from contracts.steps import StepKind, StepState, System
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.steps import FINAL, StepRecord
from threadline.db import insert_ignoring_conflicts


def record_plant_revision(
    connection: sa.Connection, step: StepRecord, system: System, now: datetime
) -> str | None:
    column = "erp_revision" if system is System.ERP else "mes_revision"
    key = {"plant": step.plant, "item": step.item}
    old = connection.execute(
        sa.select(t.plant_revisions.c[column])
        .where(t.plant_revisions.c.plant == step.plant)
        .where(t.plant_revisions.c.item == step.item)
    ).one_or_none()
    if old is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(**key, **{column: step.revision}, updated_at=now)
        )
        return None
    connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == step.plant)
        .where(t.plant_revisions.c.item == step.item)
        .values(**{column: step.revision}, updated_at=now)
    )
    return str(old[0]) if old[0] is not None else None


def plants_in_use(connection: sa.Connection) -> list[str]:
    """Every plant any stored step touches."""
    rows = connection.execute(
        sa.select(t.steps.c.plant).where(t.steps.c.plant.is_not(None)).distinct()
    ).all()
    return sorted(str(row.plant) for row in rows)


def items_at(connection: sa.Connection, plant: str) -> set[str]:
    """Items the engine requested production versions for at ``plant``."""
    rows = connection.execute(
        sa.select(t.steps.c.item)
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.kind == StepKind.ERP_PRODUCTION_VERSION.value)
        .distinct()
    ).all()
    return {str(row.item) for row in rows}


def recorded_revisions(connection: sa.Connection, plant: str) -> dict[str, sa.Row[Any]]:
    """What the engine last recorded of a plant's revisions, by item."""
    rows = connection.execute(
        sa.select(t.plant_revisions).where(t.plant_revisions.c.plant == plant)
    ).all()
    return {row.item: row for row in rows}


def observe_revision(
    connection: sa.Connection,
    plant: str,
    item: str,
    system: System,
    revision: str | None,
    *,
    now: datetime,
) -> None:
    """Store what reconciliation read, so the same difference is reported once."""
    column = "erp_revision" if system is System.ERP else "mes_revision"
    exists = connection.execute(
        sa.select(t.plant_revisions.c.plant)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
    ).one_or_none()
    if exists is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(
                plant=plant, item=item, **{column: revision}, updated_at=now
            )
        )
    else:
        connection.execute(
            sa.update(t.plant_revisions)
            .where(t.plant_revisions.c.plant == plant)
            .where(t.plant_revisions.c.item == item)
            .values(**{column: revision}, updated_at=now)
        )


def set_last_exception(
    connection: sa.Connection, plant: str, item: str, key: str | None, *, now: datetime
) -> bool:
    """Remember the exception last raised for (plant, item); ``False`` if it is the same."""
    current = connection.execute(
        sa.select(t.plant_revisions.c.last_exception)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
    ).one_or_none()
    if current is None:
        connection.execute(
            sa.insert(t.plant_revisions).values(
                plant=plant, item=item, last_exception=key, updated_at=now
            )
        )
        return key is not None
    if current[0] == key:
        return False
    connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
        .values(last_exception=key, updated_at=now)
    )
    return key is not None


def open_work(connection: sa.Connection, plant: str, item: str) -> bool:
    """Whether any step on (plant, item) is not final yet."""
    found = connection.execute(
        sa.select(sa.literal(1))
        .select_from(t.steps)
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.item == item)
        .where(t.steps.c.state.not_in(FINAL))
        .limit(1)
    ).first()
    return found is not None


def expected_revisions(
    connection: sa.Connection, plant: str, today: date
) -> dict[str, tuple[str, str]]:
    """Per item, the revision of the latest production-ready ECO in effect at ``plant``
    (by approval order) and that ECO's number."""
    rows = connection.execute(
        sa.select(t.steps.c.item, t.steps.c.revision, t.steps.c.eco)
        .select_from(t.steps.join(t.ecos, t.ecos.c.number == t.steps.c.eco))
        .where(t.steps.c.plant == plant)
        .where(t.steps.c.kind == StepKind.ERP_CONFIRMATION.value)
        .where(t.steps.c.state == StepState.SUCCEEDED.value)
        .where(t.ecos.c.state == EcoProgress.PRODUCTION_READY.value)
        .where(t.ecos.c.effectivity <= today)
        .order_by(t.steps.c.eco_approved_at, t.steps.c.eco)
    ).all()
    return {str(row.item): (str(row.revision), str(row.eco)) for row in rows}


def get_cursor(connection: sa.Connection, name: str) -> str | None:
    """A named position, if stored."""
    value = connection.execute(
        sa.select(t.cursors.c.value).where(t.cursors.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_cursor(connection: sa.Connection, name: str, value: str, *, now: datetime) -> None:
    """Store a named position."""
    if not insert_ignoring_conflicts(
        connection, t.cursors, [{"name": name, "value": value, "updated_at": now}]
    ):
        connection.execute(
            sa.update(t.cursors).where(t.cursors.c.name == name).values(value=value, updated_at=now)
        )


def new_holder(prefix: str = "engine") -> str:
    """A unique lease-holder name for one engine process."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
