"""Trace context helpers, and spans exported over OTLP/HTTP only when an endpoint is set."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from threadline import tracing

EXPORT = """
import sys
from threadline import tracing
provider = tracing.configure("threadline-test", sys.argv[1] if len(sys.argv) > 1 else None)
print(tracing.start_trace("eco.received", "ECO-2026-00001"))
provider.force_flush()
provider.shutdown()
"""


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, int]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.received.append((self.path, self.headers.get("Content-Type", ""), len(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def otlp() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", EXPORT, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_set(otlp: str) -> None:
    traceparent = run(otlp)
    assert tracing.trace_id(traceparent) is not None
    assert [(path, kind) for path, kind, _ in Receiver.received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    assert Receiver.received[0][2] > 0


def test_without_an_endpoint_nothing_is_sent_and_trace_ids_are_still_real(otlp: str) -> None:
    assert tracing.trace_id(run()) is not None
    assert Receiver.received == []


def test_a_span_is_parented_on_a_stored_traceparent() -> None:
    root = tracing.start_trace("eco.received", "ECO-2026-00001")
    with tracing.span("erp.bom", root, eco="ECO-2026-00001") as child:
        context = child.get_span_context()
        assert tracing.current_traceparent() == tracing.format_traceparent(context)
        headers = tracing.outgoing_headers({})
    assert f"{context.trace_id:032x}" == tracing.trace_id(root)
    assert headers == {
        "traceparent": tracing.format_traceparent(context),
        "X-Correlation-ID": "ECO-2026-00001",
    }
    assert tracing.outgoing_headers({}) == {}


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ],
)
def test_what_is_not_a_traceparent_has_no_trace_id(value: str | None) -> None:
    assert tracing.trace_id(value) is None
