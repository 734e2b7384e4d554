"""Run an engine inside a test: ``with running_engine(database_url, simulators_url) as e:``.

The engine runs on its own event loop in a background thread with fast timings (tiny
intervals, short backoffs), and stops cleanly when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from contracts.steps import System
from sync_engine.config import EngineConfig
from sync_engine.retry import RetryPolicy
from sync_engine.runner import SyncEngine
from sync_engine.scheduler import run_engine
from threadline.db import create_engine

FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.5, jitter=0.5)


def fast_config(simulators_url: str, **overrides: Any) -> EngineConfig:
    """A configuration for tests: every interval and backoff small."""
    values: dict[str, Any] = {
        "plm_poll_interval": 0.2,
        "dispatch_interval": 0.05,
        "confirmation_interval": 0.1,
        "relay_interval": 0.1,
        "reconcile_interval": 3600.0,
        "reap_interval": 0.5,
        "lease_seconds": 10.0,
        "http_timeout": 2.0,
        "retry": {system: FAST_RETRY for system in System},
        "relay_max_backoff": 1.0,
    }
    values.update(overrides)
    return EngineConfig().with_simulators(simulators_url, **values)


@contextlib.contextmanager
def running_engine(
    database_url: str, simulators_url: str, *, startup_timeout: float = 10.0, **overrides: Any
) -> Iterator[SyncEngine]:
    """One engine against ``database_url`` and the simulators, in a background thread."""
    config = fast_config(simulators_url, **overrides)
    db = create_engine(database_url)
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = stop

        def started(engine: SyncEngine) -> None:
            holder["engine"] = engine
            ready.set()

        await run_engine(config, db, stop, started=started)

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            holder["error"] = exc
            ready.set()

    thread = threading.Thread(target=target, name="sync-engine", daemon=True)
    thread.start()
    if not ready.wait(startup_timeout) or "error" in holder:
        thread.join(timeout=5)
        db.dispose()
        error = holder.get("error")
        if error is not None:
            raise error
        raise RuntimeError("the engine did not start")
    try:
        yield holder["engine"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=30)
        db.dispose()
        if "error" in holder:
            raise holder["error"]
