"""What the engine knows of each plant's revisions, and what reconciliation reads of them.

For each (plant, item) pair it has seen, the revision ERP uses and the revision MES runs,
with when each was last confirmed, from its own step outcomes (a confirmed production
version, a released MES routing or one MES kept, a BOM ERP made effective) and from
reconciliation reads. Each change a step made is emitted as ``plant.revision_changed``
(with the system), which the collector projects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.model import revision_key
from contracts.steps import PURCHASING_KINDS, StepKind, StepState, System
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.outbox import emit
from sync_engine.store.steps import FINAL, StepRecord


def _column(system: System) -> str:
    return "erp" if system is System.ERP else "mes"


def record_revision(
    connection: sa.Connection,
    plant: str,
    item: str,
    system: System,
    revision: str | None,
    *,
    now: datetime,
) -> str | None:
    """Record that ``system`` runs ``revision`` of ``item`` at ``plant``, confirmed now;
    return the revision recorded before (``None`` if none)."""
    part = _column(system)
    values = {f"{part}_revision": revision, f"{part}_confirmed_at": now, "updated_at": now}
    old = connection.execute(
        sa.select(t.plant_revisions.c[f"{part}_revision"])
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
    ).one_or_none()
    if old is None:
        connection.execute(sa.insert(t.plant_revisions).values(plant=plant, item=item, **values))
        return None
    connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == item)
        .values(**values)
    )
    return None if old[0] is None else str(old[0])


@dataclass(frozen=True)
class Applied:
    """What a step of ``step.eco`` made ``system`` run at the step's plant.

    ``effective_from`` defaults to the ECO's effectivity.
    """

    step: StepRecord
    system: System
    item: str
    revision: str
    effective_from: date | None = None


def record_applied(connection: sa.Connection, changes: Sequence[Applied], *, now: datetime) -> None:
    """Record what steps made their systems run, and emit each change, in order.

    Set-wise: one read of the pairs' recorded revisions, one of the ECOs' effectivity,
    then one insert and one update per column set, whatever the number of changes; a
    pair changed twice in ``changes`` sees its first change as the old revision.
    """
    if not changes:
        return
    p = t.plant_revisions
    pairs = {(c.step.plant or "", c.item) for c in changes}
    rows = connection.execute(
        sa.select(p.c.plant, p.c.item, p.c.erp_revision, p.c.mes_revision)
        .where(p.c.plant.in_(sorted({plant for plant, _ in pairs})))
        .where(p.c.item.in_(sorted({item for _, item in pairs})))
    ).all()
    recorded: dict[tuple[str, str], dict[str, str | None]] = {
        (row.plant, row.item): {"erp": row.erp_revision, "mes": row.mes_revision}
        for row in rows
        if (row.plant, row.item) in pairs
    }
    stored = set(recorded)
    undated = sorted({c.step.eco for c in changes if c.effective_from is None})
    effectivity: dict[str, date] = {}
    if undated:
        effectivity = {
            str(row.number): row.effectivity
            for row in connection.execute(
                sa.select(t.ecos.c.number, t.ecos.c.effectivity).where(t.ecos.c.number.in_(undated))
            ).all()
            if row.effectivity is not None
        }
    written: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        plant, part = change.step.plant or "", _column(change.system)
        known = recorded.setdefault((plant, change.item), {"erp": None, "mes": None})
        old, known[part] = known[part], change.revision
        values = written.setdefault((plant, change.item), {"updated_at": now})
        values.update({f"{part}_revision": change.revision, f"{part}_confirmed_at": now})
        emit(
            connection,
            ev.PlantRevisionChanged(
                plant=plant,
                item=change.item,
                old_revision=old,
                new_revision=change.revision,
                eco=change.step.eco,
                effective_from=change.effective_from
                or effectivity.get(change.step.eco)
                or now.date(),
                system=change.system,
            ),
            now=now,
        )
    _write_revisions(connection, written, stored)


def _write_revisions(
    connection: sa.Connection,
    written: Mapping[tuple[str, str], Mapping[str, Any]],
    stored: set[tuple[str, str]],
) -> None:
    """Insert the new pairs and update the stored ones, one statement per column set."""
    p = t.plant_revisions
    groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
    for (plant, item), values in written.items():
        key = ((plant, item) in stored, tuple(sorted(values)))
        groups.setdefault(key, []).append(
            {"b_plant": plant, "b_item": item, **{f"b_{k}": v for k, v in values.items()}}
        )
    for (update, keys), params in groups.items():
        columns = {key: sa.bindparam(f"b_{key}", type_=p.c[key].type) for key in keys}
        if update:
            connection.execute(
                sa.update(p)
                .where(p.c.plant == sa.bindparam("b_plant"))
                .where(p.c.item == sa.bindparam("b_item"))
                .values(columns),
                params,
            )
        else:
            connection.execute(
                sa.insert(p).values(
                    plant=sa.bindparam("b_plant"), item=sa.bindparam("b_item"), **columns
                ),
                params,
            )


def record_plant_revision(
    connection: sa.Connection, step: StepRecord, system: System, now: datetime
) -> None:
    """A step made ``system`` run its revision at its plant: ERP once the production
    version is confirmed, MES once the routing is released."""
    record_applied(connection, [applied_revision(step, system)], now=now)


def applied_revision(step: StepRecord, system: System) -> Applied:
    """The change a step makes to its plant's recorded revision in ``system``."""
    return Applied(step, system, step.item or "", step.revision or "A")


def mes_kept(connection: sa.Connection, steps: Sequence[StepRecord]) -> list[StepRecord]:
    """The confirmed production versions among ``steps`` whose ECO gave MES no new routing
    for the item at the plant: MES keeps its routing, now for the new revision (where the
    ECO has an MES routing step there, MES moves when that step succeeds)."""
    if not steps:
        return []
    s = t.steps
    routed = {
        (str(row.eco), row.plant, row.item)
        for row in connection.execute(
            sa.select(s.c.eco, s.c.plant, s.c.item)
            .where(s.c.eco.in_(sorted({step.eco for step in steps})))
            .where(s.c.kind == StepKind.MES_ROUTING.value)
        ).all()
    }
    return [step for step in steps if (step.eco, step.plant, step.item) not in routed]


def record_mes_kept(connection: sa.Connection, step: StepRecord, *, now: datetime) -> bool:
    """One confirmed production version (see :func:`mes_kept`); ``False`` where the ECO
    has an MES routing step at the plant."""
    if not mes_kept(connection, [step]):
        return False
    record_plant_revision(connection, step, System.MES, now)
    return True


def record_bom_effective(connection: sa.Connection, step: StepRecord, *, now: datetime) -> int:
    """An ``erp.bom`` step ERP answered ``effective``: the plant's BOM now consumes the
    component revisions the step's ECO released. Return how many components moved.

    A component whose recorded revision is already newer is left as it is.
    """
    lines = step.payload.get("lines") or []
    components = sorted({str(line["component"]) for line in lines})
    if not components:
        return 0
    released = connection.execute(
        sa.select(t.steps.c.item, t.steps.c.revision)
        .where(t.steps.c.eco == step.eco)
        .where(t.steps.c.kind == StepKind.ERP_ITEM_REVISION.value)
        .where(t.steps.c.item.in_(components))
    ).all()
    recorded = recorded_revisions(connection, step.plant or "")
    valid_from = step.payload.get("valid_from")
    effective = date.fromisoformat(valid_from) if valid_from else None
    changes = []
    for row in released:
        item, revision = str(row.item), str(row.revision)
        if item == step.item:
            continue  # the assembly itself moves with its production version
        old = recorded.get(item)
        if old is not None and old.erp_revision is not None:
            if revision_key(old.erp_revision) >= revision_key(revision):
                continue
        changes.append(Applied(step, System.ERP, item, revision, effective))
    record_applied(connection, changes, now=now)
    return len(changes)


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
    record_revision(connection, plant, item, system, revision, now=now)


def confirm_revisions(
    connection: sa.Connection,
    plant: str,
    system: System,
    revisions: Mapping[str, str],
    *,
    now: datetime,
) -> int:
    """Stamp ``<system>_confirmed_at`` on every recorded pair whose revision a read just
    confirmed (the unchanged ones; no event). Return how many were stamped."""
    part = _column(system)
    column = t.plant_revisions.c[f"{part}_revision"]
    rows = [{"b_item": item, "b_revision": revision} for item, revision in revisions.items()]
    if not rows:
        return 0
    result = connection.execute(
        sa.update(t.plant_revisions)
        .where(t.plant_revisions.c.plant == plant)
        .where(t.plant_revisions.c.item == sa.bindparam("b_item"))
        .where(column == sa.bindparam("b_revision"))
        .values(**{f"{part}_confirmed_at": now}),
        rows,
    )
    return int(result.rowcount or 0)


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
        .where(t.steps.c.kind.not_in(sorted(PURCHASING_KINDS)))
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
