"""``threadline alerts list`` and ``threadline alerts test``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from alerts import store
from alerts.conditions import Finding
from tests.alerts.conftest import Mailbox, Receiver, closed_port_url
from threadline.cli import app


def test_list_shows_firing_then_resolved_and_as_json(database_url: str, engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    blocked = Finding("plant-blocked", "P100", "Plant P100 blocked", ("ECO-1 at P100",), 1, "x")
    drift = Finding("drift", "P200", "Drift at P200", ("ASM-1 at P200",), 1, "drift?plant=P200")
    with engine.begin() as connection:
        store.record(
            connection,
            [blocked, drift],
            targets=[],
            reminder_every=timedelta(hours=1),
            now=now - timedelta(hours=2),
        )
        store.record(
            connection,
            [drift],
            targets=[],
            reminder_every=timedelta(hours=1),
            now=now - timedelta(hours=1),
        )
    runner = CliRunner()
    shown = runner.invoke(app, ["alerts", "list", "--database-url", database_url])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line.split()[0] for line in lines] == ["firing", "resolved"]
    assert "Drift at P200" in lines[0] and "Plant P100 blocked" in lines[1]
    as_json = runner.invoke(app, ["alerts", "list", "--json", "--database-url", database_url])
    listed = json.loads(as_json.output)
    assert [(a["rule"], a["key"], a["state"]) for a in listed] == [
        ("drift", "P200", "firing"),
        ("plant-blocked", "P100", "resolved"),
    ]
    assert listed[0]["link"] == "drift?plant=P200"


def test_test_sends_one_message_to_every_target_and_names_the_one_that_failed(
    tmp_path: Path, receiver: Receiver, mailbox: Mailbox
) -> None:
    dead = closed_port_url()
    secret_dead = dead.replace("json://", "json://ops:hunter22@")
    env = os.environ | {
        "THREADLINE_ALERT_URLS": f"{receiver.url}, {mailbox.url} {secret_dead}",
        "THREADLINE_CONSOLE_URL": "http://console.example",
    }
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "alerts", "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok      JSON (json://127.0.0.1:")
    assert lines[1].startswith("ok      E-Mail (mailto://127.0.0.1:")
    assert lines[2].startswith("FAILED  JSON (json://ops:****@127.0.0.1:")
    assert "hunter22" not in done.stdout + done.stderr
    assert [b["title"] for b in receiver.bodies] == ["[TEST] Threadline alert test"]
    assert "http://console.example/alerts" in receiver.bodies[0]["message"]
    assert [m["Subject"] for m in mailbox.messages] == ["[TEST] Threadline alert test"]


def test_test_without_targets_says_alerts_stay_on_the_page(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "THREADLINE_ALERT_URLS"}
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "alerts", "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0
    assert "alerts show on the Alerts page only" in done.stdout
