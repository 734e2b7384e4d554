"""``threadline db prune``: old events go, the read models and newer events stay, and the
prune is counted per type and audited."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from collector.samples import propagation_events
from collector.store import EventStore
from collector.tables import PROJECTIONS, eco_status, events
from contracts.model import utcnow
from sync_engine.tables import outbox
from threadline.prune import PruneError, count_old_events, prune_events

OLD_ECO = "ECO-2026-00001"
NEW_ECO = "ECO-2026-00002"


def read_models(engine: sa.Engine) -> dict[str, list[str]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(
                repr(dict(row)) for row in connection.execute(sa.select(table)).mappings()
            )
            for table in PROJECTIONS
        }


def stored(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as connection:
        return Counter(
            str(row.correlationid) for row in connection.execute(sa.select(events.c.correlationid))
        )


def two_ecos(engine: sa.Engine) -> list[dict[str, Any]]:
    """One ECO propagated 40 days ago and one yesterday; return the old one's events."""
    now = utcnow()
    old = propagation_events(OLD_ECO, start=now - timedelta(days=40))
    new = propagation_events(NEW_ECO, start=now - timedelta(days=1), sequence_start=1000)
    EventStore(engine).append(old + new, "engine")
    return old


def test_prune_removes_only_old_events_and_keeps_every_read_model(engine: sa.Engine) -> None:
    old = two_ecos(engine)
    before = read_models(engine)
    kept = stored(engine)[NEW_ECO]

    report = prune_events(engine, older_than_days=30, actor="ops", reason="disk budget")

    assert report.deleted
    assert report.by_type == dict(Counter(e["type"] for e in old))
    assert report.total == len(old)
    assert report.bytes > 0
    assert stored(engine) == Counter({NEW_ECO: kept})
    assert read_models(engine) == before
    with engine.connect() as connection:
        states = dict(connection.execute(sa.select(eco_status.c.eco, eco_status.c.state)).all())
    assert states == {OLD_ECO: "production_ready", NEW_ECO: "production_ready"}


def test_prune_is_audited_as_an_operator_action(engine: sa.Engine) -> None:
    old = two_ecos(engine)
    prune_events(engine, older_than_days=30, actor="ops", reason="disk budget")
    with engine.connect() as connection:
        sent = [row.event for row in connection.execute(sa.select(outbox.c.event))]
    actions = [e["data"] for e in sent if e["type"] == "io.threadline.operator.action.v1"]
    assert len(actions) == 1
    action = actions[0]
    assert (action["actor"], action["action"], action["reason"]) == (
        "ops",
        "prune_events",
        "disk budget",
    )
    assert action["affected"] == len(old)
    assert action["filter"]["events_older_than_days"] == 30


def test_counting_deletes_nothing_and_a_second_prune_finds_nothing(engine: sa.Engine) -> None:
    old = two_ecos(engine)
    counted = count_old_events(engine, utcnow() - timedelta(days=30))
    assert (counted.total, counted.deleted) == (len(old), False)
    assert sum(stored(engine).values()) > len(old)
    prune_events(engine, older_than_days=30, actor="ops", reason="disk budget")
    again = prune_events(engine, older_than_days=30, actor="ops", reason="again")
    assert (again.total, again.by_type, again.bytes) == (0, {}, 0)


@pytest.mark.parametrize(
    ("days", "actor", "reason", "message"),
    [
        (-1, "ops", "why", "0 days or more"),
        (30, "ops", "  ", "--reason is required"),
        (30, "", "why", "actor is required"),
    ],
)
def test_bad_arguments_delete_nothing(
    engine: sa.Engine, days: float, actor: str, reason: str, message: str
) -> None:
    two_ecos(engine)
    before = stored(engine)
    with pytest.raises(PruneError, match=message):
        prune_events(engine, older_than_days=days, actor=actor, reason=reason)
    assert stored(engine) == before


def run_prune(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "threadline", "db", "prune", "--database-url", database_url]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_warns_and_deletes_only_with_yes_and_a_reason(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    old = two_ecos(engine)
    before = stored(engine)

    dry = run_prune(database_url, tmp_path, "--events-older-than", "30")
    assert dry.returncode == 1, dry.stderr
    assert f"would remove {len(old)} events" in dry.stdout
    assert "io.threadline.step.succeeded.v1" in dry.stdout
    assert "threadline collector rebuild" in dry.stderr
    assert stored(engine) == before

    no_reason = run_prune(database_url, tmp_path, "--events-older-than", "30", "--yes")
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    assert stored(engine) == before

    done = run_prune(
        database_url, tmp_path, "--events-older-than", "30", "--yes", "--reason", "disk budget"
    )
    assert done.returncode == 0, done.stderr
    assert f"removed {len(old)} events" in done.stdout
    assert OLD_ECO not in stored(engine)

    nothing = run_prune(database_url, tmp_path, "--events-older-than", "30")
    assert nothing.returncode == 0, nothing.stderr
    assert "would remove 0 events" in nothing.stdout
