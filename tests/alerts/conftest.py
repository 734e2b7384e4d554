"""A real webhook receiver and a real SMTP server for alert notifications, and a small
world of blocked plants told through the collector's own store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from collector.samples import Emitter
from collector.store import EventStore
from contracts import events as ev
from contracts.steps import ErrorCategory, StepKind, StepState
from simulators.testing import free_port
from sync_engine import store as engine_store


@dataclass
class Receiver:
    """A JSON webhook on loopback: every body it was posted, in order."""

    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """When each body arrived (``time.monotonic()``)."""

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver behind an Apprise ``json://`` URL."""
    got: list[dict[str, Any]] = []
    times: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            got.append(json.loads(self.rfile.read(length)))
            times.append(time.monotonic())
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(port=server.server_address[1], bodies=got, times=times)
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    """A plain SMTP server on loopback (no TLS, no login): every message it took."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=alerts@example.com&to=ops@example.com"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An aiosmtpd server behind an Apprise ``mailto://`` URL."""
    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(
                message_from_bytes(envelope.content, _class=EmailMessage, policy=policy.default)  # type: ignore[arg-type]
            )
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def closed_port_url() -> str:
    """A ``json://`` URL nothing listens on."""
    return f"json://127.0.0.1:{free_port()}/hook"


@dataclass(kw_only=True)
class Plant(Emitter):
    """One ECO reaching one plant, whose routing a business rejection blocks."""

    plant: str = "P100"
    item: str = "ASM-1001"
    tick: timedelta = timedelta(milliseconds=10)

    def block(self) -> None:
        self.emit(
            ev.EcoReceived(
                eco=self.eco,
                title=f"Change {self.eco}",
                approved_at=self.clock,
                effectivity=self.clock.date(),
                items=[self.item],
                revisions={self.item: "C"},
                product_families=["PUMPS"],
                plants=[self.plant],
                suppliers=[],
                steps=1,
            )
        )
        where: dict[str, Any] = {"plant": self.plant, "item": self.item, "revision": "C"}
        self.step(StepKind.ERP_ROUTING, StepState.PENDING, **where)
        self.step(StepKind.ERP_ROUTING, StepState.RUNNING, attempt=1, **where)
        self.step(
            StepKind.ERP_ROUTING,
            StepState.BLOCKED,
            attempt=1,
            error=ev.StepError(
                category=ErrorCategory.BUSINESS,
                code="WORK_CENTER_INACTIVE",
                message=f"work center WC-{self.plant}-01 is inactive",
                fingerprint="erp:erp.routing:WORK_CENTER_INACTIVE",
            ),
            **where,
        )

    def unblock(self) -> None:
        where: dict[str, Any] = {"plant": self.plant, "item": self.item, "revision": "C"}
        self.step(StepKind.ERP_ROUTING, StepState.PENDING, attempt=1, **where)


def tell(engine: sa.Engine, story: Emitter) -> None:
    """Append what ``story`` emitted since the last call through the collector's store."""
    EventStore(engine).append(story.events, "engine")
    story.events.clear()


def blocked_plant(engine: sa.Engine, eco: str, plant: str, since: datetime) -> Plant:
    """Tell that ``eco`` has been blocked at ``plant`` since ``since``."""
    story = Plant(eco=eco, plant=plant, clock=since, sequence_prefix=eco[-5:])
    story.block()
    tell(engine, story)
    return story


class Db:
    """``run_db``/``read_db`` over a database, as the engine passes them to its jobs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with engine_store.writing(self.engine) as connection:
            return fn(connection, *args, **kwargs)

    async def read(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self.engine.connect() as connection:
            return fn(connection, *args, **kwargs)
