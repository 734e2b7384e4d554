"""Property-based fuzzing of POST /events: no input yields a 500 or a partial write."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.samples import propagation_events
from tests.collector.conftest import ENGINE_TOKEN, TESTS_TOKEN, Collector
from threadline.db import create_engine

CONTENT_TYPES = [
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
    "application/cloudevents+json; charset=UTF-16",
    "application/cloudevents+avro",
    "application/json",
    "application/json; charset=utf-8",
    "text/plain; charset=us-ascii",
    "text/plain; charset=bogus",
    "application/xml",
    "application/octet-stream",
    "",
]
ATTRIBUTES = [
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
    "data_base64",
    "correlationid",
    "sequence",
    "traceparent",
    "Ext",
    "ext1",
]
SAMPLES = propagation_events(blocked_plant="P100")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_event(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        base = dict(draw(st.sampled_from(SAMPLES)))
        base["data"] = dict(base["data"])
        if draw(st.booleans()):
            key = draw(st.sampled_from(sorted(base["data"])))
            base["data"][key] = draw(json_values)
    else:
        base = {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": f"/tests/fuzz/{uuid.uuid4().hex}",
            "type": "com.example.fuzz.v1",
            "data": draw(json_values),
        }
    base["id"] = uuid.uuid4().hex
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(ATTRIBUTES))
        if draw(st.booleans()):
            base.pop(name, None)
        else:
            base[name] = draw(json_values | st.text(max_size=40))
    return base


# Valid HTTP field values (VCHAR, space, obs-text): malformed HTTP never reaches the app.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
).map(str.strip)


@st.composite
def request(draw: st.DrawFn) -> tuple[str, dict[str, bytes], bytes, str]:
    content_type = draw(st.sampled_from(CONTENT_TYPES) | header_text)
    headers = {
        f"ce-{name}": value.encode("latin-1")
        for name, value in draw(
            st.dictionaries(st.sampled_from(ATTRIBUTES).map(str.lower), header_text, max_size=5)
        ).items()
    }
    shape = draw(st.sampled_from(["event", "batch", "bytes", "json"]))
    if shape == "event":
        body = json.dumps(draw(mutated_event())).encode()
    elif shape == "batch":
        body = json.dumps(draw(st.lists(mutated_event(), max_size=4))).encode()
    elif shape == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        body = json.dumps(draw(json_values)).encode()
    token = draw(st.sampled_from([TESTS_TOKEN, ENGINE_TOKEN, "nope"]))
    return content_type, headers, body, token


def count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request())
def test_no_input_yields_a_500_or_a_partial_write(
    sqlite_collector: Collector, drawn: tuple[str, dict[str, bytes], bytes, str]
) -> None:
    content_type, headers, body, token = drawn
    before = count(sqlite_collector.database_url)
    response = sqlite_collector.client.post(
        "/events",
        content=body,
        headers={
            **headers,
            "content-type": content_type.encode("latin-1"),
            "authorization": f"Bearer {token}",
        },
    )
    assert response.status_code in (202, 400, 401, 403, 413, 415, 422), response.text
    after = count(sqlite_collector.database_url)
    if response.status_code == 202:
        assert after - before == response.json()["accepted"]
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert after == before
