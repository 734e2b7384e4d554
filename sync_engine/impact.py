"""Business impact: what a stuck ECO or a plant behind puts at risk, read from ERP.

For every scope (:func:`sync_engine.store.impact.impact_scopes`) the open purchase orders
at the plant still buying a revision of the item older than the one it should run (count,
value, earliest due date) and the open production orders starting after the effectivity
date that would build an older revision, so on the superseded BOM and routing (count,
quantity, earliest start), each kept with the time ERP answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.model import revision_key, utcnow
from contracts.sourcing_events import ImpactAssessed
from sync_engine import store
from sync_engine.connectors import ErpConnector
from sync_engine.errors import CallError
from sync_engine.store.impact import ImpactScope

log = logging.getLogger(__name__)


def _older(revision: str, target: str) -> bool:
    return revision_key(revision) < revision_key(target)


async def assess_scope(erp: ErpConnector, scope: ImpactScope) -> ImpactAssessed:
    """One scope's open orders on superseded revisions (raises ``CallError``)."""
    purchases = await erp.purchase_orders(plant=scope.plant, component=scope.item)
    production = await erp.production_orders(
        plant=scope.plant, item=scope.item, starts_after=scope.effectivity
    )
    buying = [o for o in purchases.items if _older(o.revision, scope.target)]
    building = [o for o in production.items if _older(o.revision, scope.target)]
    revisions = {o.revision for o in buying} | {o.revision for o in building}
    superseded = sorted(revisions, key=revision_key)
    return ImpactAssessed(
        eco=scope.eco,
        plant=scope.plant,
        item=scope.item,
        superseded_revision=superseded[-1] if superseded else None,
        purchase_orders=len(buying),
        purchase_value=float(sum(o.value for o in buying)),
        earliest_due=min((o.due_date for o in buying), default=None),
        production_orders=len(building),
        production_quantity=float(sum(o.quantity for o in building)),
        earliest_start=min((o.start_date for o in building), default=None),
        read_at=min(purchases.read_at, production.read_at),
    )


async def assess_impact(
    db: Callable[..., Awaitable[Any]], erp: ErpConnector, limit: asyncio.Semaphore
) -> int:
    """Assess every stuck scope and report what changed; return events emitted. A scope
    ERP does not answer for keeps what was last reported of it."""
    now = utcnow()
    scopes: list[ImpactScope] = await db(store.impact_scopes, now.date())

    async def one(scope: ImpactScope) -> ImpactAssessed | None:
        async with limit:
            try:
                return await assess_scope(erp, scope)
            except CallError as exc:
                log.info("impact of %s/%s not read: %s", scope.plant, scope.item, exc)
                return None

    answers = await asyncio.gather(*(one(scope) for scope in scopes))
    found = [answer for answer in answers if answer is not None]
    # A scope not read must not be reported as ended: then only what was read counts.
    partial = len(found) < len(answers)
    return int(await db(store.record_impact, found, now=now, partial=partial))
