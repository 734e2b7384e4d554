"""One trace per ECO: rooted where the engine receives it, a span per step attempt parented
on that root (across engine restarts), and the same trace id on the ECO's CloudEvents in
the collector and on the changes the reference systems applied (their ledger)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from collector.auth import ProducerGrant
from collector.tables import events
from collector.testing import running_collector
from contracts.steps import System
from simulators.testing import running_simulators
from sync_engine.connectors import ErpConnector
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import Db, activate_inactive_work_centers, burst, ledger, wait_until
from threadline import tracing

TOKEN = "engine-token-for-trace-tests"
GRANTS = {
    TOKEN: ProducerGrant(producer="engine", sources=("/threadline/",), types=("io.threadline.",))
}


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """Every span the engine records in this process, kept in memory."""
    memory = InMemorySpanExporter()
    tracing.provider().add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # the processor stays on the provider; a shut exporter keeps nothing


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def trace_of(traceparent: str | None) -> str:
    found = tracing.trace_id(traceparent)
    assert found is not None, f"not a traceparent: {traceparent!r}"
    return found


def test_a_span_per_step_attempt_parented_on_the_eco_root_across_a_restart(
    spans: InMemorySpanExporter, database_url: str, db: Db
) -> None:
    with running_simulators(seed=5, confirmation_delay=0.2) as sims:
        numbers = burst(sims, 3, suppliers=[])
        activate_inactive_work_centers(sims, numbers)
        # The first engine receives and plans (PLM, and procurement for the approved
        # suppliers, the only call slots); a second one, like a restarted process, runs
        # the steps.
        closed = {system: 0 for system in System} | {System.PLM: 4, System.PROCUREMENT: 4}
        with running_engine(database_url, sims, bulkheads=closed):
            wait_until(lambda: set(numbers) <= set(db.eco_states()), 30, "the ECOs planned")
        with (
            running_collector(database_url, GRANTS) as collector,
            running_engine(
                database_url, sims, collector_url=collector, collector_token=SecretStr(TOKEN)
            ),
        ):
            wait_until(lambda: db.ready(numbers), 60, "the ECOs production-ready")

            def delivered() -> bool:
                with db.engine.connect() as connection:
                    return bool(
                        connection.execute(
                            sa.text("SELECT count(*) FROM sync_outbox WHERE delivered_at IS NULL")
                        ).scalar()
                        == 0
                    )

            wait_until(delivered, 30, "the outbox delivered")
        applied = ledger(sims)

    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    roots = {
        span.attributes["threadline.eco"]: span
        for span in finished
        if span.name == "eco.received" and span.parent is None
    }
    assert set(numbers) <= set(roots)
    with db.engine.connect() as connection:
        stored = dict(
            connection.execute(sa.text("SELECT number, traceparent FROM sync_ecos")).all()
        )
    for number in numbers:
        root = roots[number].get_span_context()
        assert stored[number] == tracing.format_traceparent(root)

    steps = [s for s in db.steps() if s.eco in numbers]
    by_step: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        step_id = (span.attributes or {}).get("threadline.step")
        if span.name != "erp.confirmation.poll" and isinstance(step_id, str):
            by_step.setdefault(step_id, []).append(span)
    assert steps and all(s.attempt >= 1 for s in steps)
    for step in steps:
        attempts = by_step.get(step.step_id, [])
        assert len(attempts) == step.attempt, (step.step_id, step.attempt, len(attempts))
        root = roots[step.eco].get_span_context()
        for span in attempts:
            assert span.name == step.kind.value
            assert span.parent is not None and span.parent.span_id == root.span_id
            assert span.context.trace_id == root.trace_id

    # The ECO's CloudEvents in the collector and the systems' ledger share its trace id.
    with db.engine.connect() as connection:
        stored_events = connection.execute(
            sa.select(events.c.correlationid, events.c.type, events.c.traceparent).where(
                events.c.correlationid.in_(numbers)
            )
        ).all()
    assert stored_events
    event_traces: dict[str, set[str]] = {}
    for row in stored_events:
        event_traces.setdefault(row.correlationid, set()).add(trace_of(row.traceparent))
    assert {n: len(t) for n, t in event_traces.items()} == {n: 1 for n in numbers}
    eco_of_key = {s.idempotency_key: s.eco for s in steps}
    eco_of_version = {s.production_version: s.eco for s in steps if s.production_version}
    seen: dict[str, set[str]] = {}
    for entry in applied:
        number = eco_of_key.get(entry["idempotency_key"]) or eco_of_version.get(
            entry.get("production_version")
        )
        if number is not None:
            seen.setdefault(number, set()).add(trace_of(entry["traceparent"]))
    assert seen == {n: {trace_of(stored[n])} for n in numbers}
    assert seen == event_traces


async def test_calls_in_an_eco_span_carry_traceparent_and_correlation_id() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        body = {"id": "PV-1", "status": "pending", "plant": "P100", "item": "ITEM-1"}
        return httpx.Response(
            200, json={**body, "revision": "B", "requested_at": "2026-03-02T10:00:00Z"}
        )

    root = tracing.start_trace("eco.received", "ECO-2026-00001")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        erp = ErpConnector(client, "http://erp.test")
        with tracing.span("erp.confirmation.poll", root, eco="ECO-2026-00001"):
            await erp.production_version("PV-1")
        await erp.production_version("PV-1")
    inside, outside = sent
    assert inside.headers["X-Correlation-ID"] == "ECO-2026-00001"
    assert tracing.trace_id(inside.headers["traceparent"]) == tracing.trace_id(root)
    assert inside.headers["traceparent"] != root  # the poll's own span, a child of the root
    assert "X-Correlation-ID" not in outside.headers
    assert "traceparent" not in outside.headers
