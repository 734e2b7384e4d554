"""``threadline up`` with JSON logs: the simulators' ledger entries of an ECO carry the trace
id of that ECO's CloudEvents in the collector; the engine's log is one JSON object a line
with an ``eco`` field on transitions; no service logs a token, the demo password, a cookie
or an ``Authorization`` value."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.test_up import children_of, free_ports, wait_for
from threadline import tracing
from threadline.db import create_engine

pytestmark = pytest.mark.e2e

COOKIE_VALUE = "cookie-value-that-must-not-be-logged"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    sim, collector, console, metrics = free_ports(4)
    ports = {"sim": sim, "collector": collector, "console": console}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OTEL_"))}
    env["THREADLINE_LOG_FORMAT"] = "json"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "threadline", "up", "--history", "0", "--eco-rate", "30"),
            *("--simulators-port", str(sim), "--collector-port", str(collector)),
            *("--console-port", str(console), "--metrics-port", str(metrics)),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, ports
    if process.poll() is None:
        process.kill()
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


def rows(engine: sa.Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text(sql)).all())


def engine_token(pid: int) -> str:
    """The collector token ``threadline up`` generated, from its engine child's environment."""
    for child in children_of(pid):
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"engine" in cmdline:
            for entry in environ:
                if entry.startswith(b"THREADLINE_COLLECTOR_TOKEN="):
                    return entry.split(b"=", 1)[1].decode()
    raise AssertionError("no engine child with a collector token")


def test_traces_reach_the_ledger_and_logs_are_json_without_secrets(
    up: tuple[subprocess.Popen[str], dict[str, int]], tmp_path: Path
) -> None:
    process, ports = up
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "Stop with Ctrl-C" in line or time.monotonic() > deadline:
            break
    assert process.poll() is None, "threadline up did not come up"
    token = engine_token(process.pid)
    password = json.loads((tmp_path / ".threadline" / "demo-login.json").read_text())["password"]
    sim = f"http://127.0.0.1:{ports['sim']}"
    collector = f"http://127.0.0.1:{ports['collector']}"

    db = create_engine(f"sqlite+pysqlite:///{tmp_path / 'threadline.db'}")
    try:
        # An ECO with a change ERP applied and its events stored by the collector.
        def traced() -> list[Any]:
            return rows(
                db,
                "SELECT s.eco, s.idempotency_key, s.traceparent FROM sync_steps s "
                "WHERE s.state = 'succeeded' AND s.kind = 'erp.item_revision' AND s.eco IN "
                "(SELECT correlationid FROM events WHERE source = '/threadline/engine')",
            )

        found = wait_for("a propagated ECO", traced, timeout=60)
        keys = {row.idempotency_key: row.eco for row in found}
        entries = httpx.get(f"{sim}/_admin/ledger", timeout=5).json()["entries"]
        ledger_traces: dict[str, set[str | None]] = {}
        for entry in entries:
            if entry["idempotency_key"] in keys:
                eco = keys[entry["idempotency_key"]]
                ledger_traces.setdefault(eco, set()).add(tracing.trace_id(entry["traceparent"]))
        assert ledger_traces
        for eco, traces in ledger_traces.items():
            stored = rows(
                db, f"SELECT DISTINCT traceparent FROM events WHERE correlationid = '{eco}'"
            )
            event_traces = {tracing.trace_id(row.traceparent) for row in stored}
            assert len(event_traces) == 1 and None not in event_traces, (eco, stored)
            assert traces == event_traces, eco

        # Calls that carry credentials: the engine's token, a cookie, the demo password.
        response = httpx.get(
            f"{collector}/events",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {token}", "Cookie": f"tl={COOKIE_VALUE}"},
            timeout=5,
        )
        assert response.status_code == 200
        refused = httpx.get(
            f"{collector}/events", headers={"Authorization": f"Bearer {password}"}, timeout=5
        )
        assert refused.status_code == 401
        httpx.get(
            f"http://127.0.0.1:{ports['console']}/",
            headers={"Cookie": f"session={COOKIE_VALUE}", "Authorization": f"Basic {password}"},
            timeout=5,
        )
    finally:
        db.dispose()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0

    logs = sorted((tmp_path / ".threadline" / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"simulators", "collector", "engine", "console"}
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in (token, password, COOKIE_VALUE):
            assert secret not in text, f"{path.name} logs a credential"
    engine_lines = (tmp_path / ".threadline" / "logs" / "engine.log").read_text().splitlines()
    records = [json.loads(line) for line in engine_lines if line.strip()]
    assert records, "the engine logged nothing"
    transitions = [r for r in records if r.get("logger") == "sync_engine" and "step" in r]
    assert transitions and all(str(r["eco"]).startswith("ECO-") for r in transitions)
    assert all(r.get("trace_id") for r in transitions)
    assert any(str(r["message"]).endswith(" steps") for r in records if "eco" in r)
    assert not [r for r in records if str(r.get("logger", "")).startswith(("httpx", "httpcore"))]
