"""The NATS JetStream forwarder against the local NATS server and a real collector.

Every test gets a stream and subjects of its own and deletes the stream afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from collector import forwarding
from collector.app import create_engine_for_collector
from collector.forwarder import ForwarderConfig
from collector.store import event_row
from collector.tables import events
from collector.testing import running_collector
from contracts.subjects import subject_of
from tests.collector.conftest import ENGINE_TOKEN, TESTS_TOKEN, TOKENS, new_source
from tests.collector.jetstream import (
    TcpProxy,
    engine_events,
    external_event,
    first_occurrences,
    forwarded_all,
    metric,
    post,
    stored_ids,
    subscribe_all,
    wait_for,
)
from threadline.db import capabilities

BATCH = "application/cloudevents-batch+json"


def test_subjects_follow_the_type() -> None:
    assert subject_of("io.threadline.eco.received.v1") == "threadline.eco.received"
    assert (
        subject_of("io.threadline.step.awaiting_confirmation.v2", "plm")
        == "plm.step.awaiting_confirmation"
    )
    assert subject_of("com.example.widget.made") == "threadline.external.com_example_widget_made"
    assert subject_of("io.threadline.odd") == "threadline.external.io_threadline_odd"


def test_cursor_never_moves_back_and_lag_counts_what_waits(database_url: str) -> None:
    engine = create_engine_for_collector(database_url)
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            assert forwarding.load_cursor(connection, "S") == 0
            forwarding.save_cursor(connection, "S", 40, now)
            forwarding.save_cursor(connection, "S", 25, now)
            forwarding.save_cursor(connection, "OTHER", 7, now)
        with engine.connect() as connection:
            assert forwarding.load_cursor(connection, "S") == 40
            assert forwarding.load_cursor(connection, "OTHER") == 7
            assert forwarding.lag(connection, 0) == forwarding.Lag(0, None)
            assert forwarding.settled_head(connection, capabilities(engine)) == 0
    finally:
        engine.dispose()


def test_every_stored_event_reaches_the_stream_in_store_order(
    database_url: str, nats_target: Callable[..., ForwarderConfig]
) -> None:
    config = nats_target()
    source = new_source()
    with running_collector(database_url, TOKENS, forward_to=config) as base:
        events = engine_events(6)
        for start in range(0, len(events), 25):
            post(base, events[start : start + 25], ENGINE_TOKEN)
        post(base, [external_event(source, n) for n in range(3)], TESTS_TOKEN)
        post(base, events[:10], ENGINE_TOKEN)  # repeats: stored once, forwarded once
        stored = stored_ids(database_url)
        wait_for("every event forwarded", lambda: forwarded_all(base, len(stored)))
        assert metric(base, "collector_forwarder_published_total") == len(stored)
        assert metric(base, "collector_forwarder_connected") == 1
    received = subscribe_all(config)
    assert [(m.event["source"], m.event["id"]) for m in received] == stored
    first = received[0]
    assert first.subject == f"{config.subject_prefix}.eco.received"
    assert first.event["specversion"] == "1.0"
    assert first.event["type"] == "io.threadline.eco.received.v1"
    assert first.headers["Nats-Msg-Id"] == f"{first.event['source']}#{first.event['id']}"
    assert first.headers["Content-Type"].startswith("application/cloudevents+json")
    external = [m for m in received if m.event["source"] == source]
    assert {m.subject for m in external} == {
        f"{config.subject_prefix}.external.com_example_widget_made"
    }
    assert [m.event["data"] for m in external] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_nats_down_leaves_ingest_alone_and_the_forwarder_catches_up(
    database_url: str, nats_target: Callable[..., ForwarderConfig]
) -> None:
    proxy = TcpProxy()
    proxy.start()
    config = nats_target(proxy.url, max_backoff=0.5, timeout=1.0)
    events = engine_events(8)
    half = len(events) // 2
    with running_collector(database_url, TOKENS, forward_to=config) as base:
        post(base, events[:half], ENGINE_TOKEN)
        wait_for(
            "the first half forwarded", lambda: forwarded_all(base, len(stored_ids(database_url)))
        )
        proxy.stop()
        answered = [
            post(base, events[start : start + 10], ENGINE_TOKEN)
            for start in range(half, len(events), 10)
        ]
        # Ingest does not wait for NATS: every batch is answered as fast as before.
        assert max(answered) < 2.0, answered
        waiting = len(events) - half
        wait_for(
            "the lag to count every event stored while NATS was away",
            lambda: metric(base, "collector_forwarder_lag_events") == waiting,
        )
        first_age = metric(base, "collector_forwarder_lag_seconds")
        time.sleep(1.2)
        assert metric(base, "collector_forwarder_lag_seconds") > first_age
        assert metric(base, "collector_forwarder_connected") == 0
        assert metric(base, 'collector_forwarder_errors_total{reason="nats_unavailable"}') >= 1
        proxy.start()
        total = len(stored_ids(database_url))
        wait_for("the catch-up", lambda: forwarded_all(base, total))
        assert metric(base, "collector_forwarder_lag_seconds") == 0
    proxy.stop()
    received = subscribe_all(config)
    assert first_occurrences(received) == stored_ids(database_url)


def test_several_collectors_forward_through_one(
    database_url: str, nats_target: Callable[..., ForwarderConfig]
) -> None:
    if capabilities(database_url).single_writer:
        pytest.skip("SQLite runs one collector writer")
    config = nats_target()
    events = engine_events(6)
    with (
        running_collector(database_url, TOKENS, forward_to=config) as one,
        running_collector(database_url, TOKENS, forward_to=config) as two,
    ):
        for n, start in enumerate(range(0, len(events), 10)):
            post(one if n % 2 else two, events[start : start + 10], ENGINE_TOKEN)
        stored = stored_ids(database_url)

        def published() -> list[float]:
            return [metric(b, "collector_forwarder_published_total") for b in (one, two)]

        wait_for("every event forwarded", lambda: sum(published()) >= len(stored))
        wait_for(
            "both collectors to report no lag",
            lambda: all(metric(b, "collector_forwarder_lag_events") == 0 for b in (one, two)),
        )
        counts = published()
    assert sorted(counts) == [0, len(stored)]
    assert [(m.event["source"], m.event["id"]) for m in subscribe_all(config)] == stored


def test_the_settled_head_waits_for_a_writer_still_committing(database_url: str) -> None:
    if capabilities(database_url).single_writer:
        pytest.skip("SQLite commits in seq order: every visible event is settled")
    engine = create_engine_for_collector(database_url)
    source = new_source()
    try:
        with engine.connect() as reader, engine.connect() as slow:
            slow_tx = slow.begin()
            now = datetime.now(UTC)
            slow.execute(sa.insert(events), [event_row(external_event(source, 1), "tests", now)])
            with engine.begin() as fast:
                fast.execute(
                    sa.insert(events), [event_row(external_event(source, 2), "tests", now)]
                )
            started = time.monotonic()
            assert forwarding.settled_head(reader, capabilities(engine)) is None
            assert time.monotonic() - started >= forwarding.SETTLE_TIMEOUT_SECONDS
            reader.rollback()
            slow_tx.commit()
            head = forwarding.settled_head(reader, capabilities(engine))
            assert head is not None
            assert [item.event["id"] for item in forwarding.events_after(reader, 0, head, 10)] == [
                "ext-1",
                "ext-2",
            ]
    finally:
        engine.dispose()


def test_first_seq_since_a_time(database_url: str) -> None:
    engine = create_engine_for_collector(database_url)
    source = new_source()
    early = datetime(2026, 12, 1, 8, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for n, at in enumerate((early, early + timedelta(hours=1))):
                row = event_row(external_event(source, n), "tests", at)
                connection.execute(sa.insert(events), [row])
        with engine.connect() as connection:
            stored = forwarding.events_after(connection, 0, 10**9, 10)
            assert forwarding.first_seq_since(connection, early) == stored[0].seq
            assert forwarding.first_seq_since(connection, early + timedelta(minutes=1)) == (
                stored[1].seq
            )
            assert forwarding.first_seq_since(connection, early + timedelta(hours=2)) is None
    finally:
        engine.dispose()
