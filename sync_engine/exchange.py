"""One HTTP request and its response as a step's dead letter keeps them, credentials removed.

A call that ends a step for a person (a dead letter, a business rejection) keeps what was
sent and what came back, so a support engineer sees the exchange itself: method, URL,
headers and body of the request; status, headers and body of the response. Anything that
names a credential — ``Authorization``, cookies, tokens, API keys, passwords, secrets,
signatures, and a URL's user information — is replaced by :data:`REMOVED` when the
exchange is recorded (:func:`exchange_of`), and again whenever one is shown
(:func:`redact`), so a row written before a new credential name was known is covered too.

The connector records the newest answered call of the running task in a context variable
(:func:`remember`), so a response body that breaks the contract, found only after the
call returned, still gets its exchange (:func:`last_exchange`); each step's call runs in
its own task, so the variable is that call's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

REMOVED = "[removed]"
"""What a credential's value is replaced by."""
MAX_BODY_CHARS = 20_000
"""A body longer than this (as text) is kept cut to this length."""

_CREDENTIAL = re.compile(
    r"auth|cookie|token|secret|passw|api[-_]?key|apikey|signature|credential|session|bearer",
    re.IGNORECASE,
)


class HttpRequest(TypedDict):
    """The request as sent."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any


class HttpResponse(TypedDict):
    """The response as received."""

    status: int
    headers: dict[str, str]
    body: Any


class Exchange(TypedDict):
    """A request and, unless the call timed out or never connected, its response."""

    request: HttpRequest
    response: HttpResponse | None


def is_credential(name: str) -> bool:
    """Whether a header, query parameter or body field of this name holds a credential."""
    return bool(_CREDENTIAL.search(name))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with every credential's value removed."""
    return {name: REMOVED if is_credential(name) else value for name, value in headers.items()}


def redact_url(url: str) -> str:
    """The URL without user information and with credential query parameters removed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = urlencode(
        [
            (name, REMOVED if is_credential(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_body(body: Any) -> Any:
    """A JSON body with the value of every credential field removed, at any depth."""
    if isinstance(body, dict):
        return {
            key: REMOVED if is_credential(str(key)) else redact_body(value)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [redact_body(value) for value in body]
    return body


def redact(exchange: Mapping[str, Any]) -> Exchange:
    """An exchange (as stored) with every credential removed."""
    request = exchange.get("request") or {}
    response = exchange.get("response")
    return Exchange(
        request=HttpRequest(
            method=str(request.get("method") or ""),
            url=redact_url(str(request.get("url") or "")),
            headers=redact_headers(request.get("headers") or {}),
            body=redact_body(request.get("body")),
        ),
        response=None
        if not isinstance(response, Mapping)
        else HttpResponse(
            status=int(response.get("status") or 0),
            headers=redact_headers(response.get("headers") or {}),
            body=redact_body(response.get("body")),
        ),
    )


def exchange_of(request: httpx.Request, response: httpx.Response | None) -> Exchange:
    """The exchange of a sent request and its response, credentials removed."""
    return redact(
        {
            "request": {
                "method": request.method,
                "url": str(request.url),
                "headers": dict(request.headers),
                "body": _decoded(_content(request)),
            },
            "response": None
            if response is None
            else {
                "status": response.status_code,
                "headers": dict(response.headers),
                "body": _decoded(_content(response)),
            },
        }
    )


_last: ContextVar[tuple[httpx.Request, httpx.Response] | None] = ContextVar(
    "threadline_last_exchange", default=None
)


def remember(request: httpx.Request, response: httpx.Response) -> None:
    """Record the running task's newest answered call; it is read only if needed."""
    _last.set((request, response))


def last_exchange() -> Exchange | None:
    """The running task's newest answered call, if it made one, credentials removed."""
    last = _last.get()
    return None if last is None else exchange_of(*last)


def _content(message: httpx.Request | httpx.Response) -> bytes:
    try:
        return bytes(message.content)
    except (httpx.RequestNotRead, httpx.ResponseNotRead):
        return b""


def _decoded(content: bytes) -> Any:
    if not content:
        return None
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text[:MAX_BODY_CHARS]
