"""The forwarder and the replay as processes: a collector killed while it forwards and started
again (a JetStream subscriber has every stored event at least once, in store order), and
``threadline collector replay``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from collector import forwarding
from collector.app import create_engine_for_collector
from collector.forwarder import ForwarderConfig
from collector.testing import running_collector
from simulators.testing import free_port
from sync_engine.tables import outbox
from tests.collector.conftest import ENGINE_TOKEN, TOKENS
from tests.collector.jetstream import (
    caught_up,
    engine_events,
    first_occurrences,
    forwarded_all,
    metric,
    post,
    stored_ids,
    subscribe_all,
    wait_for,
)

pytestmark = pytest.mark.e2e


class CollectorProcess:
    """``threadline collector serve`` forwarding to ``config``."""

    def __init__(self, database_url: str, config: ForwarderConfig, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
        env |= {
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_COLLECTOR_TOKENS": json.dumps(
                {ENGINE_TOKEN: TOKENS[ENGINE_TOKEN].model_dump(mode="json")}
            ),
            "THREADLINE_NATS_URL": config.url,
            "THREADLINE_NATS_STREAM": config.stream,
            "THREADLINE_NATS_SUBJECT_PREFIX": config.subject_prefix,
        }
        command = [sys.executable, "-m", "threadline", "collector", "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for("the collector to answer", self._healthy, timeout=30)

    def _healthy(self) -> bool:
        assert self.process.poll() is None, "the collector process exited"
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def processes() -> Iterator[list[CollectorProcess]]:
    started: list[CollectorProcess] = []
    yield started
    for process in started:
        process.stop()


def test_a_killed_forwarder_resumes_from_its_cursor(
    database_url: str,
    nats_target: Callable[..., ForwarderConfig],
    processes: list[CollectorProcess],
    tmp_path: Path,
) -> None:
    config = nats_target()
    # A backlog stored before forwarding starts, so the forwarder is mid-stream when killed.
    backlog = engine_events(80)
    with running_collector(database_url, TOKENS) as base:
        for start in range(0, len(backlog), 500):
            post(base, backlog[start : start + 500], ENGINE_TOKEN)
    first = CollectorProcess(database_url, config, tmp_path)
    processes.append(first)
    published = "collector_forwarder_published_total"
    wait_for("the first publish", lambda: metric(first.base, published), poll=0.005)
    first.kill()
    stored_before = stored_ids(database_url)
    assert len(subscribe_all(config)) < len(stored_before), "the forwarder was not mid-stream"

    second = CollectorProcess(database_url, config, tmp_path)
    processes.append(second)
    later = engine_events(5, first=81)
    post(second.base, later, ENGINE_TOKEN)
    stored = stored_ids(database_url)
    wait_for("the cursor to reach the newest event", lambda: caught_up(database_url, config))
    received = subscribe_all(config)
    assert first_occurrences(received) == stored
    lag = "collector_forwarder_lag_events"
    wait_for("the lag to reach 0", lambda: metric(second.base, lag) == 0)


def replay(database_url: str, config: ForwarderConfig, workdir: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env |= {
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_NATS_URL": config.url,
        "THREADLINE_NATS_STREAM": config.stream,
        "THREADLINE_NATS_SUBJECT_PREFIX": config.subject_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "threadline", "collector", "replay", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replay_publishes_a_range_again_and_is_audited(
    database_url: str, nats_target: Callable[..., ForwarderConfig], tmp_path: Path
) -> None:
    config = nats_target()
    with running_collector(database_url, TOKENS, forward_to=config) as base:
        post(base, engine_events(3), ENGINE_TOKEN)
        stored = stored_ids(database_url)
        wait_for("every event forwarded", lambda: forwarded_all(base, len(stored)))
    engine = create_engine_for_collector(database_url)
    try:
        with engine.connect() as connection:
            seqs = [item.seq for item in forwarding.events_after(connection, 0, 10**9, 10**4)]
    finally:
        engine.dispose()
    since = seqs[-10]

    refused = replay(database_url, config, tmp_path, "--since", "yesterday", "--reason", "x")
    assert refused.returncode == 2
    assert "neither a store position" in refused.stderr

    done = replay(
        database_url,
        config,
        tmp_path,
        "--since",
        str(since),
        "--reason",
        "analytics lost a day",
        "--actor",
        "ada",
    )
    assert done.returncode == 0, done.stderr
    assert "published 10 events" in done.stdout
    received = subscribe_all(config)
    assert len(received) == len(stored) + 10
    again = received[len(stored) :]
    assert [(m.event["source"], m.event["id"]) for m in again] == stored[-10:]
    assert len({m.headers["Threadline-Replay"] for m in again}) == 1

    engine = create_engine_for_collector(database_url)
    try:
        with engine.connect() as connection:
            audit = connection.execute(
                sa.select(outbox.c.event).where(outbox.c.type == "io.threadline.operator.action.v1")
            ).scalar_one()
    finally:
        engine.dispose()
    assert audit["data"]["action"] == "replay"
    assert audit["data"]["actor"] == "ada"
    assert audit["data"]["reason"] == "analytics lost a day"
    assert audit["data"]["affected"] == 10
    assert audit["data"]["filter"] == {"stream": config.stream, "since": str(since)}


def test_replay_with_nats_away_says_so(
    database_url: str, nats_target: Callable[..., ForwarderConfig], tmp_path: Path
) -> None:
    config = nats_target(f"nats://127.0.0.1:{free_port()}", timeout=0.5)
    with running_collector(database_url, TOKENS) as base:
        post(base, engine_events(1), ENGINE_TOKEN)
    failed = replay(database_url, config, tmp_path, "--since", "1", "--reason", "test")
    assert failed.returncode == 1
    assert "unavailable" in failed.stderr
