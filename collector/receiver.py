"""The ``/events`` endpoints: receive CloudEvents, answer the webhook handshake, query.

``POST /events`` authenticates the producer, reads at most the size limit, validates the
whole request (:func:`collector.validation.parse_request`) and answers 202 only after the
group commit holding its events (:class:`collector.ingest.GroupCommitter`). Every refusal
is an RFC 9457 problem document; bad input never yields a 500.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from collector.auth import Tokens
from collector.errors import Problem, Rejected
from collector.ingest import GroupCommitter
from collector.metrics import Metrics
from collector.store import BadCursor, EventStore
from collector.validation import parse_request, parse_time

MIN_EVENT_BYTES = 64 * 1024
WEBHOOK_ALLOWED_RATE = "*"
QUERY_FILTERS = ("correlationid", "subject", "type", "source")


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(orjson.dumps(document), status, headers, media_type="application/json")


def problem_response(rejected: Rejected) -> Response:
    """The problem+json response of a refusal."""
    return Response(
        orjson.dumps(rejected.document()),
        rejected.status,
        rejected.headers,
        media_type="application/problem+json",
    )


@dataclass
class Receiver:
    """Handlers for ``/events``, bound to one store, token set and group committer."""

    store: EventStore
    tokens: Tokens
    committer: GroupCommitter
    metrics: Metrics
    max_request_bytes: int

    def __post_init__(self) -> None:
        # An event of 64 KiB must always fit, whatever the configured request limit.
        self.max_request_bytes = max(self.max_request_bytes, MIN_EVENT_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /events`` as a bare ASGI app: the hot path skips routing and middleware."""
        started = time.perf_counter()
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers = dict(raw_headers)
        try:
            status, document = await self._post(headers, raw_headers, receive)
            media_type = "application/json"
            extra: dict[str, str] = {}
        except Rejected as rejected:
            self.metrics.rejected.labels(rejected.code).inc()
            status, document = rejected.status, rejected.document()
            media_type, extra = "application/problem+json", rejected.headers
        finally:
            self.metrics.latency.labels("post_events").observe(time.perf_counter() - started)
        body = orjson.dumps(document)
        response_headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _post(
        self, headers: dict[str, str], raw_headers: list[tuple[str, str]], receive: Receive
    ) -> tuple[int, dict[str, int]]:
        grant = self.tokens.authenticate(headers.get("authorization"))
        body = await self._read_body(headers, receive)
        events = parse_request(headers.get("content-type"), raw_headers, body, grant)
        accepted = duplicates = 0
        if events:
            accepted, duplicates = await self.committer.append(events, grant.producer)
        self.metrics.accepted.labels(grant.producer).inc(accepted)
        self.metrics.duplicates.labels(grant.producer).inc(duplicates)
        self.metrics.batch_size.observe(len(events))
        return 202, {"accepted": accepted, "duplicates": duplicates}

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Rejected(
                    400, "UNPARSABLE", "Content-Length is not a number", [Problem(declared[:40])]
                )
            if int(declared) > self.max_request_bytes:
                raise self._too_large()
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Rejected(400, "UNPARSABLE", "The client went away", [Problem("no body")])
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_request_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> Rejected:
        return Rejected(
            413,
            "REQUEST_TOO_LARGE",
            "The request is larger than the collector accepts",
            [Problem(f"at most {self.max_request_bytes} bytes a request")],
        )

    async def options(self, request: Request) -> Response:
        """``OPTIONS /events``: the CloudEvents webhook validation handshake."""
        headers = {"Allow": "GET, POST, OPTIONS"}
        origin = request.headers.get("webhook-request-origin")
        if origin is not None:
            headers["WebHook-Allowed-Origin"] = origin
            headers["WebHook-Allowed-Rate"] = WEBHOOK_ALLOWED_RATE
        return Response(status_code=200, headers=headers)

    async def get(self, request: Request) -> Response:
        """``GET /events``: stored events by correlationid, subject, type, source, time."""
        started = time.perf_counter()
        try:
            self.tokens.authenticate(request.headers.get("authorization"))
            filters = self._filters(request)
            try:
                page = await run_in_threadpool(lambda: self.store.query(**filters))
            except BadCursor as exc:
                raise bad_cursor(exc) from None
        except Rejected as rejected:
            self.metrics.rejected.labels(rejected.code).inc()
            return problem_response(rejected)
        finally:
            self.metrics.latency.labels("get_events").observe(time.perf_counter() - started)
        return json_response({"events": page.events, "next_cursor": page.next_cursor})

    def _filters(self, request: Request) -> dict[str, Any]:
        params = request.query_params
        problems = []
        filters: dict[str, Any] = {name: params[name] for name in QUERY_FILTERS if name in params}
        for name in ("since", "until"):
            if name in params:
                moment = parse_time(params[name])
                if moment is None:
                    problems.append(Problem("must be an RFC 3339 timestamp", name))
                filters[name] = moment
        if "limit" in params:
            limit = params["limit"]
            if not limit.isdigit() or not 1 <= int(limit) <= 1000:
                problems.append(Problem("must be a whole number from 1 to 1000", "limit"))
            else:
                filters["limit"] = int(limit)
        if "cursor" in params:
            filters["cursor"] = params["cursor"]
        if problems:
            raise Rejected(400, "BAD_QUERY", "The query parameters are not valid", problems)
        return filters


def bad_cursor(exc: BadCursor) -> Rejected:
    """The refusal of a cursor this collector did not hand out."""
    return Rejected(
        400, "BAD_QUERY", "The query parameters are not valid", [Problem(str(exc), "cursor")]
    )
