"""The collector's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclass
class Metrics:
    """Counters and histograms ``GET /metrics`` exposes."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.accepted = Counter(
            "collector_events_accepted",
            "Events stored for the first time.",
            ["producer"],
            registry=r,
        )
        self.duplicates = Counter(
            "collector_events_duplicates",
            "Events received again and ignored (already stored).",
            ["producer"],
            registry=r,
        )
        self.rejected = Counter(
            "collector_requests_rejected",
            "Requests refused, by reason (the problem code).",
            ["reason"],
            registry=r,
        )
        self.latency = Histogram(
            "collector_request_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.batch_size = Histogram(
            "collector_request_events",
            "Events per accepted POST /events request.",
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.commit_size = Histogram(
            "collector_commit_events",
            "Events per database transaction (group commit joins concurrent requests).",
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.commit_requests = Histogram(
            "collector_commit_requests",
            "Requests sharing one database transaction.",
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.forwarded = Counter(
            "collector_forwarder_published",
            "Events the NATS forwarder published and JetStream acknowledged.",
            registry=r,
        )
        self.forwarder_errors = Counter(
            "collector_forwarder_errors",
            "Forwarding passes that failed, by reason (NATS or the database unavailable).",
            ["reason"],
            registry=r,
        )
        self.forwarder_lag_events = Gauge(
            "collector_forwarder_lag_events",
            "Stored events not yet acknowledged by the JetStream stream.",
            registry=r,
        )
        self.forwarder_lag_seconds = Gauge(
            "collector_forwarder_lag_seconds",
            "How long the oldest event not yet forwarded has been stored (0: none waits).",
            registry=r,
        )
        self.forwarder_connected = Gauge(
            "collector_forwarder_connected",
            "1 while this collector is connected to NATS and forwarding.",
            registry=r,
        )
