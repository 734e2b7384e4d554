"""A real collector for other packages' tests: uvicorn in a background thread.

>>> with running_collector(database_url, {"t0k3n": ProducerGrant(producer="engine",
...                        sources=("/threadline/",), types=("io.threadline.",))}) as base_url:
...     httpx.post(f"{base_url}/events", ...)

The server listens on a free loopback port, shares nothing with the caller but the
database, and is stopped (queued events committed first) when the block exits.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import uvicorn

from collector.app import create_app, create_engine_for_collector
from collector.auth import ProducerGrant, Tokens
from collector.derived import ConfirmationSla
from collector.forwarder import ForwarderConfig
from collector.store import EventStore

STARTUP_TIMEOUT_SECONDS = 15.0


@contextmanager
def running_collector(
    database_url: str,
    tokens: Mapping[str, ProducerGrant | Mapping[str, Any]],
    *,
    max_request_bytes: int = 1024 * 1024,
    max_pending_requests: int = 1000,
    sla: ConfirmationSla | None = None,
    forward_to: ForwarderConfig | None = None,
) -> Iterator[str]:
    """Serve a collector on ``database_url`` (already migrated); yield its base URL.

    ``tokens`` maps each bearer token to its :class:`ProducerGrant` (or the same as a
    ``dict``: ``{"producer": ..., "sources": [...]}``).
    """
    grants = {
        token: grant if isinstance(grant, ProducerGrant) else ProducerGrant.model_validate(grant)
        for token, grant in tokens.items()
    }
    engine = create_engine_for_collector(database_url)
    app = create_app(
        EventStore(engine, sla=sla),
        Tokens(grants),
        max_request_bytes=max_request_bytes,
        max_pending_requests=max_pending_requests,
        forward_to=forward_to,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="collector-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the collector did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        engine.dispose()
