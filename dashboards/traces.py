"""The trace of an ECO: the W3C trace id its CloudEvents carry (``traceparent``)."""

from __future__ import annotations

import sqlalchemy as sa

from collector.tables import events
from threadline.tracing import trace_id


def eco_trace_id(engine: sa.Engine, correlationid: str) -> str | None:
    """The trace id of the correlation's first stored event that names one, else ``None``.

    Every event of an ECO carries its one trace (rooted where the engine received it).
    """
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.traceparent)
            .where(events.c.correlationid == correlationid)
            .where(events.c.traceparent.is_not(None))
            .order_by(events.c.seq)
            .limit(20)
        ).scalars()
        for value in rows:
            found = trace_id(value)
            if found is not None:
                return found
    return None


def trace_url(template: str | None, trace: str) -> str | None:
    """The trace's address from a template naming ``{trace_id}`` (``None`` without one)."""
    if not template or "{trace_id}" not in template:
        return None
    return template.replace("{trace_id}", trace)
