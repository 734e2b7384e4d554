"""Procurement announces its qualification decisions to the collector itself.

A real procurement platform reports a decision when it is made; so does the reference one
when it is given a collector (``threadline simulators serve --collector-url`` and the
``THREADLINE_SIMULATORS_COLLECTOR_TOKEN`` of a producer ``procurement``): every approval or
rejection becomes a ``procurement.qualification_approved`` or ``..._rejected`` CloudEvent
under the source ``/procurement/reference``, and the engine releases the info records
waiting for it without waiting for its next poll.

Delivery is at least once and in decision order: events wait in a bounded queue (the
newest ``ANNOUNCE_CAP``, older ones dropped and counted) and go in batches; a failed
request is retried with backoff, and the collector's de-duplication on source and id
(a uuid5 of the qualification and its decision) keeps each decision once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from typing import Any

import httpx

from contracts import sourcing_events as se
from contracts.api import Qualification
from contracts.events import EventData, new_event

log = logging.getLogger(__name__)

SOURCE = "/procurement/reference"
ANNOUNCE_CAP = 10_000
BATCH = 100
NAMESPACE = uuid.UUID("0b5c7c1e-51d4-4f55-8f0e-7a9f3e0f3d21")
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def decision_event(qualification: Qualification) -> dict[str, Any]:
    """The CloudEvent of a decided qualification."""
    assert qualification.decided_at is not None and qualification.status != "pending"
    fields = {
        "supplier": qualification.supplier,
        "component": qualification.component,
        "revision": qualification.revision,
        "qualification_id": qualification.id,
        "eco": qualification.eco,
    }
    data: EventData
    if qualification.status == "qualified":
        data = se.QualificationApproved(**fields, approved_at=qualification.decided_at)
    else:
        reason = qualification.reason or "rejected"
        data = se.QualificationRejected(
            **fields, reason=reason, rejected_at=qualification.decided_at
        )
    return new_event(
        data,
        source=SOURCE,
        time=qualification.decided_at,
        event_id=str(uuid.uuid5(NAMESPACE, f"{qualification.id}|{qualification.status}")),
    )


class Announcer:
    """Queues decision events and posts them to ``{collector_url}/events``."""

    def __init__(
        self,
        collector_url: str,
        token: str | None,
        *,
        cap: int = ANNOUNCE_CAP,
        max_backoff: float = 30.0,
    ) -> None:
        self._url = collector_url.rstrip("/") + "/events"
        self._headers = {"Content-Type": BATCH_CONTENT_TYPE}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._queue: deque[dict[str, Any]] = deque()
        self._cap = cap
        self._max_backoff = max_backoff
        self.dropped = 0
        self.sent = 0

    def __repr__(self) -> str:  # the token stays out of logs
        return f"Announcer(url={self._url!r}, queued={len(self._queue)})"

    def decided(self, qualification: Qualification) -> None:
        """Queue the event of a decision just made."""
        self._queue.append(decision_event(qualification))
        while len(self._queue) > self._cap:
            self._queue.popleft()
            self.dropped += 1

    @property
    def queued(self) -> int:
        """Events not yet delivered."""
        return len(self._queue)

    async def deliver(self, client: httpx.AsyncClient) -> int:
        """Post one batch; return how many events the collector took (0 on failure)."""
        batch = [self._queue[n] for n in range(min(BATCH, len(self._queue)))]
        if not batch:
            return 0
        try:
            response = await client.post(self._url, json=batch, headers=self._headers)
        except httpx.HTTPError as exc:
            log.info("collector not reached with %d decisions: %s", len(batch), exc)
            return 0
        if not response.is_success:
            log.warning("collector refused %d decisions: %s", len(batch), response.status_code)
            return 0
        delivered = {event["id"] for event in batch}
        while self._queue and self._queue[0]["id"] in delivered:
            self._queue.popleft()
        self.sent += len(batch)
        return len(batch)

    async def run(self, *, interval: float = 0.5) -> None:
        """Deliver until cancelled, backing off while the collector fails."""
        backoff = interval
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                if not self._queue:
                    await asyncio.sleep(interval)
                    continue
                if await self.deliver(client):
                    backoff = interval
                    continue
                await asyncio.sleep(backoff)
                backoff = min(self._max_backoff, backoff * 2)
