"""What procurement and ERP say about the purchased components of ECOs about to be
planned: approved supplier lists, qualifications, contracts and the plants' sourcing modes
(the :class:`~contracts.purchasing.Sourcing` the plan takes).

Read once per batch of new ECOs, before they are planned. A transient failure is tried
again a few times; if the systems still do not answer, the ECOs are planned without
their purchasing (ERP, MES and PLM's suppliers do not wait for procurement) and their
purchasing steps are added once procurement and ERP answer (:func:`complete_sourcing`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from contracts.api import ApprovedSupplier
from contracts.model import Eco, Item, utcnow
from contracts.plan import plan
from contracts.purchasing import (
    ApprovedSource,
    QualificationStatus,
    Sourcing,
    Standing,
    purchased_components,
)
from sync_engine import store
from sync_engine.connectors import ErpConnector, ProcurementConnector
from sync_engine.errors import BusinessError, CallError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

TRIES = 4
"""How often one read is tried while it fails transiently."""


async def _read(call: Callable[[], Awaitable[T]], limit: asyncio.Semaphore) -> T:
    for attempt in range(TRIES):
        try:
            async with limit:
                return await call()
        except TransientError:
            if attempt == TRIES - 1:
                raise
            await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


async def _approved(
    procurement: ProcurementConnector, component: str, limit: asyncio.Semaphore
) -> list[ApprovedSupplier]:
    try:
        return await _read(lambda: procurement.approved_suppliers(component), limit)
    except BusinessError:
        return []  # not a purchased component procurement knows: nothing approved


async def read_sourcing(
    ecos: Sequence[Eco],
    items: Mapping[str, Item],
    procurement: ProcurementConnector,
    erp: ErpConnector,
    limit: asyncio.Semaphore,
) -> dict[str, Sourcing]:
    """Each ECO's sourcing, by ECO number (raises a ``CallError`` if it cannot be read)."""
    components = sorted({c for eco in ecos for c in purchased_components(eco, items)})
    if not components:
        return {eco.number: Sourcing() for eco in ecos}
    modes = await _read(erp.sourcing_modes, limit)
    lists = await asyncio.gather(*(_approved(procurement, c, limit) for c in components))
    approved = dict(zip(components, lists, strict=True))

    async def standing(supplier: str, component: str, revision: str, eco: Eco) -> Standing:
        found = await _read(
            lambda: procurement.qualifications(
                supplier=supplier, component=component, revision=revision
            ),
            limit,
        )
        contracts = await _read(
            lambda: procurement.contracts(supplier, component, eco.effectivity), limit
        )
        return Standing(
            supplier=supplier,
            component=component,
            revision=revision,
            qualification=(
                QualificationStatus(found[-1].status) if found else QualificationStatus.NONE
            ),
            contract=bool(contracts),
        )

    result: dict[str, Sourcing] = {}
    for eco in ecos:
        entries = [
            ApprovedSource(component=component, plant=plant, supplier=entry.supplier)
            for component in purchased_components(eco, items)
            for entry in approved[component]
            for plant in entry.plants
            if plant in eco.plants
        ]
        pairs = sorted({(e.supplier, e.component) for e in entries})
        standings = await asyncio.gather(
            *(standing(s, c, eco.new_revision_of(c) or "A", eco) for s, c in pairs)
        )
        result[eco.number] = Sourcing(
            approved=tuple(entries), standings=tuple(standings), modes=modes
        )
    return result


async def read_sourcing_or_defer(
    ecos: Sequence[Eco],
    items: Mapping[str, Item],
    procurement: ProcurementConnector,
    erp: ErpConnector,
    limit: asyncio.Semaphore,
) -> tuple[dict[str, Sourcing], list[str]]:
    """Each ECO's sourcing, or, while procurement or ERP cannot say, none and the ECOs
    that may buy something: planned now without their purchasing, which
    :func:`complete_sourcing` adds later (a procurement outage does not hold ERP back)."""
    try:
        return await read_sourcing(ecos, items, procurement, erp, limit), []
    except CallError as exc:
        deferred = [eco.number for eco in ecos if purchased_components(eco, items)]
        if deferred:
            log.warning("sourcing of %d ECOs not read, purchasing follows: %s", len(deferred), exc)
        return {}, deferred


async def complete_sourcing(
    db: Callable[..., Awaitable[Any]],
    items: Mapping[str, Item],
    procurement: ProcurementConnector,
    erp: ErpConnector,
    limit: asyncio.Semaphore,
) -> int:
    """Add the purchasing of ECOs planned without it, once their sourcing can be read;
    return how many steps were added."""
    pending: list[Eco] = await db(store.sourcing_pending)
    if not pending:
        return 0
    try:
        sourcing = await read_sourcing(pending, items, procurement, erp, limit)
    except CallError as exc:
        log.info("sourcing of %d ECOs still not read: %s", len(pending), exc)
        return 0

    def write(connection: sa.Connection) -> int:
        now = utcnow()
        return sum(
            store.add_purchasing(connection, eco, plan(eco, items, sourcing[eco.number]), now=now)
            for eco in pending
        )

    return int(await db(write))
