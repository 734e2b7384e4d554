"""The superseded-step rule: a target never goes backwards.

A step whose revision is older than the one its target already has (:func:`superseded`)
is never sent: :mod:`~sync_engine.store.claims` skips it, by the engine, with that reason,
when it would be promoted or claimed (:func:`skip_superseded`), and a skipped step counts
as done for its ECO (:func:`settle_skipped`). What a target has is read from the engine's
own tables, never from the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from contracts.model import revision_key
from contracts.steps import StepKind, StepState
from sync_engine import tables as t
from sync_engine.store.ecos import production_ready_many
from sync_engine.store.steps import Move, StepRecord

ENGINE_ACTOR = "engine"
"""Who skips a superseded step."""

_ERP_PLANT_KINDS = frozenset(
    {
        StepKind.ERP_BOM,
        StepKind.ERP_ROUTING,
        StepKind.ERP_PRODUCTION_VERSION,
        StepKind.ERP_CONFIRMATION,
    }
)
# Kinds that write a revision to a target; a withdrawal or a notice never goes backwards.
_REVISION_KINDS = _ERP_PLANT_KINDS | {StepKind.ERP_ITEM_REVISION, StepKind.MES_ROUTING}


def superseded(connection: sa.Connection, steps: Sequence[StepRecord]) -> dict[str, str]:
    """The steps among ``steps`` whose revision is older than the one their target already
    has, each with the reason (``superseded: P100/ASM-1001 already at D (ECO-...)``).

    What a target has is what the engine itself applied to it, read from its own tables
    (no call to the system): the newest succeeded step of the same kind on the same item
    (at the same plant); for ERP plant steps also the newest confirmed production version
    there and the plant's recorded ERP revision, for MES routings the recorded MES one.
    Only the same kind counts otherwise: a later ECO's BOM may legitimately be written
    while the earlier ECO's routing at the plant is still retrying. The exception is an
    MES routing whose production version was never confirmed because its confirmation
    was skipped (:func:`_unconfirmed`): ERP's newer revision at the plant supersedes it
    too, since MES refuses a routing for a version ERP will never make active, and a
    routing left blocked there would hold every later ECO's MES routing of the item.
    """
    candidates = [s for s in steps if s.kind in _REVISION_KINDS and s.item and s.revision]
    if not candidates:
        return {}
    unconfirmed = _unconfirmed(connection, candidates)
    newest = _applied(connection, candidates, erp=bool(unconfirmed))
    reasons = {}
    for step in candidates:
        assert step.item is not None and step.revision is not None
        kinds = (
            [step.kind, StepKind.ERP_CONFIRMATION] if step.step_id in unconfirmed else [step.kind]
        )
        for kind in kinds:
            has = newest.get((kind.value, step.plant, step.item))
            if has is None or revision_key(has[0]) <= revision_key(step.revision):
                continue
            target = f"{step.plant}/{step.item}" if step.plant else step.item
            by = f"({has[1]})" if has[1] else f"in {kind.system.value.upper()}"
            reasons[step.step_id] = f"superseded: {target} already at {has[0]} {by}"
            break
    return reasons


def _unconfirmed(connection: sa.Connection, steps: Sequence[StepRecord]) -> set[str]:
    """The MES routings among ``steps`` whose ECO's confirmation of the production
    version they depend on was skipped rather than confirmed."""
    routings = sorted(s.step_id for s in steps if s.kind is StepKind.MES_ROUTING)
    if not routings:
        return set()
    dep, needed = t.step_dependencies, t.steps
    rows = connection.execute(
        sa.select(dep.c.step_id)
        .select_from(dep.join(needed, needed.c.step_id == dep.c.depends_on))
        .where(dep.c.step_id.in_(routings))
        .where(needed.c.kind == StepKind.ERP_CONFIRMATION.value)
        .where(needed.c.state == StepState.SKIPPED.value)
    ).all()
    return {str(row.step_id) for row in rows}


_Target = tuple[str, str | None, str]
"""(kind, plant or ``None``, item)."""


def _applied(
    connection: sa.Connection, steps: Sequence[StepRecord], *, erp: bool = False
) -> dict[_Target, tuple[str, str | None]]:
    """The newest revision applied to each target of ``steps``, and the ECO that applied it
    (``None`` when only the plant's recorded revision says so); with ``erp``, the ERP
    plant targets of their items too, whatever the steps' kinds."""
    items = sorted({s.item for s in steps if s.item})
    plants = sorted({s.plant for s in steps if s.plant})
    newest: dict[_Target, tuple[str, str | None]] = {}

    def offer(target: _Target, revision: str, eco: str | None) -> None:
        if target not in newest or revision_key(revision) > revision_key(newest[target][0]):
            newest[target] = (revision, eco)

    kinds = {st.kind for st in steps}
    if erp or kinds & _ERP_PLANT_KINDS:
        # A confirmed production version sets the plant's ERP revision, for every record.
        kinds.add(StepKind.ERP_CONFIRMATION)
    s = t.steps
    for step in connection.execute(
        sa.select(s.c.kind, s.c.plant, s.c.item, s.c.revision, s.c.eco)
        .where(s.c.item.in_(items))
        .where(s.c.kind.in_(sorted(k.value for k in kinds)))
        .where(s.c.state == StepState.SUCCEEDED.value)
        .where(s.c.revision.is_not(None))
    ).all():
        confirmed = step.kind == StepKind.ERP_CONFIRMATION.value
        for kind in _ERP_PLANT_KINDS if confirmed else (StepKind(step.kind),):
            offer((kind.value, step.plant, str(step.item)), str(step.revision), str(step.eco))
    if not plants:
        return newest
    p = t.plant_revisions
    for plant in connection.execute(
        sa.select(p.c.plant, p.c.item, p.c.erp_revision, p.c.mes_revision)
        .where(p.c.plant.in_(plants))
        .where(p.c.item.in_(items))
    ).all():
        if plant.erp_revision:
            for kind in _ERP_PLANT_KINDS:
                offer((kind.value, plant.plant, plant.item), str(plant.erp_revision), None)
        if plant.mes_revision:
            target = (StepKind.MES_ROUTING.value, plant.plant, plant.item)
            offer(target, str(plant.mes_revision), None)
    return newest


def skip_superseded(step: StepRecord, reason: str) -> Move:
    """The move that skips a superseded ``step`` (the engine's doing) and frees its lease."""
    return Move(
        step,
        StepState.SKIPPED,
        {"lease_holder": None, "lease_until": None, "next_attempt_at": None},
        reason=reason,
        actor=ENGINE_ACTOR,
    )


def settle_skipped(
    connection: sa.Connection, moved: Sequence[StepRecord | None], now: datetime
) -> bool:
    """A skipped step counts as done: its ECO may be production-ready now. Returns whether
    any step was skipped."""
    ecos = {s.eco for s in moved if s is not None and s.state is StepState.SKIPPED}
    production_ready_many(connection, ecos, now)
    return bool(ecos)
