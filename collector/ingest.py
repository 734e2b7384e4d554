"""Group commit: one writer joins concurrent requests into one database transaction.

Each request's events go on a bounded queue with a future; a writer takes everything
waiting (up to ``max_commit_events``), stores it with :meth:`EventStore.append_many` in one
transaction on a writer thread, and resolves each request's future only after that
commit. While one transaction runs the next requests gather, so the commit rate no longer
caps single-event requests. On PostgreSQL two writers overlap (one commits while the next
transaction is built); on SQLite there is one, as SQLite has one writer at a time.

A full queue is refused at once (:class:`~collector.errors.Rejected` 429 with
``Retry-After``) instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from collector.errors import Problem, Rejected
from collector.metrics import Metrics
from collector.store import AppendResult, EventStore

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1


@dataclass
class _Pending:
    events: Sequence[Mapping[str, Any]]
    producer: str
    future: asyncio.Future[AppendResult]


class GroupCommitter:
    """Batches concurrent appends into shared transactions (start it inside the event loop)."""

    def __init__(
        self,
        store: EventStore,
        metrics: Metrics,
        *,
        max_pending_requests: int = 1000,
        max_commit_events: int = 5000,
        writers: int = 1,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.max_commit_events = max_commit_events
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(max_pending_requests)
        self._executor = ThreadPoolExecutor(
            max_workers=writers, thread_name_prefix="collector-writer"
        )
        self._writers = writers
        self._task: asyncio.Task[None] | None = None
        self._unanswered = 0

    async def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="collector-group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def append(self, events: Sequence[Mapping[str, Any]], producer: str) -> AppendResult:
        """Store ``events``; returns after the transaction holding them has committed."""
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Pending(events, producer, future))
        except asyncio.QueueFull:
            raise Rejected(
                429,
                "INGEST_QUEUE_FULL",
                "Too many requests are waiting to be stored",
                [Problem("retry after the Retry-After delay")],
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        self._unanswered += 1
        try:
            return await future
        finally:
            self._unanswered -= 1

    def busy(self) -> bool:
        """Whether a request is waiting to be stored or committing (the forwarder defers)."""
        return self._unanswered > 0

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # With several writers, one transaction can be committing (waiting on the disk)
        # while the next is built; a free writer takes everything queued so far.
        slots = asyncio.Semaphore(self._writers)
        running: set[asyncio.Task[None]] = set()
        stopping = False
        while not stopping:
            await slots.acquire()
            first = await self._queue.get()
            if first is None:
                break
            group = [first]
            size = len(first.events)
            while size < self.max_commit_events and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                group.append(item)
                size += len(item.events)
            task = asyncio.create_task(self._commit(loop, group, size))
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(lambda _task: slots.release())
        await asyncio.gather(*running)

    async def _commit(
        self, loop: asyncio.AbstractEventLoop, group: list[_Pending], size: int
    ) -> None:
        requests = [(p.events, p.producer) for p in group]
        try:
            results = await loop.run_in_executor(self._executor, self.store.append_many, requests)
        except Exception as exc:
            if len(group) > 1:
                # One request must not fail the others: store each on its own.
                for pending in group:
                    await self._commit(loop, [pending], len(pending.events))
                return
            _fail(group[0], exc)
            return
        self.metrics.commit_size.observe(size)
        self.metrics.commit_requests.observe(len(group))
        for pending, result in zip(group, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)


def _fail(pending: _Pending, exc: Exception) -> None:
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        log.warning("storing %d events failed: the database is unavailable", len(pending.events))
        error: Exception = Rejected(
            503,
            "STORE_UNAVAILABLE",
            "The event store is unavailable",
            [Problem("retry after the Retry-After delay")],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    else:
        log.exception("storing %d events failed", len(pending.events))
        error = exc
    if not pending.future.done():
        pending.future.set_exception(error)
