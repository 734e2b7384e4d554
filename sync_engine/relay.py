"""The outbox relay: delivers the engine's events to the collector, in order, at least once.

Events go as one ``application/cloudevents-batch+json`` request per batch, oldest first,
with ``Authorization: Bearer <token>``; each carries ``sequence`` = its outbox id,
zero-padded to 20 digits. A batch is marked delivered only after a 2xx. Anything else
(collector down, 429, 5xx, even a 4xx) pauses the relay with exponential backoff and the
same events, with the same ids, go again later; the collector's de-duplication on
``source`` + ``id`` makes the whole exactly-once.

Freshness: the engine calls :meth:`Relay.notify` when a unit of work commits events, so a
run under way reads again instead of ending, and the next batch is read while the last
one is in flight (the reads follow the ``after`` cursor, so order is unchanged: a batch
is only sent once the one before it was acknowledged).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from contracts.model import utcnow
from sync_engine import store

log = logging.getLogger(__name__)

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"

DbCall = Callable[..., Awaitable[Any]]


def with_sequence(row_id: int, event: dict[str, Any]) -> dict[str, Any]:
    """The event as sent: its outbox id is the per-source ``sequence``."""
    return {**event, "sequence": f"{row_id:020d}"}


class Relay:
    """Sends the outbox to ``{collector_url}/events``; ``db`` runs its marks and ``read``
    (``db`` unless given) its reads, each ``fn(connection, ...)`` in a transaction."""

    def __init__(
        self,
        db: DbCall,
        client: httpx.AsyncClient,
        collector_url: str,
        token: str | None,
        *,
        batch: int = 500,
        max_backoff: float = 30.0,
        min_backoff: float = 0.25,
        on_delivered: Callable[[int], None] | None = None,
        read: DbCall | None = None,
    ) -> None:
        self._db = db
        self._read_db = read or db
        self._client = client
        self._url = collector_url.rstrip("/") + "/events"
        self._headers = {"Content-Type": BATCH_CONTENT_TYPE}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._batch = batch
        self._max_backoff = max_backoff
        self._min_backoff = min_backoff
        self._on_delivered = on_delivered
        self._after = 0
        self._failures = 0
        self._paused_until = 0.0
        self._notified = False
        # Acknowledged rows not yet marked delivered, and the task marking them: the next
        # batch goes out without waiting for the mark's write transaction.
        self._unmarked: list[int] = []
        self._marking: asyncio.Future[None] | None = None

    @property
    def paused(self) -> bool:
        """Whether the relay is backing off after a failed delivery."""
        return time.monotonic() < self._paused_until

    def notify(self) -> None:
        """New events were committed: a run under way reads once more before it ends."""
        self._notified = True

    async def run_once(self, budget: float | None = None) -> int:
        """Deliver batches until the outbox is drained, a delivery fails or ``budget``
        seconds passed; return how many events the collector acknowledged."""
        if self.paused:
            return 0
        deadline = None if budget is None else time.monotonic() + budget
        delivered = 0
        try:
            rows = await self._read(self._after)
            while rows and not self.paused:
                ids = [row_id for row_id, _ in rows]
                # Read the next batch while this one is in flight; it is sent only after
                # this one's acknowledgement, so the collector still gets the outbox in order.
                ahead = asyncio.ensure_future(self._read(ids[-1]))
                if not await self._send(rows):
                    await asyncio.gather(ahead, return_exceptions=True)
                    break
                self._after = ids[-1]
                self._mark_later(ids)
                delivered += len(ids)
                if self._on_delivered is not None:
                    self._on_delivered(len(ids))
                rows = await ahead
                if not rows and self._notified:
                    rows = await self._read(self._after)
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            # A run ends with its acknowledged rows marked (or, if the database fails,
            # kept to be marked by the next run; sending them again would be harmless).
            await self._marked()
        return delivered

    def _mark_later(self, ids: list[int]) -> None:
        self._unmarked.extend(ids)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.ensure_future(self._mark())

    async def _mark(self) -> None:
        # One write for whatever was acknowledged while the previous one waited: on SQLite
        # a mark queues for the engine's writer, and batches keep going out meanwhile.
        while self._unmarked:
            ids, self._unmarked = self._unmarked, []
            try:
                await self._db(store.mark_delivered, ids, utcnow())
            except BaseException:
                self._unmarked[:0] = ids
                raise

    async def _marked(self) -> None:
        if self._marking is None:
            return
        marking, self._marking = self._marking, None
        await marking
        if self._unmarked:  # acknowledged after the task's last write
            await self._mark()

    async def _read(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        # Cleared before the read: a notification arriving during it is for rows the read
        # may have missed.
        self._notified = False
        rows: list[tuple[int, dict[str, Any]]] = await self._read_db(
            store.undelivered, after=after, limit=self._batch
        )
        return rows

    async def _send(self, rows: list[tuple[int, dict[str, Any]]]) -> bool:
        body = json.dumps([with_sequence(row_id, event) for row_id, event in rows])
        try:
            response = await self._client.post(self._url, content=body, headers=self._headers)
        except httpx.HTTPError as exc:
            self._back_off(None, f"collector unreachable ({type(exc).__name__})")
            return False
        if 200 <= response.status_code < 300:
            self._failures = 0
            return True
        retry_after = response.headers.get("Retry-After")
        hint = float(retry_after) if retry_after and retry_after.isdigit() else None
        self._back_off(hint, f"collector answered {response.status_code}: {response.text[:200]}")
        return False

    def _back_off(self, hint: float | None, why: str) -> None:
        self._failures += 1
        pause = min(self._max_backoff, self._min_backoff * 2 ** (self._failures - 1))
        if hint is not None:
            pause = max(pause, min(hint, self._max_backoff))
        self._paused_until = time.monotonic() + pause
        log.warning("outbox relay paused %.2fs: %s", pause, why)
