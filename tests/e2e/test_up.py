"""``threadline up`` end to end: real processes, real HTTP, the default SQLite database."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from contracts.steps import StepKind, StepState
from sync_engine.commands import retry_matching
from threadline.db import create_engine

pytestmark = pytest.mark.e2e


def free_ports(n: int) -> list[int]:
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, explain: Callable[[], Any] = str
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {explain()}")


class Up:
    def __init__(self, workdir: Path, settings: dict[str, str] | None = None) -> None:
        self.sim, self.collector, self.console, self.metrics = free_ports(4)
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
        env.update(settings or {})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadline",
                "up",
                "--history",
                "2",
                "--eco-rate",
                "30",
                "--simulators-port",
                str(self.sim),
                "--collector-port",
                str(self.collector),
                "--console-port",
                str(self.console),
                "--metrics-port",
                str(self.metrics),
            ],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if "Stop with Ctrl-C" in line:
                return
        raise AssertionError("threadline up did not come up:\n" + "".join(self.output))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = Up(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
    running.process.wait()
    running.reader.join(timeout=10)
    assert running.process.stdout is not None
    running.process.stdout.close()


def rows(engine: sa.Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def scalar(engine: sa.Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(sa.text(sql)).scalar()


def test_up_runs_the_product_and_stops_cleanly(up: Up, tmp_path: Path) -> None:
    up.wait_until_up(timeout=240)
    output = "".join(up.output)
    assert f"Console: http://127.0.0.1:{up.console}" in output
    assert "Log in as 'operator' with password" in output
    assert httpx.get(f"http://127.0.0.1:{up.console}/_stcore/health", timeout=5).is_success

    # The supplier portal goes down until the test brings it back.
    sim = f"http://127.0.0.1:{up.sim}"
    faults = httpx.get(f"{sim}/_admin/faults", timeout=5).json()
    faults["procurement"] = {"error_rate": 1.0}
    httpx.put(f"{sim}/_admin/faults", json=faults, timeout=5).raise_for_status()

    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'threadline.db'}")
    try:
        wait_for(
            "a production-ready ECO from the live engine",
            lambda: scalar(
                engine,
                "SELECT count(*) FROM eco_status WHERE state = 'production_ready' "
                "AND eco IN (SELECT correlationid FROM events WHERE source = '/threadline/engine')",
            ),
            timeout=180,
        )
        # A supplier whose contact bounces would be refused again once the portal is back.
        world = httpx.get(f"{sim}/plm/world", timeout=5).json()
        reachable = ", ".join(
            f"'{s['code']}'"
            for s in world["suppliers"]
            if not s["invalid_contact"] and not s["unreliable_portal"]
        )
        failed_notices = (
            "SELECT n.step_id FROM supplier_notices n JOIN step_status s USING (step_id) "
            f"WHERE n.status = 'failed' AND s.state = 'failed' AND n.supplier IN ({reachable}) "
            "AND n.eco IN (SELECT correlationid FROM events WHERE source = '/threadline/engine')"
        )
        wait_for(
            "a failed supplier notice",
            lambda: scalar(engine, failed_notices),
            timeout=180,
            explain=lambda: rows(
                engine,
                "SELECT state, attempt, count(*) FROM sync_steps "
                "WHERE kind = 'procurement.supplier_notice' GROUP BY state, attempt",
            ),
        )
        faults["procurement"] = {}
        httpx.put(f"{sim}/_admin/faults", json=faults, timeout=5).raise_for_status()

        # Every such notice at once, so one whose ECO PLM cancels meanwhile cannot decide.
        step_ids = [row[0] for row in rows(engine, failed_notices)]
        result = retry_matching(
            engine,
            actor="e2e",
            reason="portal back",
            role="operator",
            states=(StepState.FAILED,),
            kind=StepKind.SUPPLIER_NOTICE,
            step_ids=step_ids,
        )
        assert result.outcome == "queued", result
        assert set(result.step_ids) == set(step_ids)
        listed = ", ".join(f"'{s}'" for s in step_ids)
        wait_for(
            "a retried notice to be sent",
            lambda: scalar(
                engine,
                f"SELECT count(*) FROM supplier_notices WHERE step_id IN ({listed}) "
                "AND status = 'sent'",
            ),
            timeout=120,
            explain=lambda: rows(
                engine,
                "SELECT s.state, s.attempt, s.last_error_code, e.state FROM sync_steps s "
                f"JOIN eco_status e ON e.eco = s.eco WHERE s.step_id IN ({listed})",
            ),
        )
        assert (
            scalar(
                engine,
                "SELECT count(*) FROM operator_actions "
                "WHERE actor = 'e2e' AND action = 'retry_bulk'",
            )
            == 1
        )
    finally:
        engine.dispose()

    children = children_of(up.process.pid)
    assert len(children) >= 4
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=60) == 0
    assert "Stopped." in "".join(up.output)
    leftovers = {pid for pid in children if Path(f"/proc/{pid}").exists()}
    assert leftovers == set()
