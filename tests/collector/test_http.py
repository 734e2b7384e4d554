from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from collector.samples import propagation_events
from collector.testing import running_collector
from contracts.events import CATALOG
from tests.collector.conftest import (
    ENGINE_TOKEN,
    TESTS_TOKEN,
    TOKENS,
    Collector,
    new_source,
)
from threadline.db import create_engine

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def event(source: str, **attributes: Any) -> dict[str, Any]:
    base = {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": source,
        "type": "com.example.thing.v1",
        "time": "2026-03-02T09:30:00Z",
    }
    base.update(attributes)
    return {k: v for k, v in base.items()}


def binary_headers(source: str, **extra: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": uuid.uuid4().hex,
        "ce-source": source,
        "ce-type": "com.example.thing.v1",
        **extra,
    }


def stored_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


# Content modes: the CloudEvents HTTP conformance cases.


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/plain; charset=us-ascii", b"hello, world", "hello, world"),
        ("text/plain; charset=utf-8", "Grüße, 世界".encode(), "Grüße, 世界"),
        ("application/json", b'"a JSON string"', "a JSON string"),
        ("application/json", b'{"answer": 42, "nested": {"ok": true}}', None),
        ("application/json", b"[1, 2, 3]", [1, 2, 3]),
        ("application/xml", b"<order id='1'>caf\xc3\xa9</order>", "<order id='1'>café</order>"),
    ],
)
def test_binary_mode_stores_the_body_as_its_content_type_says(
    sqlite_collector: Collector, content_type: str, body: bytes, expected: Any
) -> None:
    source = new_source()
    response = sqlite_collector.post(body, content_type, **binary_headers(source))
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0}
    (stored,) = sqlite_collector.events(source=source)
    assert stored["datacontenttype"] == content_type
    assert stored["data"] == (expected if expected is not None else json.loads(body))
    assert "time" not in stored


def test_binary_mode_with_opaque_bytes_keeps_them_as_base64(sqlite_collector: Collector) -> None:
    source = new_source()
    payload = bytes(range(256))
    response = sqlite_collector.post(payload, "application/octet-stream", **binary_headers(source))
    assert response.status_code == 202, response.text
    (stored,) = sqlite_collector.events(source=source)
    assert base64.b64decode(stored["data_base64"]) == payload


@pytest.mark.parametrize("content_type", [STRUCTURED, f"{STRUCTURED}; charset=utf-8"])
def test_structured_mode_with_and_without_charset(
    sqlite_collector: Collector, content_type: str
) -> None:
    source = new_source()
    sent = event(source, subject="widget-7", data={"size": 3}, traceparent="00-abc-def-01")
    response = sqlite_collector.post(sent, content_type)
    assert response.status_code == 202, response.text
    (stored,) = sqlite_collector.events(source=source)
    assert stored == {**sent, "time": "2026-03-02T09:30:00Z"}


def test_structured_data_base64_is_kept(sqlite_collector: Collector) -> None:
    source = new_source()
    sent = event(source, datacontenttype="image/png", data_base64="iVBORw0KGgo=")
    assert sqlite_collector.post(sent, STRUCTURED).status_code == 202
    (stored,) = sqlite_collector.events(source=source)
    assert stored["data_base64"] == "iVBORw0KGgo="
    assert "data" not in stored


def test_a_batch_is_stored_whole_and_an_empty_batch_is_accepted(
    sqlite_collector: Collector,
) -> None:
    source = new_source()
    batch = [event(source, data={"n": n}) for n in range(5)]
    response = sqlite_collector.post(batch, BATCH)
    assert response.status_code == 202
    assert response.json() == {"accepted": 5, "duplicates": 0}
    assert [e["data"]["n"] for e in sqlite_collector.events(source=source)] == list(range(5))
    empty = sqlite_collector.post(b"[]", BATCH)
    assert (empty.status_code, empty.json()) == (202, {"accepted": 0, "duplicates": 0})


def test_a_batch_with_one_bad_event_stores_nothing_and_names_its_index(
    sqlite_collector: Collector,
) -> None:
    source = new_source()
    batch = [event(source), event(source, id=""), event(source), event(source, time="yesterday")]
    response = sqlite_collector.post(batch, BATCH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "INVALID_EVENT"
    assert {(e["index"], e["field"]) for e in problem["errors"]} == {(1, "id"), (3, "time")}
    assert sqlite_collector.events(source=source) == []


def test_percent_encoded_header_values_are_decoded(sqlite_collector: Collector) -> None:
    source = new_source()
    headers = binary_headers(source, **{"ce-subject": "caf%C3%A9%20%22au%20lait%22"})
    response = sqlite_collector.post(b"{}", "application/json", **headers)
    assert response.status_code == 202, response.text
    assert sqlite_collector.events(source=source)[0]["subject"] == 'café "au lait"'


def test_the_webhook_validation_handshake(sqlite_collector: Collector) -> None:
    response = sqlite_collector.client.options(
        "/events", headers={"WebHook-Request-Origin": "erp.example.com"}
    )
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "erp.example.com"
    assert response.headers["WebHook-Allowed-Rate"]


def test_the_catalog_lists_every_type_with_its_schema(sqlite_collector: Collector) -> None:
    types = sqlite_collector.client.get("/catalog").json()["types"]
    assert {t["type"] for t in types} == set(CATALOG)
    assert all(t["schema"]["$id"] == t["dataschema"] for t in types)


def test_health_readiness_and_metrics(sqlite_collector: Collector) -> None:
    assert sqlite_collector.client.get("/healthz").json() == {"status": "ok"}
    assert sqlite_collector.client.get("/readyz").status_code == 200
    sqlite_collector.post(event(new_source()), STRUCTURED)
    sqlite_collector.post(b"{", STRUCTURED)
    metrics = sqlite_collector.client.get("/metrics").text
    assert 'collector_events_accepted_total{producer="tests"}' in metrics
    assert 'collector_requests_rejected_total{reason="UNPARSABLE"}' in metrics
    assert "collector_request_seconds_bucket" in metrics
    assert "collector_commit_events_bucket" in metrics
    summary = sqlite_collector.client.get("/summary").json()
    assert set(summary) == {
        "ecos_received",
        "production_ready",
        "awaiting_confirmation",
        "blocked_plants",
        "failed_notices",
    }


# The cloudevents SDK's gaps, each shown and guarded.


def test_gap_missing_id_and_specversion_are_refused_not_invented(
    sqlite_collector: Collector,
) -> None:
    invented = CloudEvent({"type": "com.example.thing.v1", "source": "/x"})
    assert invented.get_id() and invented.get_specversion() == "1.0" and invented.get_time()
    source = new_source()
    sent = event(source)
    del sent["id"], sent["specversion"]
    response = sqlite_collector.post(sent, STRUCTURED)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "specversion"}
    headers = binary_headers(source)
    del headers["ce-id"]
    response = sqlite_collector.post(b"{}", "application/json", **headers)
    assert [e["field"] for e in response.json()["errors"]] == ["id"]
    assert sqlite_collector.events(source=source) == []


def test_gap_a_missing_time_stays_missing(sqlite_collector: Collector) -> None:
    source = new_source()
    sent = event(source)
    del sent["time"]
    assert sqlite_collector.post(sent, STRUCTURED).status_code == 202
    assert "time" not in sqlite_collector.events(source=source)[0]


def test_gap_the_mode_comes_from_content_type_not_from_stray_ce_headers(
    sqlite_collector: Collector,
) -> None:
    source = new_source()
    sent = event(source, data={"from": "body"})
    stray = {"ce-id": "header-id", "ce-source": "/tests/header", "ce-type": "com.example.h"}
    sdk = from_http(
        HTTPMessage({"content-type": STRUCTURED, **stray, "ce-specversion": "1.0"}, b"{}"),
        JSONFormat(),
    )
    assert sdk.get_id() == "header-id"  # the SDK took the stray headers for binary mode
    response = sqlite_collector.post(sent, STRUCTURED, **stray)
    assert response.status_code == 202, response.text
    (stored,) = sqlite_collector.events(source=source)
    assert stored["id"] == sent["id"] and stored["data"] == {"from": "body"}


def test_gap_quoted_header_values_are_unescaped(sqlite_collector: Collector) -> None:
    source = new_source()
    headers = binary_headers(source, **{"ce-subject": '"say \\"hi\\" %C3%A9"'})
    response = sqlite_collector.post(b"{}", "application/json", **headers)
    assert response.status_code == 202, response.text
    assert sqlite_collector.events(source=source)[0]["subject"] == 'say "hi" é'


def test_gap_invalid_percent_encoded_utf8_is_refused_not_replaced(
    sqlite_collector: Collector,
) -> None:
    from urllib.parse import unquote

    assert unquote("%FF") == "\ufffd"  # what the SDK's header decoding does
    source = new_source()
    for bad in ("%FFabc", "100%", "%C3"):
        headers = binary_headers(source, **{"ce-subject": bad})
        response = sqlite_collector.post(b"{}", "application/json", **headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "ce-subject"
    assert sqlite_collector.events(source=source) == []


def test_gap_null_subject_means_unset(sqlite_collector: Collector) -> None:
    with pytest.raises(CloudEventValidationError):
        CloudEvent({"type": "t", "source": "/s", "id": "1", "specversion": "1.0", "subject": None})
    source = new_source()
    response = sqlite_collector.post(event(source, subject=None, data=None), STRUCTURED)
    assert response.status_code == 202, response.text
    (stored,) = sqlite_collector.events(source=source)
    assert "subject" not in stored and "data" not in stored


def test_gap_media_types_match_case_insensitively(sqlite_collector: Collector) -> None:
    assert not JSONFormat.JSON_CONTENT_TYPE_PATTERN.match("Application/JSON")
    source = new_source()
    response = sqlite_collector.post(event(source), "Application/CloudEvents+JSON")
    assert response.status_code == 202, response.text
    response = sqlite_collector.post(b'{"a": 1}', "Application/JSON", **binary_headers(source))
    assert response.status_code == 202, response.text
    assert sqlite_collector.events(source=source)[1]["data"] == {"a": 1}


# Validation.


def test_catalog_data_is_validated_naming_every_field(sqlite_collector: Collector) -> None:
    sent = propagation_events()[1]
    sent["data"] = {**sent["data"], "attempt": -1, "to_state": "exploded"}
    del sent["data"]["step_id"]
    response = sqlite_collector.post(sent, STRUCTURED, token=ENGINE_TOKEN)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"data.attempt", "data.to_state", "data.step_id"} <= fields


def test_unknown_types_need_permission(sqlite_collector: Collector) -> None:
    response = sqlite_collector.post(
        event("/threadline/engine", type="com.example.thing.v1"), STRUCTURED, token=ENGINE_TOKEN
    )
    assert (response.status_code, response.json()["code"]) == (422, "UNKNOWN_TYPE")


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"source": "not a uri"}, "source"),
        ({"dataschema": "relative/path"}, "dataschema"),
        ({"time": "2026-03-02"}, "time"),
        ({"time": "2026-13-02T00:00:00Z"}, "time"),
        ({"Upper": "x"}, "Upper"),
        ({"ext": {"nested": 1}}, "ext"),
        ({"ext": 2**40}, "ext"),
        ({"type": ""}, "type"),
        ({"type": [], "data": []}, "type"),
        ({"specversion": "0.3"}, "specversion"),
        ({"subject": "x" * 600}, "subject"),
        ({"data": "a\u0000b"}, "data"),
        ({"data": 1, "data_base64": "AA=="}, "data_base64"),
        ({"data_base64": "not base64!"}, "data_base64"),
    ],
)
def test_invalid_attributes_are_named(
    sqlite_collector: Collector, attributes: dict[str, Any], field: str
) -> None:
    source = new_source()
    attrs = {"source": source, **attributes}
    if attrs["source"] == "not a uri":
        attrs["source"] = f"{source}/not a uri"
    response = sqlite_collector.post(event(**attrs), STRUCTURED)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        (STRUCTURED, b"{not json", 400),
        (STRUCTURED, b"[]", 400),
        (BATCH, b"{}", 400),
        ("application/cloudevents+xml", b"<event/>", 415),
        (f"{STRUCTURED}; charset=latin-1", b"{}", 415),
        ("no media type", b"{}", 415),
    ],
)
def test_unparsable_and_unsupported_requests(
    sqlite_collector: Collector, content_type: str, body: bytes, status: int
) -> None:
    response = sqlite_collector.post(body, content_type)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status


# Producers and abuse.


def test_tokens_are_required_and_checked(sqlite_collector: Collector, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sent = event(new_source())
    missing = sqlite_collector.client.post(
        "/events", json=sent, headers={"content-type": STRUCTURED}
    )
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = sqlite_collector.post(sent, STRUCTURED, token="guess-" + TESTS_TOKEN)
    assert wrong.status_code == 401
    assert TESTS_TOKEN not in caplog.text and "guess-" not in caplog.text
    reading = sqlite_collector.client.get("/events")
    assert reading.status_code == 401


def test_a_producer_may_not_post_under_another_source(sqlite_collector: Collector) -> None:
    batch = [event(new_source()), event("/threadline/engine"), event("/elsewhere")]
    response = sqlite_collector.post(batch, BATCH)
    assert response.status_code == 403
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (1, "source"),
        (2, "source"),
    ]


def test_requests_over_the_size_limit_are_refused(sqlite_collector: Collector) -> None:
    source = new_source()
    big = [event(source, data="x" * 60_000) for _ in range(20)]
    response = sqlite_collector.post(big, BATCH)
    assert response.status_code == 413
    assert sqlite_collector.events(source=source) == []

    def chunks():
        yield b"["
        for i in range(40):
            yield (b"," if i else b"") + json.dumps(event(source, data="y" * 40_000)).encode()
        yield b"]"

    streamed = sqlite_collector.client.post(
        "/events",
        content=chunks(),
        headers={"content-type": BATCH, "authorization": f"Bearer {TESTS_TOKEN}"},
    )
    assert streamed.status_code == 413


def test_a_64_kib_event_is_accepted_even_under_a_smaller_limit(sqlite_url: str) -> None:
    source = new_source()
    sent = event(source, data="z" * (64 * 1024 - 400))
    with running_collector(sqlite_url, TOKENS, max_request_bytes=16 * 1024) as base:
        body = json.dumps(sent).encode()
        assert len(body) <= 64 * 1024
        headers = {"content-type": STRUCTURED, "authorization": f"Bearer {TESTS_TOKEN}"}
        assert httpx.post(f"{base}/events", content=body, headers=headers).status_code == 202
        twice = json.dumps([sent, sent]).encode()
        headers["content-type"] = BATCH
        assert httpx.post(f"{base}/events", content=twice, headers=headers).status_code == 413


def test_a_full_ingest_queue_answers_429_with_retry_after(sqlite_url: str) -> None:
    # Holding SQLite's write lock stalls the writer: one request is being stored, one
    # waits in the queue (its capacity), and the next one finds the queue full.
    blocker = create_engine(sqlite_url)
    source = new_source()
    results: list[int] = []
    headers = {"content-type": STRUCTURED, "authorization": f"Bearer {TESTS_TOKEN}"}
    with running_collector(sqlite_url, TOKENS, max_pending_requests=1) as base:

        def post() -> None:
            body = json.dumps(event(source)).encode()
            results.append(httpx.post(f"{base}/events", content=body, headers=headers).status_code)

        threads = [threading.Thread(target=post) for _ in range(2)]
        with blocker.begin() as connection:
            connection.execute(sa.text("SELECT 1"))
            for thread in threads:
                thread.start()
                time.sleep(0.5)
            body = json.dumps(event(source))
            rejected = httpx.post(f"{base}/events", content=body, headers=headers)
        for thread in threads:
            thread.join()
    blocker.dispose()
    assert rejected.status_code == 429
    assert rejected.headers["Retry-After"] == "1"
    assert rejected.json()["code"] == "INGEST_QUEUE_FULL"
    assert sorted(results) == [202, 202]
    assert stored_count(sqlite_url) == 2


# Storage through HTTP, on both databases.


def test_resending_the_same_events_is_exactly_once(collector: Collector) -> None:
    stream = propagation_events()
    first = collector.post(stream, BATCH, token=ENGINE_TOKEN)
    assert first.json() == {"accepted": len(stream), "duplicates": 0}
    again = collector.post(stream[:30] + stream[:5], BATCH, token=ENGINE_TOKEN)
    assert again.json() == {"accepted": 0, "duplicates": 35}
    assert stored_count(collector.database_url) == len(stream)
    stored = collector.events(token=ENGINE_TOKEN, correlationid="ECO-2026-00042")
    assert [e["id"] for e in stored] == [e["id"] for e in stream]


def test_many_concurrent_clients_lose_and_duplicate_nothing(collector: Collector) -> None:
    source = new_source()
    pool = [event(source, data={"n": n}) for n in range(400)]
    clients = 12
    per_client = 30
    totals = {"accepted": 0, "duplicates": 0, "sent": 0}
    sent_ids: set[str] = set()
    lock = threading.Lock()
    errors: list[str] = []

    def run(seed: int) -> None:
        import random

        rng = random.Random(seed)
        with httpx.Client(base_url=collector.url, timeout=60) as client:
            for _ in range(per_client):
                size = rng.choice([1, 1, 1, 5, 20])
                chosen = rng.sample(pool, size)
                single = size == 1 and rng.random() < 0.5
                body = json.dumps(chosen[0] if single else chosen)
                response = client.post(
                    "/events",
                    content=body,
                    headers={
                        "content-type": STRUCTURED if single else BATCH,
                        "authorization": f"Bearer {TESTS_TOKEN}",
                    },
                )
                if response.status_code != 202:
                    errors.append(response.text)
                    continue
                with lock:
                    totals["accepted"] += response.json()["accepted"]
                    totals["duplicates"] += response.json()["duplicates"]
                    totals["sent"] += size
                    sent_ids.update(e["id"] for e in chosen[: 1 if single else size])

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = collector.events(source=source)
    assert len(stored) == len({e["id"] for e in stored}) == totals["accepted"]
    assert totals["accepted"] + totals["duplicates"] == totals["sent"]
    assert {e["id"] for e in stored} == sent_ids


def test_get_events_filters_by_time_and_pages(sqlite_collector: Collector) -> None:
    source = new_source()
    batch = [event(source, time=f"2026-03-02T09:30:0{n}Z", data={"n": n}) for n in range(6)]
    assert sqlite_collector.post(batch, BATCH).status_code == 202
    window = sqlite_collector.events(
        source=source, since="2026-03-02T09:30:02Z", until="2026-03-02T09:30:05Z"
    )
    assert [e["data"]["n"] for e in window] == [2, 3, 4]
    headers = {"authorization": f"Bearer {TESTS_TOKEN}"}
    first = sqlite_collector.client.get(
        "/events", params={"source": source, "limit": 4}, headers=headers
    ).json()
    rest = sqlite_collector.client.get(
        "/events", params={"source": source, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [e["data"]["n"] for e in first["events"] + rest["events"]] == list(range(6))
    assert rest["next_cursor"] is None
    for params in ({"cursor": "nonsense"}, {"since": "yesterday"}, {"limit": "0"}):
        response = sqlite_collector.client.get("/events", params=params, headers=headers)
        assert response.status_code == 400, params
        assert response.headers["content-type"] == "application/problem+json"


def test_a_rejected_eco_number_too_long_for_its_column_is_refused(
    sqlite_collector: Collector,
) -> None:
    data = {"eco": "E" * 300, "violations": [{"path": "plants", "message": "empty"}]}
    sent = event("/threadline/engine", type="io.threadline.eco.rejected.v1", data=data)
    response = sqlite_collector.post(sent, STRUCTURED, token=ENGINE_TOKEN)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["data.eco"]
