"""The local NATS JetStream for forwarder tests: a stream of one's own, a subscriber, a
loopback TCP proxy a test can stop to take NATS away, and what the tests post and read."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import orjson
import pytest

from collector import forwarding
from collector.app import create_engine_for_collector
from collector.forwarder import ForwarderConfig
from collector.samples import many_propagations
from tests.conftest import IN_CI

NATS_URL = "nats://127.0.0.1:4222"
BATCH = "application/cloudevents-batch+json"


def require_nats() -> None:
    """Skip (fail in CI) when the local NATS server is not there."""
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=2):
            return
    except OSError as exc:
        reason = f"NATS JetStream is not reachable on 127.0.0.1:4222 ({exc}); start nats-server -js"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Received:
    subject: str
    headers: dict[str, str]
    event: dict[str, Any]


def own_target(url: str = NATS_URL, **options: Any) -> ForwarderConfig:
    """A stream and subjects no other test uses (streams may not share subjects)."""
    tag = uuid.uuid4().hex[:10]
    return ForwarderConfig(
        url=url, stream=f"TL_TEST_{tag}", subject_prefix=f"tltest{tag}", **options
    )


def subscribe_all(config: ForwarderConfig, *, wait: float = 0.5) -> list[Received]:
    """Every message in the stream, oldest first, read by a new pull subscriber."""

    async def read() -> list[Received]:
        client = await nats.connect(NATS_URL)
        try:
            jetstream = client.jetstream()
            subscription = await jetstream.pull_subscribe(
                f"{config.subject_prefix}.>", stream=config.stream
            )
            received: list[Received] = []
            while True:
                try:
                    messages = await subscription.fetch(1000, timeout=wait)
                except (nats.errors.TimeoutError, TimeoutError):
                    return received
                for message in messages:
                    received.append(
                        Received(
                            message.subject, dict(message.headers or {}), orjson.loads(message.data)
                        )
                    )
                    await message.ack()
        finally:
            await client.close()

    return asyncio.run(read())


def delete_stream(config: ForwarderConfig) -> None:
    async def delete() -> None:
        client = await nats.connect(NATS_URL)
        try:
            try:
                await client.jetstream().delete_stream(config.stream)
            except nats.js.errors.NotFoundError:
                pass
        finally:
            await client.close()

    asyncio.run(delete())


class TcpProxy:
    """Forwards a loopback port to NATS until stopped; started again on the same port."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 4222)) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._running = False

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._listener.fileno() == -1:
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(16)
        self._running = True
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._running = False
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._running:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


def post(base: str, events: list[dict[str, Any]], token: str) -> float:
    """POST ``events`` as one batch; return how long the collector took to answer."""
    started = time.perf_counter()
    response = httpx.post(
        f"{base}/events",
        content=httpx.Request("POST", "/", json=events).content,
        headers={"content-type": BATCH, "authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code in (200, 202), response.text[:500]
    return time.perf_counter() - started


def metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


def forwarded_all(base: str, count: int) -> bool:
    return (
        metric(base, "collector_forwarder_published_total") >= count
        and metric(base, "collector_forwarder_lag_events") == 0
    )


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0, poll: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stored_ids(database_url: str) -> list[tuple[str, str]]:
    """(source, id) of every stored event, in store order."""
    engine = create_engine_for_collector(database_url)
    try:
        with engine.connect() as connection:
            batch = forwarding.events_after(connection, 0, 10**12, 10**6)
    finally:
        engine.dispose()
    return [(str(item.event["source"]), str(item.event["id"])) for item in batch]


def caught_up(database_url: str, config: ForwarderConfig) -> bool:
    """Whether the forwarder's cursor has reached the newest stored event."""
    engine = create_engine_for_collector(database_url)
    try:
        with engine.connect() as connection:
            cursor = forwarding.load_cursor(connection, config.stream)
            return forwarding.lag(connection, cursor).events == 0 and cursor > 0
    finally:
        engine.dispose()


def first_occurrences(received: list[Received]) -> list[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    ordered = []
    for message in received:
        key = (message.event["source"], message.event["id"])
        if key not in seen:
            seen.add(key)
            ordered.append(key)
    return ordered


def engine_events(count: int, first: int = 1) -> list[dict[str, Any]]:
    return list(many_propagations(count, first=first))


def external_event(source: str, n: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"ext-{n}",
        "source": source,
        "type": "com.example.widget.made",
        "time": "2026-12-01T08:00:00Z",
        "datacontenttype": "application/json",
        "data": {"n": n},
    }
