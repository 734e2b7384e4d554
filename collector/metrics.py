"""The collector's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

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
