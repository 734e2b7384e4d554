"""Running an engine: APScheduler 3 ``AsyncIOScheduler`` interval jobs and a clean stop.

Jobs: poll PLM (leader only), dispatch, poll confirmations, relay the outbox, reconcile
(once at start, then every ``reconcile_interval``), reap expired leases, record the
engine's heartbeat, evaluate the alert rules (:mod:`alerts.evaluator`), follow operator
operations. Each job runs one instance at a time and missed runs coalesce. When recorded
results make more steps due, the dispatch job is brought forward instead of waiting for
its next interval; when a unit of work commits events, so is the relay (after a moment
that gathers the events of transactions committing together into one batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from alerts.evaluator import Alerting
from contracts.steps import System
from sync_engine.config import EngineConfig
from sync_engine.connectors import new_client
from sync_engine.runner import SyncEngine
from threadline.db import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

OUTAGE_REPORT_SECONDS = 60.0
RELAY_GATHER_SECONDS = 0.05


class _SkippedRunFilter(logging.Filter):
    """Drops APScheduler's note that a run was skipped while the previous one still runs:
    with sub-second intervals and ``max_instances=1`` that is the intended behaviour."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedRunFilter())


# Jobs that write to the database on every run: one of them succeeding means it is back
# (others may skip the database on a quiet tick).
DATABASE_PROBES = frozenset({"reap", "heartbeat"})


class _Runs:
    """Counts job runs under way, so a stop can let them finish instead of cancelling them
    (APScheduler's executor cancels what is still running when it shuts down).

    A database outage fails every job on every tick: it is logged once when it starts
    (with its cause), once a minute while it lasts and once when a job succeeds again, not
    as a traceback per run. The jobs simply keep trying; nothing they had done is lost.
    """

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.down_since: float | None = None
        self._reported = 0.0

    def _database_down(self, name: str, exc: Exception) -> None:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = self._reported = now
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            log.warning(
                "database unavailable (%s: %s): engine jobs wait and retry",
                name,
                cause[0] if cause else type(exc).__name__,
            )
        elif now - self._reported >= OUTAGE_REPORT_SECONDS:
            self._reported = now
            log.warning("database still unavailable after %.0f s", now - self.down_since)

    def _database_back(self) -> None:
        if self.down_since is not None:
            log.warning(
                "database reachable again after %.0f s; engine jobs resume",
                time.monotonic() - self.down_since,
            )
            self.down_since = None

    def guarded(
        self, name: str, job: Callable[[], Awaitable[Any]]
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            self.count += 1
            self.idle.clear()
            try:
                await job()
            except DATABASE_UNAVAILABLE as exc:
                self._database_down(name, exc)
            except Exception:
                # One failed run (a bug, a surprise) must not stop the job.
                log.exception("engine job %s failed", name)
            else:
                if name in DATABASE_PROBES:
                    self._database_back()
            finally:
                self.count -= 1
                if self.count == 0:
                    self.idle.set()

        return run


def build_scheduler(engine: SyncEngine, runs: _Runs | None = None) -> AsyncIOScheduler:
    """The scheduler with every engine job (not started)."""
    runs = runs or _Runs()
    config = engine.config
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    jobs: list[tuple[str, Callable[[], Awaitable[Any]], float]] = [
        ("poll_plm", engine.poll_plm, config.plm_poll_interval),
        ("dispatch", engine.dispatch, config.dispatch_interval),
        ("confirmations", engine.poll_confirmations, config.confirmation_interval),
        ("qualifications", engine.poll_qualifications, config.qualification_interval),
        ("relay", engine.relay, config.relay_interval),
        ("reconcile", engine.reconcile, config.reconcile_interval),
        ("impact", engine.assess_impact, config.impact_interval),
        ("reap", engine.reap, config.reap_interval),
        ("heartbeat", engine.heartbeat, config.heartbeat_interval),
        ("slas", engine.check_slas, config.sla_interval),
        ("alerts", Alerting.for_engine(engine).run_once, config.alerts.rules.evaluate_every),
        ("follow", engine.follow, config.follow_interval),
    ]
    for name, job, interval in jobs:
        scheduler.add_job(
            runs.guarded(name, job),
            "interval",
            seconds=interval,
            id=name,
            name=name,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def wake() -> None:
        job = scheduler.get_job("dispatch")
        if job is not None and scheduler.running:
            job.modify(next_run_time=datetime.now(UTC))

    def wake_relay() -> None:
        job = scheduler.get_job("relay")
        if job is None or not scheduler.running:
            return
        soon = datetime.now(UTC) + timedelta(seconds=RELAY_GATHER_SECONDS)
        # Only ever brought forward: commits in a row must not keep pushing it back.
        if job.next_run_time is None or job.next_run_time > soon:
            job.modify(next_run_time=soon)

    engine.on_progress(wake)
    engine.on_outbox(wake_relay)
    return scheduler


async def run_engine(
    config: EngineConfig,
    db: sa.Engine,
    stop: asyncio.Event,
    *,
    client: httpx.AsyncClient | None = None,
    started: Callable[[SyncEngine], None] | None = None,
) -> None:
    """Run one engine until ``stop`` is set, then stop cleanly (in-flight calls finish and
    are recorded, leases are released). Raises ``EngineAlreadyRunning`` on a busy SQLite."""
    owned: dict[System, httpx.AsyncClient] = {}
    if client is None:
        owned = {
            system: new_client(
                timeout=config.http_timeout,
                max_connections=config.bulkheads.get(system, 4)
                + (4 if system is System.PLM else 2),
                http_transport=config.http_transport,
            )
            for system in System
        }
    http: httpx.AsyncClient | dict[System, httpx.AsyncClient] = client or owned
    engine = SyncEngine(config, db, http)
    try:
        await engine.start()
        if config.metrics_port is not None:
            engine.metrics.serve(config.metrics_port)
        runs = _Runs()
        scheduler = build_scheduler(engine, runs)
        scheduler.start()
        log.info("engine %s running", engine.holder)
        if started is not None:
            started(engine)
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runs.idle.wait(), timeout=config.http_timeout + 5)
            scheduler.shutdown(wait=False)
            await engine.stop()
            log.info("engine %s stopped", engine.holder)
    finally:
        engine.metrics.close()
        for owned_client in owned.values():
            await owned_client.aclose()
