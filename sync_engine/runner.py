"""One engine process: the jobs the scheduler runs, over the store and the connectors.

- ``poll_plm``: only the holder of the ``sync_engine.plm_poller`` lease reads PLM's feed
  (approved, cancelled, superseded), plans new ECOs and compensates cancelled ones;
- ``dispatch``: promotes steps whose dependencies are done, claims due steps per system
  up to that system's bulkhead (free slots of its ``asyncio.Semaphore``), and calls the
  systems concurrently (:mod:`sync_engine.calls`); results are recorded in batches
  (:mod:`sync_engine.results`);
- ``poll_confirmations``: asks ERP about production versions awaiting confirmation,
  records them active (or rejected);
- ``check_slas`` under its own lease: every in-flight step and ECO against its stage's
  SLA (:mod:`sync_engine.store.sla`): ``sla.work_overdue`` and ``sla.work_resolved``;
- ``relay``: the outbox relay, under the ``sync_engine.relay`` lease so events leave in
  order from one place;
- ``reconcile`` under its own lease; ``reap``: hands back steps whose lease expired;
- ``poll_qualifications``: asks procurement about the qualifications purchasing info
  records wait for, releasing the approved and blocking the rejected;
- ``assess_impact`` under its own lease: the open orders a stuck ECO puts at risk
  (:mod:`sync_engine.impact`);
- ``heartbeat``: records that this engine is alive (the console warns when none is);
- ``follow``: follows operator operations until their steps settled, and resolves inbox
  problems whose step succeeded or was skipped.

Tracing (:mod:`threadline.tracing`): an ECO's trace is rooted where ``poll_plm`` receives
it, and its root ``traceparent`` is stored with the ECO and its steps, so each step attempt
(and each confirmation poll) is a span parented on it in whichever tick or process runs it.

Database work runs in a small thread pool (one thread on SQLite) so the event loop keeps
many calls in flight. On SQLite one engine process runs: a second one finds the
``sync_engine.sqlite_engine`` lease held and refuses to start (:class:`EngineAlreadyRunning`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from opentelemetry.trace import StatusCode

from contracts.model import EcoStatus, Item, utcnow
from contracts.steps import StepKind, StepState, System
from sync_engine import qualify, results, store
from sync_engine.calls import Caller, Outcome
from sync_engine.config import EngineConfig
from sync_engine.connectors import (
    ErpConnector,
    MesConnector,
    PlmConnector,
    ProcurementConnector,
)
from sync_engine.errors import CallError, ContractError, EngineAlreadyRunning
from sync_engine.impact import assess_impact
from sync_engine.metrics import Metrics
from sync_engine.receiving import PlmFeed
from sync_engine.reconcile import reconcile
from sync_engine.relay import Relay
from sync_engine.sourcing import complete_sourcing
from sync_engine.suppliers import reconcile_suppliers
from threadline import leases, tracing
from threadline.db import DATABASE_UNAVAILABLE, capabilities, create_engine

log = logging.getLogger(__name__)

SQLITE_LEASE = "sync_engine.sqlite_engine"
PLM_LEASE = "sync_engine.plm_poller"
RELAY_LEASE = "sync_engine.relay"
RECONCILE_LEASE = "sync_engine.reconciler"
SLA_LEASE = "sync_engine.sla"
ALERTS_LEASE = "sync_engine.alerts"
IMPACT_LEASE = "sync_engine.impact"
FLUSH_GATHER_SECONDS = 0.02


@dataclass
class _Flight:
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    counts: dict[System, int] = field(default_factory=dict)


class SyncEngine:
    """The sync engine's jobs; :mod:`sync_engine.scheduler` runs them on intervals."""

    def __init__(
        self,
        config: EngineConfig,
        db: sa.Engine,
        client: httpx.AsyncClient | Mapping[System, httpx.AsyncClient],
        *,
        holder: str | None = None,
        metrics: Metrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.db = db
        # One client (one connection pool) per system keeps each pool small: httpcore
        # scans its whole pool on every request.
        clients = client if isinstance(client, Mapping) else {s: client for s in System}
        self.client = clients[System.ERP]
        self.holder = holder or store.new_holder()
        self.metrics = metrics or Metrics()
        self.capabilities = capabilities(db)
        self.plm = PlmConnector(clients[System.PLM], config.plm_url)
        self.erp = ErpConnector(clients[System.ERP], config.erp_url)
        self.mes = MesConnector(clients[System.MES], config.mes_url)
        self.procurement = ProcurementConnector(clients[System.PROCUREMENT], config.procurement_url)
        self._caller = Caller(
            self.erp, self.mes, self.procurement, config.retry, rng or random.Random()
        )
        self._executor = ThreadPoolExecutor(
            max_workers=1 if self.capabilities.single_writer else 4, thread_name_prefix="engine-db"
        )
        self._semaphores = {s: asyncio.Semaphore(n) for s, n in config.bulkheads.items()}
        self._flight = _Flight(counts={s: 0 for s in System})
        self._outcomes: list[Outcome] = []
        self._flushing: asyncio.Task[None] | None = None
        self._items: dict[str, Item] = {}
        self._stopping = False
        self._wake: Callable[[], None] | None = None
        self._wake_relay: Callable[[], None] | None = None
        self._relay_renew_at = 0.0
        self._feed = PlmFeed(
            self.run_db,
            self.read_db,
            self.plm,
            self.procurement,
            self.erp,
            items=self._items,
            plm_semaphore=self._semaphores[System.PLM],
            procurement_semaphore=self._semaphores[System.PROCUREMENT],
            start=config.plm_start,
            on_planned=self._progressed,
        )
        self.relay_worker: Relay | None = None
        self._relay_executor: ThreadPoolExecutor | None = None
        self._relay_mark_executor: ThreadPoolExecutor | None = None
        self._relay_reads = db
        if config.collector_url:
            # The relay's own thread and connection: its reads and marks neither wait in
            # the queue of the engine's transactions nor take the outbox lock. On SQLite
            # its reads are plain deferred transactions, which never wait for the writer.
            self._relay_executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="engine-relay"
            )
            # Marks (and the relay's lease) on a thread of their own: a mark waiting for
            # SQLite's writer holds back neither the next read nor the next batch.
            self._relay_mark_executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="engine-relay-mark"
            )
            if self.capabilities.single_writer:
                self._relay_reads = create_engine(db.url, read_only=True)
            token = config.collector_token.get_secret_value() if config.collector_token else None
            self.relay_worker = Relay(
                self._relay_db,
                clients.get(System.PLM, self.client),
                config.collector_url,
                token,
                batch=config.relay_batch,
                max_backoff=config.relay_max_backoff,
                min_backoff=min(1.0, max(0.05, config.relay_interval)),
                on_delivered=self.metrics.relayed.inc,
                read=self._relay_read,
            )

    async def run_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(connection, *args, **kwargs)`` in one transaction, off the event loop.

        The transaction takes the outbox lock first (see :func:`store.lock_outbox`).
        """

        def work() -> tuple[Any, bool]:
            with store.writing(self.db) as connection:
                result = fn(connection, *args, **kwargs)
                emitted = bool(connection.info.get(store.OUTBOX_BUFFER))
            return result, emitted

        loop = asyncio.get_running_loop()
        result, emitted = await loop.run_in_executor(self._executor, work)
        if emitted and self.relay_worker is not None:
            self.relay_worker.notify()
            if self._wake_relay is not None:
                self._wake_relay()
        return result

    async def _relay_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run the relay's ``fn(connection, ...)`` in one transaction on its own thread.

        Without the outbox lock: outbox ids commit in id order (writers hold the lock), so a
        read sees a gap-free prefix, and marking rows delivered writes no events.
        """

        if self.capabilities.single_writer:
            # SQLite has one writer: in the engine's own queue the relay's writes wait
            # their turn instead of contending for the lock and timing out after an outage.
            return await self.run_db(fn, *args, **kwargs)

        def work() -> Any:
            with self.db.begin() as connection:
                return fn(connection, *args, **kwargs)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._relay_mark_executor, work)

    async def _relay_read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def work() -> Any:
            with self._relay_reads.connect() as connection:
                return fn(connection, *args, **kwargs)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._relay_executor, work)

    async def read_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a read-only ``fn(connection, ...)`` off the event loop, without the outbox
        lock (on SQLite every transaction serialises anyway)."""
        if self.capabilities.single_writer:
            return await self.run_db(fn, *args, **kwargs)

        def work() -> Any:
            with self.db.connect() as connection:
                return fn(connection, *args, **kwargs)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work)

    def on_progress(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when recorded results may have made more steps due."""
        self._wake = wake

    def on_outbox(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when a unit of work committed events for the relay."""
        self._wake_relay = wake

    def _progressed(self) -> None:
        if self._wake is not None:
            self._wake()

    def _lease_ttl(self, interval: float) -> timedelta:
        return timedelta(seconds=max(self.config.lease_seconds, 5 * interval))

    async def _lead(self, name: str, interval: float) -> bool:
        return bool(
            await self.run_db(
                leases.try_acquire, name, self.holder, self._lease_ttl(interval), utcnow()
            )
        )

    async def start(self) -> None:
        """Take the single-engine lease on SQLite (or refuse to run)."""
        if not self.capabilities.single_writer:
            return
        if not await self._lead(SQLITE_LEASE, self.config.reap_interval):
            current = await self.read_db(leases.current, SQLITE_LEASE)
            holder = current.holder if current else "another engine"
            until = current.lease_until.isoformat() if current else "?"
            raise EngineAlreadyRunning(
                f"SQLite mode runs one engine process and {holder} holds the engine lease "
                f"until {until}; stop it, or use PostgreSQL to run several engines"
            )

    async def stop(self, timeout: float = 10.0) -> None:
        """Let calls in flight finish (up to ``timeout``), record them, give up leases."""
        self._stopping = True
        if self._flight.tasks:
            await asyncio.wait(set(self._flight.tasks), timeout=timeout)
        await self._flush_now()
        await self.run_db(store.stop_beating, self.holder)
        names = [PLM_LEASE, RELAY_LEASE, RECONCILE_LEASE, SLA_LEASE, ALERTS_LEASE, IMPACT_LEASE]
        if self.capabilities.single_writer:
            names.append(SQLITE_LEASE)
        for name in names:
            await self.run_db(leases.release, name, self.holder)
        self._executor.shutdown(wait=True)
        for executor in (self._relay_executor, self._relay_mark_executor):
            if executor is not None:
                executor.shutdown(wait=True)
        if self._relay_reads is not self.db:
            self._relay_reads.dispose()

    @property
    def in_flight(self) -> int:
        """Calls under way."""
        return len(self._flight.tasks)

    async def poll_plm(self) -> int:
        """Read PLM's feed if this engine is the poll leader; return ECOs acted on."""
        if not await self._lead(PLM_LEASE, self.config.plm_poll_interval):
            return 0
        acted = 0
        for status in (EcoStatus.APPROVED, EcoStatus.CANCELLED, EcoStatus.SUPERSEDED):
            try:
                with tracing.span("plm.poll", status=status.value):
                    acted += await self._feed.poll(status)
            except CallError as exc:
                log.warning("PLM poll of %s ECOs failed: %s", status.value, exc)
        return acted

    def _free_slots(self) -> dict[System, int]:
        return {
            s: self.config.bulkheads.get(s, 1) - self._flight.counts[s]
            for s in (System.ERP, System.MES, System.PROCUREMENT)
        }

    async def dispatch(self) -> int:
        """Claim due steps up to each system's free slots and start their calls."""
        free = self._free_slots()
        if self._stopping or max(free.values()) <= 0:
            return 0
        claimed: list[store.StepRecord] = await self.run_db(self._claim, free)
        self._launch(claimed)
        return len(claimed)

    def _launch(self, claimed: list[store.StepRecord]) -> None:
        for step in claimed:
            self._flight.counts[step.system] += 1
            self.metrics.in_flight.labels(step.system.value).set(self._flight.counts[step.system])
            task = asyncio.create_task(self._run(step), name=step.step_id)
            self._flight.tasks.add(task)
            task.add_done_callback(self._flight.tasks.discard)

    def _claim(self, connection: sa.Connection, free: dict[System, int]) -> list[store.StepRecord]:
        now = utcnow()
        store.promote_ready(connection, now=now, limit=self.config.claim_batch * 2)
        open_systems = [system for system, slots in free.items() if slots > 0]
        # One claim for every system with free slots; the semaphores bound the calls.
        return store.claim_due(
            connection,
            holder=self.holder,
            now=now,
            lease_seconds=self.config.lease_seconds,
            limit=min(self.config.claim_batch, sum(max(0, n) for n in free.values())),
            kinds=[k for k in StepKind if k.system in open_systems],
        )

    async def _run(self, step: store.StepRecord) -> None:
        try:
            async with self._semaphores[step.system]:
                started = time.perf_counter()
                with tracing.span(
                    step.kind.value,
                    step.traceparent,
                    eco=step.eco,
                    step=step.step_id,
                    plant=step.plant,
                    supplier=step.supplier,
                    attempt=step.attempt,
                ) as span:
                    outcome = await self._caller.call(step)
                    span.set_attribute("threadline.outcome", outcome.to.value)
                    if outcome.error is not None:
                        span.set_status(StatusCode.ERROR, outcome.error.code)
                self.metrics.call_seconds.labels(step.system.value).observe(
                    time.perf_counter() - started
                )
        except Exception as exc:  # a bug must not leave the step running until its lease ends
            log.exception("step %s crashed", step.step_id)
            outcome = Outcome(
                step,
                StepState.FAILED,
                error=ContractError("ENGINE_ERROR", f"{type(exc).__name__}: {exc}"),
            )
        finally:
            self._flight.counts[step.system] -= 1
            self.metrics.in_flight.labels(step.system.value).set(self._flight.counts[step.system])
        self.metrics.calls.labels(step.system.value, outcome.to.value).inc()
        if outcome.to is StepState.RETRYING:
            self.metrics.retries.labels(step.system.value).inc()
        self._outcomes.append(outcome)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        while self._outcomes:
            # A moment's wait gathers the results of calls finishing together into one
            # transaction: far fewer commits under load.
            await asyncio.sleep(FLUSH_GATHER_SECONDS)
            await self._flush_now()

    async def _flush_now(self) -> None:
        batch, self._outcomes = self._outcomes, []
        if not batch:
            return
        free = self._free_slots()
        claim = not self._stopping and max(free.values()) > 0
        try:
            claimed = await self.run_db(self._record_and_claim, batch, free if claim else None)
        except DATABASE_UNAVAILABLE as exc:
            # The steps stay running; their leases expire and they run again (idempotently).
            log.warning(
                "recording %d step results waits for the database (%s); they run again "
                "when their leases end",
                len(batch),
                type(exc).__name__,
            )
            return
        except Exception:
            log.exception("recording %d step results failed", len(batch))
            return
        for outcome in batch:
            self.metrics.transitions.labels(outcome.to.value).inc()
        self._launch(claimed)
        if self._wake is not None:
            self._wake()

    def _record_and_claim(
        self, connection: sa.Connection, batch: list[Outcome], free: dict[System, int] | None
    ) -> list[store.StepRecord]:
        """Record results and, in the same transaction, claim what they made due."""
        results.record(connection, batch, now=utcnow())
        return [] if free is None else self._claim(connection, free)

    async def poll_confirmations(self) -> int:
        """Ask ERP about awaiting production versions; return how many were settled."""
        waiting: list[store.StepRecord] = await self.run_db(
            store.awaiting_confirmations, limit=1000, now=utcnow()
        )
        if not waiting:
            return 0
        semaphore = self._semaphores[System.ERP]

        async def ask(step: store.StepRecord) -> tuple[store.StepRecord, results.Answer]:
            async with semaphore:
                try:
                    with tracing.span(
                        "erp.confirmation.poll",
                        step.traceparent,
                        eco=step.eco,
                        step=step.step_id,
                        plant=step.plant,
                    ):
                        version = step.production_version or ""
                        return step, await self.erp.production_version(version)
                except CallError as exc:
                    return step, exc

        answers = await asyncio.gather(*(ask(step) for step in waiting))
        return int(await self.run_db(self._record_confirmations, answers))

    def _record_confirmations(
        self, connection: sa.Connection, answers: list[tuple[store.StepRecord, results.Answer]]
    ) -> int:
        settled = results.record_confirmations(connection, answers, self.config, now=utcnow())
        if settled and self._wake is not None:
            self._wake()
        return settled

    async def poll_qualifications(self) -> int:
        """Ask procurement (and the collector) about the qualifications info records wait
        for; return how many steps were released or blocked (:mod:`sync_engine.qualify`)."""
        approved: set[qualify.Triple] = set()
        if self.config.collector_url:
            token = self.config.collector_token
            approved = await qualify.posted_approvals(
                self.run_db,
                self.client,
                self.config.collector_url,
                token.get_secret_value() if token else None,
            )
        await complete_sourcing(
            self.run_db,
            dict(self._items),
            self.procurement,
            self.erp,
            self._semaphores[System.PROCUREMENT],
        )
        settled = await qualify.poll_qualifications(
            self.run_db,
            self.procurement,
            self._semaphores[System.PROCUREMENT],
            interval=self.config.qualification_interval,
            now=utcnow,
            approved_elsewhere=approved,
        )
        if settled and self._wake is not None:
            self._wake()
        return settled

    async def relay(self) -> int:
        """Deliver the outbox to the collector if this engine holds the relay lease."""
        if self.relay_worker is None or self.relay_worker.paused:
            return 0
        ttl = self._lease_ttl(self.config.relay_interval)
        if time.monotonic() >= self._relay_renew_at:
            # Renewed a third into its term, not on every run: a run then starts at once.
            self._relay_renew_at = 0.0
            if not await self._relay_db(
                leases.try_acquire, RELAY_LEASE, self.holder, ttl, utcnow()
            ):
                return 0
            self._relay_renew_at = time.monotonic() + ttl.total_seconds() / 3
        budget = max(0.0, self._relay_renew_at - time.monotonic())
        delivered = await self.relay_worker.run_once(budget)
        if delivered and self._wake_relay is not None:
            # Stopped at its budget, or more committed while it ran: go again at once.
            self._wake_relay()
        return int(delivered)

    async def reconcile(self) -> int:
        """Reconcile every plant with PLM, ERP and MES (one engine at a time): drift."""
        if not await self._lead(RECONCILE_LEASE, self.config.reap_interval):
            return 0
        try:
            suppliers = await reconcile_suppliers(self.run_db, self.procurement, self.erp)
        except CallError as exc:
            suppliers = 0
            log.warning("supplier masters not compared: %s", exc)
        try:
            with tracing.span("reconcile"):
                done = await reconcile(self.run_db, self.plm, self.erp, self.mes)
        except CallError as exc:
            log.warning("reconciliation skipped: PLM could not be read: %s", exc)
            return suppliers
        return done.emitted + suppliers

    async def assess_impact(self) -> int:
        """Assess what stuck ECOs and plants behind put at risk (one engine at a time)."""
        if not await self._lead(IMPACT_LEASE, self.config.impact_interval):
            return 0
        return await assess_impact(self.run_db, self.erp, self._semaphores[System.ERP])

    async def check_slas(self) -> int:
        """Report work past its SLA, and resolved, if this engine holds the SLA lease."""
        if not await self._lead(SLA_LEASE, self.config.sla_interval):
            return 0
        return int(await self.run_db(store.sweep_slas, self.config.sla, now=utcnow()))

    async def follow(self) -> int:
        """Follow operator operations to their end and resolve inbox problems whose cause
        went away; returns how many of either ended."""
        finished = await self.run_db(store.follow_operations, now=utcnow())
        resolved = await self.run_db(store.resolve_settled, now=utcnow())
        return len(finished) + len(resolved)

    async def heartbeat(self) -> None:
        """Record that this engine is alive (see :mod:`sync_engine.health`)."""
        await self.run_db(store.beat, self.holder, now=utcnow())

    async def reap(self) -> int:
        """Hand back expired leases, keep this engine's own leases, refresh gauges."""
        if self.capabilities.single_writer and not await self._lead(
            SQLITE_LEASE, self.config.reap_interval
        ):
            log.error("lost the SQLite engine lease to another process")
        reaped = await self.run_db(store.reap_expired, now=utcnow())
        counts = await self.read_db(store.count_by_state)
        for state in StepState:
            self.metrics.steps.labels(state.value).set(counts.get(state.value, 0))
        self.metrics.outbox_backlog.set(await self.read_db(store.outbox_backlog))
        await self.run_db(store.prune_delivered, utcnow() - timedelta(days=1))
        return len(reaped)
