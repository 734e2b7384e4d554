"""Alerts reach people: a real webhook receiver and a real SMTP server each get exactly
one message when an alert fires, a reminder at the interval and one when it resolves."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from alerts import store
from alerts.evaluator import Alerting
from alerts.notify import targets
from alerts.rules import parse_rules
from alerts.setup import AlertSetup
from tests.alerts.conftest import Db, Mailbox, Receiver, blocked_plant, closed_port_url, tell

CONSOLE = "http://console.example:8501"
RULES = """
[alerts]
evaluate_every = "10s"
reminder_every = "10m"

[[rule]]
name = "plant-blocked"
kind = "plant_blocked"
longer_than = "30m"
"""


def alerting(engine: sa.Engine, urls: list[str], holder: str = "engine-a") -> Alerting:
    setup = AlertSetup(
        rules=parse_rules(RULES, "rules.toml"), targets=targets(" ".join(urls)), console_url=CONSOLE
    )
    db = Db(engine)
    return Alerting(
        setup, holder=holder, run_db=db.run, read_db=db.read, lease_ttl=timedelta(seconds=60)
    )


def _titles(receiver: Receiver) -> list[str]:
    return [body["title"] for body in receiver.bodies]


def test_one_message_per_firing_a_reminder_at_the_interval_and_one_resolve(
    engine: sa.Engine, receiver: Receiver, mailbox: Mailbox
) -> None:
    start = datetime.now(UTC)
    story = blocked_plant(engine, "ECO-2026-00201", "P100", since=start - timedelta(hours=1))
    blocked_plant(engine, "ECO-2026-00202", "P200", since=start - timedelta(minutes=5))
    job = alerting(engine, [receiver.url, mailbox.url])

    async def at(minutes: float) -> None:
        await job.run_once(start + timedelta(minutes=minutes))

    asyncio.run(at(0))
    # Only P100 has been blocked longer than 30 minutes.
    assert _titles(receiver) == ["[FIRING] Plant P100 blocked for 1 ECO longer than 30 min"]
    fired = receiver.bodies[0]["message"]
    assert "ECO-2026-00201 at P100: work center WC-P100-01 is inactive" in fired
    assert f"{CONSOLE}/exceptions?plant_state=blocked&plant=P100" in fired
    assert [m["Subject"] for m in mailbox.messages] == [receiver.bodies[0]["title"]]
    assert (
        f"{CONSOLE}/exceptions?plant_state=blocked&plant=P100"
        in mailbox.messages[0].get_body(("plain",)).get_content()
    )

    asyncio.run(at(5))
    assert len(receiver.bodies) == len(mailbox.messages) == 1, "no repeat before the interval"
    asyncio.run(at(10.5))
    assert _titles(receiver)[1:] == [
        "[STILL FIRING] Plant P100 blocked for 1 ECO longer than 30 min"
    ]
    asyncio.run(at(12))
    assert len(receiver.bodies) == len(mailbox.messages) == 2

    story.unblock()
    tell(engine, story)
    asyncio.run(at(13))
    assert _titles(receiver)[2:] == ["[RESOLVED] Plant P100 blocked for 1 ECO longer than 30 min"]
    assert [m["Subject"] for m in mailbox.messages] == _titles(receiver)
    asyncio.run(at(40))
    # P200 is now blocked longer than 30 minutes: a new alert; P100 stays resolved.
    assert _titles(receiver)[3:] == ["[FIRING] Plant P200 blocked for 1 ECO longer than 30 min"]
    with engine.connect() as connection:
        resolved = [a for a in store.recent(connection, since=start) if a.key == "P100"]
    assert [(a.state, a.notifications) for a in resolved] == [(store.AlertState.RESOLVED, 3)]


def test_an_acknowledged_alert_sends_no_reminder_but_its_resolve(
    engine: sa.Engine, receiver: Receiver
) -> None:
    start = datetime.now(UTC)
    story = blocked_plant(engine, "ECO-2026-00211", "P100", since=start - timedelta(hours=1))
    job = alerting(engine, [receiver.url])
    asyncio.run(job.run_once(start))
    with engine.begin() as connection:
        (alert,) = store.firing(connection)
        assert store.acknowledge(connection, alert.id, actor="ada", reason="on it", now=start)
    asyncio.run(job.run_once(start + timedelta(hours=2)))
    assert len(receiver.bodies) == 1
    story.unblock()
    tell(engine, story)
    asyncio.run(job.run_once(start + timedelta(hours=3)))
    assert _titles(receiver)[1:] == ["[RESOLVED] Plant P100 blocked for 1 ECO longer than 30 min"]


def test_a_silenced_alert_waits_until_the_silence_ends(
    engine: sa.Engine, receiver: Receiver
) -> None:
    start = datetime.now(UTC)
    blocked_plant(engine, "ECO-2026-00221", "P100", since=start - timedelta(hours=1))
    job = alerting(engine, [receiver.url])
    asyncio.run(job.run_once(start))
    with engine.begin() as connection:
        (alert,) = store.firing(connection)
        until = start + timedelta(hours=1)
        assert store.silence(connection, alert.id, actor="ada", reason="maintenance", until=until)
    asyncio.run(job.run_once(start + timedelta(minutes=30)))
    assert len(receiver.bodies) == 1, "no reminder while silenced"
    asyncio.run(job.run_once(start + timedelta(minutes=61)))
    assert _titles(receiver)[1:] == [
        "[STILL FIRING] Plant P100 blocked for 1 ECO longer than 30 min"
    ]


def test_an_unreachable_target_is_retried_and_shown_while_the_others_get_one_message(
    engine: sa.Engine, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime.now(UTC)
    blocked_plant(engine, "ECO-2026-00231", "P100", since=start - timedelta(hours=1))
    # Apprise URLs carry secrets: a password and a token header here.
    dead = closed_port_url().replace("json://", "json://ops:hunter22@") + "?-X-Token=tok123456"
    job = alerting(engine, [dead, receiver.url])
    with caplog.at_level(logging.DEBUG):
        asyncio.run(job.run_once(start))
    assert len(receiver.bodies) == 1
    ids = [t.id for t in job.setup.targets]
    with engine.connect() as connection:
        failing, working = store.target_statuses(connection, ids)
        (alert,) = store.firing(connection)
    assert failing.failing and failing.last_error and not working.failing
    assert failing.label.startswith("JSON (json://ops:****@127.0.0.1:")
    assert "failed (attempt 1)" in caplog.text
    stored = repr(failing) + repr(alert)
    for secret in ("hunter22", "tok123456"):
        assert secret not in caplog.text and secret not in stored
    assert alert.owed is store.Message.FIRED and alert.owed_targets == (ids[0],)
    # Retried after a pause, to the failing target only.
    asyncio.run(job.run_once(start + timedelta(seconds=1)))
    asyncio.run(job.run_once(start + timedelta(seconds=30)))
    with engine.connect() as connection:
        (failing, _working) = store.target_statuses(connection, ids)
        (alert,) = store.firing(connection)
    assert failing.failures == 2 and alert.delivery_attempts == 2
    assert len(receiver.bodies) == 1


@pytest.mark.parametrize("dialect", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_engines_on_postgresql_send_one_notification(
    database_url: str, receiver: Receiver
) -> None:
    from contracts.steps import System
    from sync_engine.config import EngineConfig
    from sync_engine.runner import SyncEngine
    from threadline.db import create_engine

    start = datetime.now(UTC)
    setup = AlertSetup(
        rules=parse_rules(RULES, "rules.toml"), targets=targets(receiver.url), console_url=CONSOLE
    )
    config = EngineConfig(alerts=setup, lease_seconds=60)
    dbs = [create_engine(database_url) for _ in range(2)]
    blocked_plant(dbs[0], "ECO-2026-00241", "P100", since=start - timedelta(hours=1))

    async def main() -> None:
        import httpx

        async with httpx.AsyncClient() as client:
            engines = [SyncEngine(config, db, {s: client for s in System}) for db in dbs]
            jobs = [Alerting.for_engine(engine) for engine in engines]
            for minute in (0, 0.1, 0.2, 11, 11.1):
                now = start + timedelta(minutes=minute)
                await asyncio.gather(*(job.run_once(now) for job in jobs))
            for engine in engines:
                await engine.stop()

    try:
        asyncio.run(main())
    finally:
        for db in dbs:
            db.dispose()
    assert _titles(receiver) == [
        "[FIRING] Plant P100 blocked for 1 ECO longer than 30 min",
        "[STILL FIRING] Plant P100 blocked for 1 ECO longer than 30 min",
    ]


def test_a_group_missing_from_one_evaluation_only_does_not_resolve(
    engine: sa.Engine, receiver: Receiver
) -> None:
    from alerts.conditions import Finding

    start = datetime.now(UTC)
    finding = Finding("risk", "P100", "1 ECO at risk", ("ECO-1",), 1, "at-risk")
    every = timedelta(seconds=45)  # what the evaluator passes for a 30 s interval
    with engine.begin() as connection:
        for seconds, found in ((0, [finding]), (30, []), (60, [finding]), (90, []), (120, [])):
            store.record(
                connection,
                found,
                targets=[],
                reminder_every=timedelta(hours=1),
                now=start + timedelta(seconds=seconds),
                resolve_after=every,
            )
        (alert,) = store.recent(connection, since=start)
    # Missed at 30 s and found again: one alert; missed at 90 s and 120 s: resolved then.
    assert alert.state is store.AlertState.RESOLVED
    assert alert.resolved_at == start + timedelta(seconds=120)
