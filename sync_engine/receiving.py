"""Receiving PLM's feed: approved ECOs planned into steps, cancelled and superseded ones
recorded for compensation.

:class:`PlmFeed` reads one status of the feed from its stored cursor onwards, page by page.
A new (or changed, once refused) approved ECO is validated and checked against the
governance rules, the items it is first to name are read from PLM, its sourcing from
procurement (or deferred), and its plan is written with its root trace in one unit of
work; a refused ECO is recorded with its violations. A page's plans are written
:data:`PLAN_CHUNK` ECOs to a unit of work: each chunk's steps can be dispatched, and its
events relayed, while the next is written (a page of 500 ECOs in one transaction held all
of its events back for seconds). An ECO recorded before a crash is known on the next
poll, which re-reads the page since the cursor moves only after it. Only the holder of the PLM poll
lease calls it (:meth:`sync_engine.runner.SyncEngine.poll_plm`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from contracts import events as ev
from contracts.governance import compliance_violations
from contracts.model import Eco, EcoStatus, Item, utcnow
from contracts.plan import PlannedStep, plan
from sync_engine import store
from sync_engine.connectors import ErpConnector, PlmConnector, ProcurementConnector
from sync_engine.errors import CallError
from sync_engine.sourcing import read_sourcing_or_defer
from sync_engine.states import EcoProgress
from threadline import tracing

log = logging.getLogger(__name__)

DbCall = Callable[..., Awaitable[Any]]
PLAN_CHUNK = 20


@dataclass(frozen=True)
class _Published:
    """An ECO as PLM's feed published it, and where the engine had it (``None``: new)."""

    number: str
    document: dict[str, Any]
    updated_at: datetime
    old: EcoProgress | None


class PlmFeed:
    """Reads PLM's feed into the store; ``items`` caches the items read so far (shared
    with the engine, which plans sourcing from them later)."""

    def __init__(
        self,
        run_db: DbCall,
        read_db: DbCall,
        plm: PlmConnector,
        procurement: ProcurementConnector,
        erp: ErpConnector,
        *,
        items: dict[str, Item],
        plm_semaphore: asyncio.Semaphore,
        procurement_semaphore: asyncio.Semaphore,
        start: datetime | None,
        on_planned: Callable[[], None],
    ) -> None:
        self._run_db = run_db
        self._read_db = read_db
        self._plm = plm
        self._procurement = procurement
        self._erp = erp
        self._items = items
        self._plm_semaphore = plm_semaphore
        self._procurement_semaphore = procurement_semaphore
        self._start = start
        self._on_planned = on_planned

    async def poll(self, status: EcoStatus) -> int:
        """Read the ECOs PLM published in ``status`` since the cursor; return those acted on."""
        name = f"plm.{status.value}.updated_since"
        since_text = await self._read_db(store.get_cursor, name)
        since = datetime.fromisoformat(since_text) if since_text else self._start
        cursor: str | None = None
        acted = 0
        while True:
            page = await self._plm.ecos(status.value, updated_since=since, cursor=cursor)
            if page.items:
                if status is EcoStatus.APPROVED:
                    acted += await self._receive(page.items)
                else:
                    acted += await self._run_db(_record_cancellations, page.items)
                newest = max(entry.updated_at for entry in page.items)
                await self._run_db(store.set_cursor, name, newest.isoformat(), now=utcnow())
            cursor = page.next_cursor
            if not cursor:
                return acted

    async def _receive(self, entries: list[Any]) -> int:
        # Only the page's ECOs: a poll's cost stays flat however many ECOs are stored.
        numbers = [str(entry.eco.get("number", "")) for entry in entries]
        known = await self._read_db(store.eco_states, numbers)
        refused = [
            number
            for entry in entries
            if known.get(number := str(entry.eco.get("number", ""))) is EcoProgress.REJECTED
        ]
        # A refused ECO PLM publishes again is taken up again once its document changed.
        refused_as = await self._read_db(store.rejected_documents, refused) if refused else {}
        fresh: list[tuple[_Published, Eco]] = []
        rejected: list[tuple[_Published, list[ev.Violation]]] = []
        for entry in entries:
            number = str(entry.eco.get("number", "")) or "unnumbered"
            old = known.get(number)
            if old is not None and (
                old is not EcoProgress.REJECTED or refused_as.get(number) == entry.eco
            ):
                continue
            published = _Published(number, entry.eco, entry.updated_at, old)
            try:
                fresh.append((published, Eco.model_validate(entry.eco)))
            except ValidationError as exc:
                violations = [
                    ev.Violation(path=".".join(str(p) for p in e["loc"]) or "-", message=e["msg"])
                    for e in exc.errors()
                ]
                rejected.append((published, violations))
        governed = [(published, eco, compliance_violations(eco)) for published, eco in fresh]
        rejected.extend((published, v) for published, _, v in governed if v)
        fresh = [(published, eco) for published, eco, v in governed if not v]
        # Each ECO's trace starts here; the items it is first to name are read in it.
        traces = {eco.number: tracing.start_trace("eco.received", eco.number) for _, eco in fresh}
        first_named: dict[str, str] = {}
        for _, eco in fresh:
            for number in eco.items:
                if number not in self._items:
                    first_named.setdefault(number, eco.number)
        await asyncio.gather(
            *(self._fetch_item(number, eco, traces[eco]) for number, eco in first_named.items())
        )
        items = dict(self._items)
        sourcing, unread = await read_sourcing_or_defer(
            [eco for _, eco in fresh],
            items,
            self._procurement,
            self._erp,
            self._procurement_semaphore,
        )
        planned = [
            (published, eco, plan(eco, items, sourcing.get(eco.number))) for published, eco in fresh
        ]

        pending = set(unread)

        def write(
            connection: sa.Connection,
            chunk: list[tuple[_Published, Eco, list[PlannedStep]]],
            refused: list[tuple[_Published, list[ev.Violation]]],
        ) -> int:
            now = utcnow()
            count = 0
            for published, eco, steps in chunk:
                count += store.record_eco(
                    connection,
                    eco,
                    items,
                    steps,
                    now=now,
                    plm_updated_at=published.updated_at,
                    old=published.old,
                    traceparent=traces[eco.number],
                )
            for published, violations in refused:
                count += store.record_rejected(
                    connection,
                    published.number,
                    violations,
                    published.document,
                    now=now,
                    plm_updated_at=published.updated_at,
                    old=published.old,
                )
            unread_here = [eco.number for _, eco, _ in chunk if eco.number in pending]
            store.mark_sourcing_pending(connection, unread_here, now)
            return count

        acted = 0
        for start in range(0, len(planned), PLAN_CHUNK):
            written = int(await self._run_db(write, planned[start : start + PLAN_CHUNK], []))
            if written:
                self._on_planned()
            acted += written
        if rejected:
            acted += int(await self._run_db(write, [], rejected))
        return acted

    async def _fetch_item(self, number: str, eco: str, trace: str) -> None:
        async with self._plm_semaphore:
            try:
                with tracing.span("plm.item", trace, eco=eco, item=number):
                    self._items[number] = await self._plm.item(number)
            except CallError as exc:
                log.warning("PLM item %s unavailable, planning from the ECO alone: %s", number, exc)


def _record_cancellations(connection: sa.Connection, entries: list[Any]) -> int:
    now = utcnow()
    acted = 0
    for entry in entries:
        number = str(entry.eco.get("number", ""))
        acted += store.record_plm_cancellation(
            connection,
            number,
            now=now,
            status=str(entry.eco.get("status")),
            superseded_by=entry.eco.get("superseded_by"),
        )
    return acted
