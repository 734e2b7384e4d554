"""Alerts inside a running engine: an unreachable target is retried and reported while
the engine keeps working; acknowledging and silencing are audited in the outbox."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from alerts import commands, store
from alerts.notify import targets
from alerts.rules import parse_rules
from alerts.setup import AlertSetup
from simulators.testing import free_port
from sync_engine import tables as engine_tables
from sync_engine.store import heartbeats
from sync_engine.testing import running_engine
from tests.alerts.conftest import Receiver, blocked_plant, closed_port_url, tell

RULES = """
[alerts]
evaluate_every = "0.2s"

[[rule]]
name = "plant-blocked"
kind = "plant_blocked"
longer_than = "1m"
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_unreachable_target_is_retried_and_reported_while_the_engine_keeps_running(
    database_url: str, engine: sa.Engine, receiver: Receiver
) -> None:
    blocked_plant(engine, "ECO-2026-00301", "P100", since=datetime.now(UTC) - timedelta(hours=1))
    dead = closed_port_url()
    setup = AlertSetup(
        rules=parse_rules(RULES, "rules.toml"),
        targets=targets(f"{dead} {receiver.url}"),
        console_url="http://console.example",
    )
    ids = [t.id for t in setup.targets]
    nowhere = f"http://127.0.0.1:{free_port()}"
    with running_engine(database_url, nowhere, alerts=setup, heartbeat_interval=0.2) as running:

        def statuses() -> list[store.TargetStatus]:
            with engine.connect() as connection:
                return store.target_statuses(connection, ids)

        retried = wait_for(
            "the unreachable target tried twice",
            lambda: [s for s in statuses() if s.target == ids[0] and s.failures >= 2],
        )
        with engine.connect() as connection:
            seen = {b.holder: b.seen_at for b in heartbeats(connection)}[running.holder]
        assert seen > retried[0].last_failed_at - timedelta(seconds=1)
        wait_for(
            "another heartbeat after the failures",
            lambda: _seen(engine, running.holder) > retried[0].last_failed_at,
        )
    assert [b["title"] for b in receiver.bodies] == [
        "[FIRING] Plant P100 blocked for 1 ECO longer than 1 min"
    ]
    (failing, working) = statuses()
    assert failing.failing and "127.0.0.1" in (failing.last_error or "")
    assert not working.failing and working.last_ok_at is not None


def _seen(engine: sa.Engine, holder: str) -> datetime:
    with engine.connect() as connection:
        return {b.holder: b.seen_at for b in heartbeats(connection)}.get(
            holder, datetime.min.replace(tzinfo=UTC)
        )


def _audited(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        events = connection.execute(
            sa.select(engine_tables.outbox.c.event)
            .where(engine_tables.outbox.c.type == "io.threadline.operator.action.v1")
            .order_by(engine_tables.outbox.c.id)
        ).scalars()
        return [event["data"] for event in events]


def test_acknowledge_and_silence_take_a_reason_and_are_audited(engine: sa.Engine) -> None:
    from alerts.conditions import Finding

    now = datetime.now(UTC)
    finding = Finding("drift", "P200", "Drift at P200", ("ASM-1 at P200",), 1, "drift?plant=P200")
    with engine.begin() as connection:
        store.record(connection, [finding], targets=[], reminder_every=timedelta(hours=1), now=now)
        (alert,) = store.firing(connection)
    with pytest.raises(commands.InvalidCommand, match="reason is required"):
        commands.acknowledge(engine, alert.id, actor="ada", reason="  ")
    with pytest.raises(commands.InvalidCommand, match="a week ahead"):
        commands.silence(engine, alert.id, actor="ada", reason="x", until=now + timedelta(days=8))
    done = commands.acknowledge(engine, alert.id, actor="ada", role="operator", reason="on it")
    assert done.outcome == "acknowledged"
    later = now + timedelta(hours=2)
    silenced = commands.silence(engine, alert.id, actor="lin", reason="window", until=later)
    assert silenced.outcome == "silenced"
    missing = commands.acknowledge(engine, 999, actor="ada", reason="typo")
    assert missing.outcome == "not_found"
    with engine.connect() as connection:
        stored = store.get(connection, alert.id)
    assert stored is not None
    assert (stored.acknowledged_by, stored.acknowledge_reason) == ("ada", "on it")
    assert (stored.silenced_by, stored.silence_reason) == ("lin", "window")
    audited = [(d["actor"], d["action"], d["reason"], d["outcome"]) for d in _audited(engine)]
    assert audited == [
        ("ada", "acknowledge_alert", "on it", "acknowledged"),
        ("lin", "silence_alert", "window", "silenced"),
        ("ada", "acknowledge_alert", "typo", "not_found"),
    ]


@pytest.mark.parametrize("dialect", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_running_engines_on_postgresql_send_each_message_once(
    database_url: str, engine: sa.Engine, receiver: Receiver
) -> None:
    story = blocked_plant(
        engine, "ECO-2026-00311", "P100", since=datetime.now(UTC) - timedelta(hours=1)
    )
    rules = RULES.replace(
        'evaluate_every = "0.2s"', 'evaluate_every = "0.2s"\nreminder_every = "2s"'
    )
    setup = AlertSetup(
        rules=parse_rules(rules, "rules.toml"),
        targets=targets(receiver.url),
        console_url="http://console.example",
    )
    nowhere = f"http://127.0.0.1:{free_port()}"
    with (
        running_engine(database_url, nowhere, alerts=setup) as first,
        running_engine(database_url, nowhere, alerts=setup) as second,
    ):
        assert first.holder != second.holder
        wait_for("the first reminder", lambda: len(receiver.bodies) >= 2)
        story.unblock()
        tell(engine, story)
        wait_for("the resolve", lambda: receiver.bodies[-1]["title"].startswith("[RESOLVED]"))
        time.sleep(1.0)  # a second sender would have sent by now
    titles = [b["title"].split("]")[0] + "]" for b in receiver.bodies]
    assert titles[0] == "[FIRING]" and titles[-1] == "[RESOLVED]"
    assert titles.count("[FIRING]") == 1 and titles.count("[RESOLVED]") == 1
    assert set(titles[1:-1]) <= {"[STILL FIRING]"}
    # Reminders come about every 2 s (counted from the evaluation that sent the one
    # before, not from its arrival), never two at once.
    reminders = receiver.times[: len(titles) - 1]
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(reminders)]
    assert all(gap > 1.0 for gap in gaps), (gaps, titles)
