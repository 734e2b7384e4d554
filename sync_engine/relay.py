"""The outbox relay: delivers the engine's events to the collector, in order, at least once.

Events go as one ``application/cloudevents-batch+json`` request per batch, oldest first,
with ``Authorization: Bearer <token>``; each carries ``sequence`` = its outbox id,
zero-padded to 20 digits. A batch is marked delivered only after a 2xx. Anything else
(collector down, 429, 5xx, even a 4xx) pauses the relay with exponential backoff and the
same events, with the same ids, go again later; the collector's de-duplication on
``source`` + ``id`` makes the whole exactly-once.
"""

from __future__ import annotations

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
    """Sends the outbox to ``{collector_url}/events``."""

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
    ) -> None:
        self._db = db
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

    @property
    def paused(self) -> bool:
        """Whether the relay is backing off after a failed delivery."""
        return time.monotonic() < self._paused_until

    async def run_once(self) -> int:
        """Deliver batches until the outbox is drained or a delivery fails; return how many
        events the collector acknowledged."""
        delivered = 0
        while not self.paused:
            rows = await self._db(store.undelivered, after=self._after, limit=self._batch)
            if not rows:
                break
            if not await self._send(rows):
                break
            ids = [row_id for row_id, _ in rows]
            await self._db(store.mark_delivered, ids, utcnow())
            self._after = ids[-1]
            delivered += len(ids)
            if self._on_delivered is not None:
                self._on_delivered(len(ids))
            if len(rows) < self._batch:
                break
        return delivered

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
