"""The trace id of an ECO, read from the CloudEvents the collector stored."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from collector.store import EventStore
from contracts import events as ev
from contracts.operator_events import OperatorActionTaken
from dashboards.traces import eco_trace_id, trace_url

TRACE = "0af7651916cd43dd8448eb211c80319c"


def stored(engine: sa.Engine, eco: str, **extensions: str) -> None:
    event = ev.new_event(
        OperatorActionTaken(
            actor="ada", action="retry", eco=eco, reason="test", outcome="queued", affected=0
        ),
        source="/threadline/engine",
        time=datetime(2026, 3, 2, 10, tzinfo=UTC),
        **extensions,
    )
    EventStore(engine).append([event], producer="engine")


def test_the_trace_id_comes_from_the_ecos_events(engine: sa.Engine) -> None:
    stored(engine, "ECO-2026-00001", traceparent="not a traceparent")
    stored(engine, "ECO-2026-00001", traceparent=f"00-{TRACE}-b7ad6b7169203331-01")
    stored(engine, "ECO-2026-00002")
    assert eco_trace_id(engine, "ECO-2026-00001") == TRACE
    assert eco_trace_id(engine, "ECO-2026-00002") is None
    assert eco_trace_id(engine, "ECO-2026-09999") is None


def test_the_link_fills_the_template() -> None:
    template = "http://tempo:3200/trace/{trace_id}?view=full"
    assert trace_url(template, TRACE) == f"http://tempo:3200/trace/{TRACE}?view=full"
    assert trace_url(None, TRACE) is None
    assert trace_url("http://jaeger:16686/search", TRACE) is None
