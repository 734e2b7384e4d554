"""W3C trace context for every service: one trace per ECO propagation.

The engine starts an ECO's trace where it receives the ECO (:func:`start_trace`) and keeps
the root's ``traceparent`` with the ECO, so every later span of the ECO (a step attempt, a
confirmation poll) is parented on it (:func:`span`), whatever tick or process runs it.
While such a span is current, :func:`outgoing_headers` gives the ``traceparent`` and
``X-Correlation-ID`` (the ECO number) every call to PLM, ERP, MES and procurement carries.

Spans are recorded by the OpenTelemetry SDK and exported over OTLP/HTTP only when an
endpoint is configured (the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``); without one a span
costs a few microseconds and goes nowhere. The SDK's provider is installed on first use
when :func:`configure` was not called, so trace ids are real in tests and tools too.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CORRELATION_HEADER = "X-Correlation-ID"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

_propagator = TraceContextTextMapPropagator()
_correlation: ContextVar[str | None] = ContextVar("threadline_correlation", default=None)
_tracer: trace.Tracer | None = None


def configure(service: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """Install the process's tracer provider for ``service``; export to ``otlp_endpoint``
    (the OTLP/HTTP base URL, ``/v1/traces`` appended) when given, nowhere otherwise."""
    global _tracer
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("threadline")
    return provider


def provider() -> TracerProvider:
    """The SDK provider spans go to (installed now, exporting nowhere, if none was)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    return configure("threadline")


def _get_tracer() -> trace.Tracer:
    if _tracer is None:
        provider()
    assert _tracer is not None
    return _tracer


def format_traceparent(context: trace.SpanContext) -> str:
    """The W3C ``traceparent`` header value of a span context."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def trace_id(traceparent: str | None) -> str | None:
    """The 32-hex-digit trace id a ``traceparent`` names, or ``None`` if it is not one."""
    match = TRACEPARENT.match(traceparent or "")
    return match.group(1) if match else None


def start_trace(name: str, eco: str | None = None, **attributes: Any) -> str:
    """Record the root span of a new trace (of ``eco``) and return its ``traceparent``."""
    root = _get_tracer().start_span(
        name, context=otel_context.Context(), attributes=_attributes(eco=eco, **attributes)
    )
    root.end()
    return format_traceparent(root.get_span_context())


def _attributes(**values: Any) -> dict[str, Any]:
    return {f"threadline.{k}": v for k, v in values.items() if v is not None}


@contextlib.contextmanager
def span(
    name: str, parent: str | None = None, *, eco: str | None = None, **attributes: Any
) -> Iterator[trace.Span]:
    """A span, current for the block, parented on the ``traceparent`` ``parent`` (the
    current span when ``None``); ``eco`` is also the correlation id of the calls made in it."""
    context = _propagator.extract({"traceparent": parent}) if parent else None
    tracer = _get_tracer()
    token = _correlation.set(eco) if eco is not None else None
    try:
        with tracer.start_as_current_span(
            name, context=context, attributes=_attributes(eco=eco, **attributes)
        ) as current:
            yield current
    finally:
        if token is not None:
            _correlation.reset(token)


def current_traceparent() -> str | None:
    """The current span's ``traceparent``, if a span is current."""
    context = trace.get_current_span().get_span_context()
    return format_traceparent(context) if context.is_valid else None


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), if a span is current."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def outgoing_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with the current ``traceparent`` and correlation id added."""
    _propagator.inject(headers)
    correlation = _correlation.get()
    if correlation is not None:
        headers[CORRELATION_HEADER] = correlation
    return headers
