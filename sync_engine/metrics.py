"""Prometheus metrics of one engine, in their own registry (several engines may share a
process in tests), served as text at ``/metrics`` on a small port."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)


class Metrics:
    """Steps by state, call latency per system, outbox lag, retries."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.steps = Gauge(
            "threadline_engine_steps",
            "Steps by state (whole database)",
            ["state"],
            registry=self.registry,
        )
        self.calls = Counter(
            "threadline_engine_calls",
            "Calls to systems by outcome",
            ["system", "outcome"],
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "threadline_engine_call_seconds",
            "Latency of calls to systems",
            ["system"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.retries = Counter(
            "threadline_engine_retries",
            "Transient failures scheduled for retry",
            ["system"],
            registry=self.registry,
        )
        self.transitions = Counter(
            "threadline_engine_step_results",
            "Step results recorded",
            ["state"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "threadline_engine_outbox_backlog",
            "Events not yet acknowledged by the collector",
            registry=self.registry,
        )
        self.relayed = Counter(
            "threadline_engine_events_relayed",
            "Events the collector acknowledged",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "threadline_engine_in_flight", "Calls in flight", ["system"], registry=self.registry
        )
        self._server: Any = None

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Serve ``/metrics`` on ``port`` in a background thread."""
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def text(self) -> str:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry).decode()
