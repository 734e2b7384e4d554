"""``threadline collector replay``: publish a range of stored events to JetStream again.

The range starts at a store position (``seq``) or at the first event stored at or after a
time, and ends at the newest event settled when the replay starts, so a replay finishes
even while ingest goes on. Events go out in store order, in batches, exactly as the
forwarder sends them but under message ids of the replay's own (see
:func:`collector.forwarder.publish_batch`); the forwarder's cursor does not move.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from collector import forwarding
from collector.errors import CollectorError
from collector.forwarder import (
    UNAVAILABLE,
    ForwarderConfig,
    PartlyPublished,
    connect,
    publish_batch,
)
from threadline.db import capabilities

# Each attempt waits up to forwarding.SETTLE_TIMEOUT_SECONDS for busy writers.
SETTLE_ATTEMPTS = 5


class BadRange(CollectorError, ValueError):
    """A ``--since`` that is neither a store position nor a time with a zone."""


@dataclass(frozen=True)
class Replayed:
    """What a replay did."""

    replay: str
    first_seq: int | None
    last_seq: int | None
    published: int
    error: str | None = None
    """Why it stopped early (NATS unavailable); ``None`` when it published the range."""


def first_seq(engine: sa.Engine, since: str) -> int | None:
    """Where ``since`` (a ``seq`` or an ISO 8601 time with a zone) starts; ``None``: no
    event was stored then or later."""
    text = since.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRange(
            f"--since {since!r} is neither a store position (an event seq such as 1200) "
            "nor an ISO 8601 time (2026-12-01T08:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise BadRange(f"--since {since!r} has no time zone: add one, e.g. {text}Z")
    with engine.connect() as connection:
        return forwarding.first_seq_since(connection, moment)


async def replay(
    engine: sa.Engine,
    config: ForwarderConfig,
    start: int,
) -> Replayed:
    """Publish every stored event from ``start`` (inclusive) to the settled head."""
    replay_id = uuid.uuid4().hex[:12]
    caps = capabilities(engine)
    head = None
    for _ in range(SETTLE_ATTEMPTS):
        with engine.connect() as connection:
            head = forwarding.settled_head(connection, caps)
        if head is not None:
            break
    if head is None:
        return Replayed(replay_id, start, None, 0, "a write to the store did not finish: retry")
    if head < start:
        return Replayed(replay_id, None, None, 0)
    published, cursor, last = 0, start - 1, None
    try:
        client, jetstream = await connect(config)
    except UNAVAILABLE as exc:
        return Replayed(replay_id, start, None, 0, f"NATS at {config.url} is unavailable: {exc}")
    try:
        while cursor < head:
            with engine.connect() as connection:
                batch = forwarding.events_after(connection, cursor, head, config.batch)
            if not batch:
                break
            try:
                await publish_batch(jetstream, config, batch, replay=replay_id)
            except PartlyPublished as partly:
                published += partly.acknowledged
                if partly.acknowledged:
                    last = batch[partly.acknowledged - 1].seq
                return Replayed(
                    replay_id, start, last, published, f"NATS stopped answering: {partly.cause}"
                )
            published += len(batch)
            cursor = last = batch[-1].seq
    finally:
        await client.close()
    return Replayed(replay_id, start, last, published)
