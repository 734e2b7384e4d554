"""Forwards every stored event, in store order, to a NATS JetStream stream.

Runs as a task of its own beside ingest, on its own database thread, and gives way to
ingest: a batch goes out when no request is being stored (or after ``max_defer``), so
ingest never waits for it; while NATS is away events simply pile up behind the cursor
(the lag in ``/metrics`` grows) until it is back.

Delivery is at least once and in order: a batch goes out in store order on one
connection, and the cursor (``forwarder_cursors``) moves past the events the stream
acknowledged, so a forwarder killed between a publish and its cursor write publishes
those events again. JetStream drops the repeats it still remembers (``Nats-Msg-Id``,
within its duplicate window); consumers de-duplicate the rest on the CloudEvent's
``source`` + ``id`` as they would any CloudEvent.

Messages follow the CloudEvents NATS protocol binding (1.0.2): structured mode, the JSON
event format as the payload; the subject comes from the type (:mod:`contracts.subjects`).

Several collectors on one database forward through one of them: the holder of the lease
``collector-forwarder:<stream>``. Every collector reports the lag, read from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import nats
import nats.errors
import orjson
import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from collector import forwarding
from collector.errors import CollectorError
from collector.forwarding import ForwardedEvent
from collector.metrics import Metrics
from contracts.subjects import CONTENT_TYPE, stream_subjects, subject_of
from threadline import leases
from threadline.db import capabilities

log = logging.getLogger(__name__)

T = TypeVar("T")

LAG_REFRESH_SECONDS = 1.0
# Messages published between two turns of the event loop: about 5 ms of CPU.
YIELD_EVERY = 100
DEFER_POLL_SECONDS = 0.005

# Errors that mean "NATS is not there right now": retried with back-off, never fatal.
UNAVAILABLE = (nats.errors.Error, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class ForwarderConfig:
    """Where events go and how eagerly (read from the ``THREADLINE_NATS_*`` settings)."""

    url: str
    stream: str = "THREADLINE"
    subject_prefix: str = "threadline"
    batch: int = 500
    interval: float = 0.2
    """Pause between passes that found nothing to forward, seconds."""
    max_backoff: float = 10.0
    """Longest pause between attempts while NATS is unreachable, seconds."""
    timeout: float = 5.0
    """Connect and acknowledgement timeout, seconds."""
    lease_seconds: float = 15.0
    max_defer: float = 1.0
    """Longest wait for a pause in ingest before the next batch goes out anyway, seconds."""

    @property
    def subjects(self) -> list[str]:
        """The subjects the stream is created with."""
        return stream_subjects(self.subject_prefix)

    @property
    def lease(self) -> str:
        """The lease whose holder forwards to this stream."""
        return f"collector-forwarder:{self.stream}"


def message_id(event: dict[str, Any]) -> str:
    """The JetStream de-duplication id of an event: its CloudEvents identity."""
    return f"{event['source']}#{event['id']}"


async def connect(config: ForwarderConfig) -> tuple[NatsClient, JetStreamContext]:
    """Connect to NATS and make sure the stream exists (created with ``config.subjects``)."""

    async def quiet(exc: Exception) -> None:
        log.debug("NATS: %s", exc)

    # One attempt: reconnecting is the forwarder's own loop, with back-off and the lag.
    client = await asyncio.wait_for(
        nats.connect(
            config.url,
            name="threadline-collector",
            connect_timeout=config.timeout,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=quiet,
        ),
        timeout=3 * config.timeout,
    )
    try:
        jetstream = client.jetstream(timeout=config.timeout)
        try:
            await jetstream.stream_info(config.stream)
        except NotFoundError:
            await jetstream.add_stream(StreamConfig(name=config.stream, subjects=config.subjects))
            log.info("created JetStream stream %s for %s", config.stream, config.subjects)
    except BaseException:
        await client.close()
        raise
    return client, jetstream


class PartlyPublished(CollectorError):
    """A batch stopped part-way: the first ``acknowledged`` events are in the stream."""

    def __init__(self, acknowledged: int, cause: BaseException) -> None:
        super().__init__(f"{acknowledged} acknowledged, then: {cause}")
        self.acknowledged = acknowledged
        self.cause = cause


async def publish_batch(
    jetstream: JetStreamContext,
    config: ForwarderConfig,
    batch: Sequence[ForwardedEvent],
    *,
    replay: str | None = None,
) -> None:
    """Publish ``batch`` in order and wait until the stream has acknowledged all of it.

    The messages travel pipelined on one connection, so they reach the server in order
    and a lost connection loses a tail of the batch, never a message in the middle;
    :class:`PartlyPublished` says how long the acknowledged head is. A replay gets
    message ids of its own so JetStream stores its events again instead of dropping them
    as repeats; ``Threadline-Replay`` names it.
    """
    # No stall timeout: it would yield to the event loop after every message, and the
    # client would then write each message on its own instead of the batch at once. A
    # batch never has more messages in flight than the client allows (4,000).
    acks: list[asyncio.Future[Any]] = []
    try:
        for index, item in enumerate(batch):
            if index and index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let ingest's requests in between
            headers = {"Nats-Msg-Id": message_id(item.event), "Content-Type": CONTENT_TYPE}
            if replay is not None:
                headers["Nats-Msg-Id"] += f"#replay-{replay}"
                headers["Threadline-Replay"] = replay
            acks.append(
                await jetstream.publish_async(
                    subject_of(str(item.event["type"]), config.subject_prefix),
                    orjson.dumps(item.event),
                    stream=config.stream,
                    headers=headers,
                )
            )
        # One wait for the whole batch: a timer per message would cost more than its publish.
        if acks:
            await asyncio.wait(acks, timeout=config.timeout)
        for index, ack in enumerate(acks):
            failure = _failure(ack)
            if failure is not None:
                _warn_if_reordered(batch, acks, index)
                raise PartlyPublished(index, failure) from failure
    except UNAVAILABLE as exc:
        raise PartlyPublished(_acknowledged(acks), exc) from exc
    finally:
        for ack in acks:
            if ack.done() and not ack.cancelled():
                ack.exception()  # seen: a failed one is reported through PartlyPublished
            else:
                ack.cancel()


def _failure(ack: asyncio.Future[Any]) -> BaseException | None:
    """Why ``ack`` did not acknowledge its message (``None``: it did)."""
    if not ack.done():
        return TimeoutError("no acknowledgement in time")
    if ack.cancelled():
        return asyncio.CancelledError()
    return ack.exception()


def _acknowledged(acks: list[asyncio.Future[Any]]) -> int:
    for index, ack in enumerate(acks):
        if _failure(ack) is not None:
            return index
    return len(acks)


def _warn_if_reordered(
    batch: Sequence[ForwardedEvent], acks: list[asyncio.Future[Any]], failed: int
) -> None:
    # Only a message the server itself refused can leave later ones stored before it.
    if any(_failure(ack) is None for ack in acks[failed + 1 :]):
        log.error(
            "JetStream refused event seq %d but stored later ones: it goes out again after them",
            batch[failed].seq,
        )


class Forwarder:
    """The forwarding task of one collector (start and stop it inside the event loop)."""

    def __init__(
        self,
        engine: sa.Engine,
        config: ForwarderConfig,
        metrics: Metrics,
        *,
        ingest_busy: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.ingest_busy = ingest_busy
        self.clock = clock or (lambda: datetime.now(UTC))
        self.holder = f"collector-{uuid.uuid4().hex[:12]}"
        self._caps = capabilities(engine)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collector-forward")
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: NatsClient | None = None
        self._jetstream: JetStreamContext | None = None
        self._cursor: int | None = None
        self._lease_until: datetime | None = None
        self._lag_due = 0.0

    async def start(self) -> None:
        """Start forwarding in the background."""
        self._task = asyncio.create_task(self._run(), name="collector-forwarder")

    async def stop(self) -> None:
        """Finish the batch under way, close the connection and give the lease up."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._disconnect()
        try:
            await self._db(self._release)
        except sa.exc.SQLAlchemyError:
            log.warning("could not release the forwarder lease; it expires by itself")
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        backoff = self.config.interval
        outage = False
        while not self._stopping.is_set():
            try:
                forwarded = await self._pass()
            except UNAVAILABLE as exc:
                self.metrics.forwarder_errors.labels("nats_unavailable").inc()
                if not outage:
                    log.warning("NATS at %s is unavailable (%s): events wait", self.config.url, exc)
                outage = True
                await self._disconnect()
                await self._report_lag_while_down()
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.config.max_backoff)
                continue
            except sa.exc.SQLAlchemyError as exc:
                self.metrics.forwarder_errors.labels("database_unavailable").inc()
                log.warning("the forwarder cannot read the event store: %s", exc)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.config.max_backoff)
                continue
            except Exception:
                # Forwarding must outlive any one failure; the cursor keeps what is owed.
                self.metrics.forwarder_errors.labels("unexpected").inc()
                log.exception("forwarding to %s failed", self.config.stream)
                await self._disconnect()
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.config.max_backoff)
                continue
            if outage and self._client is not None:
                log.info("NATS at %s is back: forwarding resumes", self.config.url)
                outage = False
            backoff = self.config.interval
            if forwarded == 0:
                await self._sleep(self.config.interval)

    async def _pass(self) -> int:
        """Forward one batch if this collector holds the lease; refresh the lag gauges."""
        if not await self._hold_lease():
            if self._lag_is_due():
                await self._db(self._report_lag, await self._db(self._load_cursor))
            return 0
        if self._jetstream is None:
            self._client, self._jetstream = await connect(self.config)
            self.metrics.forwarder_connected.set(1)
        if self._cursor is None:
            self._cursor = await self._db(self._load_cursor)
        await self._defer_to_ingest()
        batch = await self._db(self._next_batch, self._cursor)
        try:
            await publish_batch(self._jetstream, self.config, batch)
        except PartlyPublished as partly:
            await self._advance(batch[: partly.acknowledged])
            raise partly.cause from partly
        await self._advance(batch)
        if self._lag_is_due() or not batch:
            await self._db(self._report_lag, self._cursor)
        return len(batch)

    async def _report_lag_while_down(self) -> None:
        # The lag is what tells an operator that NATS is away: keep it current.
        if not self._lag_is_due():
            return
        try:
            cursor = self._cursor if self._cursor is not None else await self._db(self._load_cursor)
            await self._db(self._report_lag, cursor)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("the forwarder cannot read the event store: %s", exc)

    async def _defer_to_ingest(self) -> None:
        # Ingest goes first: a batch waits for a pause between requests, but not for
        # longer than max_defer, so a collector that is never idle still forwards.
        deadline = time.monotonic() + self.config.max_defer
        while self.ingest_busy() and time.monotonic() < deadline:
            if self._stopping.is_set():
                return
            await asyncio.sleep(DEFER_POLL_SECONDS)

    async def _advance(self, acknowledged: Sequence[ForwardedEvent]) -> None:
        if not acknowledged:
            return
        self.metrics.forwarded.inc(len(acknowledged))
        await self._db(self._save_cursor, acknowledged[-1].seq)
        self._cursor = acknowledged[-1].seq

    def _lag_is_due(self) -> bool:
        # Counting a long backlog after every batch would slow the catch-up it measures.
        now = time.monotonic()
        if now < self._lag_due:
            return False
        self._lag_due = now + LAG_REFRESH_SECONDS
        return True

    async def _hold_lease(self) -> bool:
        now = self.clock()
        ttl = timedelta(seconds=self.config.lease_seconds)
        if self._lease_until is not None and now < self._lease_until - ttl / 2:
            return True
        held = await self._db(self._acquire, now, ttl)
        if held and (self._lease_until is None or self._lease_until < now):
            self._cursor = None  # another collector may have moved it meanwhile
        self._lease_until = now + ttl if held else None
        return held

    async def _disconnect(self) -> None:
        client, self._client, self._jetstream = self._client, None, None
        self.metrics.forwarder_connected.set(0)
        if client is not None and not client.is_closed:
            try:
                await client.close()
            except UNAVAILABLE:
                pass

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _acquire(self, now: datetime, ttl: timedelta) -> bool:
        with self.engine.begin() as connection:
            return leases.try_acquire(connection, self.config.lease, self.holder, ttl, now)

    def _release(self) -> None:
        with self.engine.begin() as connection:
            leases.release(connection, self.config.lease, self.holder)

    def _load_cursor(self) -> int:
        with self.engine.connect() as connection:
            return forwarding.load_cursor(connection, self.config.stream)

    def _next_batch(self, cursor: int) -> list[ForwardedEvent]:
        with self.engine.connect() as connection:
            head = forwarding.settled_head(connection, self._caps)
            if head is None or head <= cursor:
                return []
            return forwarding.events_after(connection, cursor, head, self.config.batch)

    def _save_cursor(self, seq: int) -> None:
        with self.engine.begin() as connection:
            forwarding.save_cursor(connection, self.config.stream, seq, self.clock())

    def _report_lag(self, cursor: int) -> None:
        with self.engine.connect() as connection:
            lag = forwarding.lag(connection, cursor)
        self.metrics.forwarder_lag_events.set(lag.events)
        behind = 0.0 if lag.oldest is None else (self.clock() - lag.oldest).total_seconds()
        self.metrics.forwarder_lag_seconds.set(max(behind, 0.0))
