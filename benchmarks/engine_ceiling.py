"""The engine's ceiling: the same burst's calls made by a bare asyncio driver, no database.

The driver reads the approved ECOs from PLM's feed, plans them with ``contracts.plan``
and makes every planned call through the engine's own connectors and
:class:`~sync_engine.calls.Caller`, on clients built by ``new_client`` with the same
transport, under the same bulkheads, in the same order: a step waits for the steps it
depends on and for the earlier ECOs' step of the same kind on its target (item and
plant); a production version is polled until ERP confirms it, backing off to half the
time waited like the engine. Purchasing is planned from the same sourcing reads
(:func:`sync_engine.sourcing.read_sourcing`), and an info record waiting for a supplier's
qualification asks procurement again every ``qualification_interval`` and is sent again once
qualified (a rejected one ends blocked, as in the engine). What it leaves out is everything
the engine records: the difference between the two rates is the cost of the database, the
events and the jobs.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.model import Eco, Item, utcnow
from contracts.plan import PlannedStep, plan
from contracts.steps import StepKind, StepState, System
from sync_engine import store
from sync_engine.calls import Caller, Outcome
from sync_engine.config import EngineConfig
from sync_engine.connectors import (
    ErpConnector,
    MesConnector,
    PlmConnector,
    ProcurementConnector,
    new_client,
)
from sync_engine.errors import CallError
from sync_engine.results import MAX_POLL_PAUSE
from sync_engine.sourcing import read_sourcing

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Ceiling:
    """What the bare driver did: steps succeeded and the wall time to the last one."""

    steps: int
    seconds: float
    calls: int

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


@dataclass
class _Graph:
    """The burst's steps, what each waits for, and who waits for each."""

    steps: dict[str, PlannedStep] = field(default_factory=dict)
    waits: dict[str, set[str]] = field(default_factory=dict)
    waiters: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    pv: dict[tuple[str, str | None, str | None], str] = field(default_factory=dict)

    def add(self, planned: list[PlannedStep]) -> None:
        """Add ECOs' steps in approval order (per-kind target order follows from it)."""
        last_on_target: dict[tuple[StepKind, str | None, str | None], str] = {}
        for step in planned:
            self.steps[step.step_id] = step
            waits = set(step.depends_on)
            target = (step.kind, step.item, step.plant)
            if step.item is not None and target in last_on_target:
                waits.add(last_on_target[target])
            if step.item is not None:
                last_on_target[target] = step.step_id
            self.waits[step.step_id] = waits
            for before in waits:
                self.waiters[before].append(step.step_id)

    def done(self, step_id: str) -> list[str]:
        """Mark a step settled; return the steps it made ready."""
        ready = []
        for waiter in self.waiters.pop(step_id, []):
            waits = self.waits[waiter]
            waits.discard(step_id)
            if not waits:
                ready.append(waiter)
        return ready


def _record(step: PlannedStep, pv: str | None, attempt: int) -> store.StepRecord:
    now = utcnow()
    return store.StepRecord.model_construct(
        step_id=step.step_id,
        eco=step.eco,
        eco_approved_at=EPOCH,
        kind=step.kind,
        system=step.kind.system,
        plant=step.plant,
        item=step.item,
        revision=step.revision,
        supplier=step.supplier,
        state=StepState.RUNNING,
        attempt=attempt,
        generation=0,
        idempotency_key=step.idempotency_key,
        payload=step.payload,
        production_version=pv,
        requested_at=now,
        created_at=now,
        updated_at=now,
        next_attempt_at=None,
        lease_until=None,
        lease_holder=None,
        external_id=None,
        external_status=None,
        overdue_at=None,
        last_error_category=None,
        last_error_code=None,
        last_error_message=None,
        last_error_status=None,
        fingerprint=None,
    )


async def _burst(config: EngineConfig, numbers: set[str]) -> tuple[PlmConnector, list[Eco]]:
    plm_client = new_client(timeout=config.http_timeout, http_transport=config.http_transport)
    plm = PlmConnector(plm_client, config.plm_url)
    ecos: list[Eco] = []
    cursor: str | None = None
    while True:
        page = await plm.ecos("approved", updated_since=None, cursor=cursor)
        ecos += [Eco.model_validate(e.eco) for e in page.items if e.eco.get("number") in numbers]
        cursor = page.next_cursor
        if not cursor:
            break
    ecos.sort(key=lambda e: (e.approved_at or EPOCH, e.number))
    return plm, ecos


async def run_ceiling(config: EngineConfig, numbers: list[str]) -> Ceiling:
    """Make every call of the burst of ``numbers`` as the engine would, without storing."""
    plm, ecos = await _burst(config, set(numbers))
    items: dict[str, Item] = {}
    for number in sorted({i for eco in ecos for i in eco.items}):
        items[number] = await plm.item(number)
    await plm.client.aclose()

    clients = {
        system: new_client(
            timeout=config.http_timeout,
            max_connections=config.bulkheads.get(system, 4) + 2,
            http_transport=config.http_transport,
        )
        for system in System
    }
    erp = ErpConnector(clients[System.ERP], config.erp_url)
    procurement = ProcurementConnector(clients[System.PROCUREMENT], config.procurement_url)
    caller = Caller(
        erp,
        MesConnector(clients[System.MES], config.mes_url),
        procurement,
        config.retry,
        random.Random(7),
    )
    semaphores = {s: asyncio.Semaphore(n) for s, n in config.bulkheads.items()}
    sourcing = await read_sourcing(ecos, items, procurement, erp, semaphores[System.PROCUREMENT])
    graph = _Graph()
    graph.add([step for eco in ecos for step in plan(eco, items, sourcing.get(eco.number))])
    remaining = len(graph.steps)
    finished = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()
    succeeded = calls = 0

    def settle(step_id: str) -> None:
        nonlocal remaining
        remaining -= 1
        for ready in graph.done(step_id):
            start(ready)
        if remaining == 0:
            finished.set()

    async def confirm(step: PlannedStep, pv: str) -> None:
        nonlocal calls
        requested = time.monotonic()
        while True:
            async with semaphores[System.ERP]:
                calls += 1
                try:
                    answer = await erp.production_version(pv)
                except CallError:
                    answer = None
            if answer is not None and answer.status != "pending":
                return
            waited = time.monotonic() - requested
            await asyncio.sleep(min(MAX_POLL_PAUSE, max(config.confirmation_interval, waited / 2)))

    async def qualified(step: PlannedStep) -> bool:
        """Ask procurement until it decides the qualification ``step`` waits for."""
        nonlocal calls
        while True:
            await asyncio.sleep(config.qualification_interval)
            async with semaphores[System.PROCUREMENT]:
                calls += 1
                try:
                    found = await procurement.qualifications(
                        supplier=step.supplier or "",
                        component=step.item or "",
                        revision=step.revision or "",
                    )
                except CallError:
                    continue
            status = found[-1].status if found else None
            if status in ("qualified", "rejected"):
                return status == "qualified"

    async def run(step_id: str) -> None:
        nonlocal succeeded, calls
        step = graph.steps[step_id]
        key = (step.eco, step.plant, step.item)
        attempt = 1
        while True:
            async with semaphores[step.kind.system]:
                calls += 1
                outcome: Outcome = await caller.call(_record(step, graph.pv.get(key), attempt))
            attempt += 1
            if outcome.to is StepState.AWAITING_QUALIFICATION:
                if await qualified(step):
                    continue  # qualified: sent again, and ERP activates the record
                break  # rejected: blocked, as in the engine
            if outcome.to is not StepState.RETRYING:
                break
            pause = ((outcome.next_attempt_at or utcnow()) - utcnow()).total_seconds()
            await asyncio.sleep(max(0.0, pause))
        if outcome.to is StepState.AWAITING_CONFIRMATION and key in graph.pv:
            await confirm(step, graph.pv[key])
            succeeded += 1
        elif outcome.to is StepState.SUCCEEDED:
            succeeded += 1
            if step.kind is StepKind.ERP_PRODUCTION_VERSION and outcome.external_id:
                graph.pv[key] = outcome.external_id
        settle(step_id)

    def start(step_id: str) -> None:
        task = asyncio.create_task(run(step_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    started = time.perf_counter()
    for step_id, waits in list(graph.waits.items()):
        if not waits:
            start(step_id)
    if remaining:
        await finished.wait()
    seconds = time.perf_counter() - started
    for client in clients.values():
        await client.aclose()
    return Ceiling(steps=succeeded, seconds=seconds, calls=calls)
