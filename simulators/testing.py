"""Run the simulators on loopback for tests: ``with running_simulators() as url: ...``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from simulators.app import SimulatorConfig, create_app
from simulators.faults import Faults


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: Any, *, name: str = "server", startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a background thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"{name} did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def running_simulators(
    seed: int = 7,
    eco_rate: float = 0.0,
    faults: Faults | dict[str, Any] | None = None,
    confirmation_delay: float | None = None,
) -> Iterator[str]:
    """The simulators on a free loopback port; yields ``http://127.0.0.1:<port>``.

    ``faults`` is a :class:`Faults` or a dict in the ``PUT /_admin/faults`` shape.
    """
    config = SimulatorConfig(
        seed=seed,
        eco_rate=eco_rate,
        faults=Faults.model_validate(faults or {}),
        confirmation_delay=confirmation_delay,
    )
    with serving(create_app(config), name="simulators") as url:
        with httpx.Client(base_url=url, timeout=5) as client:
            client.get("/healthz").raise_for_status()
        yield url
