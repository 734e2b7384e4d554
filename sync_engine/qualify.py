"""Asking procurement about the qualifications purchasing info records wait for.

Every ``qualification_interval`` the engine reads the qualification of each (supplier,
component, revision) some info record waits for: approved releases the waiting steps
(they run, and ERP activates the records), rejected blocks them with procurement's
reason, pending leaves them waiting. A qualification procurement posted to the collector
as approved (``io.threadline.procurement.qualification_approved.v1``, from its own
producer) releases them too, without waiting for the next read; ERP still refuses the
activation until procurement itself has approved, so nothing is bought early.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.api import Qualification
from sync_engine import store
from sync_engine.connectors import ProcurementConnector
from sync_engine.errors import CallError

log = logging.getLogger(__name__)

Triple = tuple[str, str, str]
"""(supplier, component, revision)."""


def triple(step: store.StepRecord) -> Triple:
    """The qualification an info record step waits for."""
    return (step.supplier or "", step.item or "", step.revision or "")


async def poll_qualifications(
    run_db: Callable[..., Awaitable[Any]],
    procurement: ProcurementConnector,
    limit: asyncio.Semaphore,
    *,
    interval: float,
    now: Callable[[], datetime],
    approved_elsewhere: Iterable[Triple] = (),
) -> int:
    """Read the qualifications waiting steps need and record what they say; return how
    many steps were released or blocked."""
    waiting: list[store.StepRecord] = await run_db(
        store.awaiting_qualifications, limit=1000, now=now()
    )
    if not waiting:
        return 0
    wanted = sorted({triple(step) for step in waiting})

    async def ask(key: Triple) -> tuple[Triple, Qualification | None]:
        supplier, component, revision = key
        async with limit:
            try:
                found = await procurement.qualifications(
                    supplier=supplier, component=component, revision=revision
                )
            except CallError as exc:
                log.info("qualification of %s not read: %s", "/".join(key), exc)
                return key, None
        return key, found[-1] if found else None

    answers = dict(await asyncio.gather(*(ask(key) for key in wanted)))
    elsewhere = set(approved_elsewhere)
    return int(await run_db(record_answers, waiting, answers, elsewhere, interval, now()))


def record_answers(
    connection: sa.Connection,
    waiting: list[store.StepRecord],
    answers: Mapping[Triple, Qualification | None],
    approved_elsewhere: set[Triple],
    interval: float,
    now: datetime,
) -> int:
    """Release, block or leave waiting each step by its qualification's answer."""
    groups: dict[tuple[Triple, str], list[store.StepRecord]] = {}
    for step in waiting:
        groups.setdefault((triple(step), step.eco), []).append(step)
    settled = 0
    later: dict[str, datetime] = {}
    for (key, _eco), steps in groups.items():
        answer = answers.get(key)
        status = answer.status if answer is not None else None
        if status == "qualified" or (status != "rejected" and key in approved_elsewhere):
            moved = [s for s in store.release_qualified(connection, steps, now=now) if s]
            if moved and answer is not None and status == "qualified":
                store.record_decision(
                    connection,
                    moved[0],
                    answer.id,
                    approved=True,
                    at=answer.decided_at or now,
                    reason=answer.reason,
                    now=now,
                )
            settled += len(moved)
        elif status == "rejected" and answer is not None:
            why = f"procurement rejected {key[0]} for {key[1]} {key[2]}: {answer.reason or '-'}"
            moved = [s for s in store.block_rejected(connection, steps, why, now=now) if s]
            if moved:
                store.record_decision(
                    connection,
                    moved[0],
                    answer.id,
                    approved=False,
                    at=answer.decided_at or now,
                    reason=answer.reason,
                    now=now,
                )
            settled += len(moved)
        else:
            later.update({s.step_id: now + timedelta(seconds=interval) for s in steps})
    store.defer_qualification_polls(connection, later)
    return settled


APPROVED_TYPE = "io.threadline.procurement.qualification_approved.v1"
FEED_CURSOR = "collector.qualification_approved.since"


async def approved_at_collector(
    client: Any, collector_url: str, token: str | None, since: str | None, own_source: str
) -> tuple[set[Triple], str | None]:
    """Qualifications another producer (procurement) posted to the collector as approved
    since ``since``, and the newest time seen; the engine's own reports are left out."""
    params = {"type": APPROVED_TYPE, "limit": "1000"}
    if since:
        params["since"] = since
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = await client.get(
            f"{collector_url.rstrip('/')}/events", params=params, headers=headers
        )
        response.raise_for_status()
        events = response.json().get("events", [])
    except Exception as exc:  # the collector's view is a shortcut; procurement stays the source
        log.info("collector's qualification approvals not read: %s", exc)
        return set(), since
    found: set[Triple] = set()
    newest = since
    for event in events:
        data = event.get("data") or {}
        if event.get("source") != own_source and isinstance(data, dict):
            found.add(
                (str(data.get("supplier")), str(data.get("component")), str(data.get("revision")))
            )
        moment = event.get("time")
        if isinstance(moment, str) and (newest is None or moment > newest):
            newest = moment
    return found, newest


async def posted_approvals(
    db: Callable[..., Awaitable[Any]], client: Any, collector_url: str, token: str | None
) -> set[Triple]:
    """The approvals posted to the collector since the last look (its position kept)."""
    since = await db(store.get_cursor, FEED_CURSOR)
    approved, newest = await approved_at_collector(
        client, collector_url, token, since, store.SOURCE
    )
    if newest and newest != since:
        await db(store.set_cursor, FEED_CURSOR, newest, now=datetime.now(UTC))
    return approved
