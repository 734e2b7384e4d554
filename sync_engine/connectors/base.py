"""The shared HTTP boundary: one request helper and the error classification.

- timeout -> ``TransientError("TIMEOUT")``; connection and other transport errors ->
  ``TransientError("CONNECTION_ERROR")``;
- 429 and 5xx -> ``TransientError`` (``Retry-After`` kept), coded by the problem's ``code``
  when the body is an RFC 9457 problem, else ``HTTP_<status>``;
- another 4xx with a problem ``code`` -> ``BusinessError``; a 4xx without one (the system
  did not understand us) or any other unexpected status -> ``ContractError``;
- a success whose body does not match the contract -> ``ContractError`` with the body.

Every request carries the current span's ``traceparent`` and, inside an ECO's span, its
number as ``X-Correlation-ID`` (:func:`threadline.tracing.outgoing_headers`).

Request bodies are built from the contract's request models (``contracts.api``): a step's
payload they refuse is a ``BusinessError("VALIDATION_ERROR")``, refused before the call
exactly as the system would refuse it, and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from contracts.steps import System
from sync_engine.connectors.transport import AioTransport
from sync_engine.errors import BusinessError, CallError, ContractError, TransientError
from sync_engine.exchange import exchange_of, last_exchange, remember
from threadline import tracing

M = TypeVar("M", bound=BaseModel)


def new_client(
    *,
    timeout: float = 10.0,
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
    http_transport: Literal["aiohttp", "httpcore"] = "httpcore",
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` configured for the connectors (timeouts and pool limits).

    ``http_transport="aiohttp"`` puts aiohttp's connection pool under httpx's API: the
    same requests, responses, timeouts and errors, at a fraction of httpcore's CPU per
    call (httpcore re-examines its whole pool on every request). An explicit
    ``transport`` (a test's ``MockTransport``) wins over both.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if transport is None and http_transport == "aiohttp":
        transport = AioTransport(limits=limits)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=limits,
        transport=transport,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:2000]


def classify(response: httpx.Response) -> CallError:
    """The error an unsuccessful response stands for."""
    status = response.status_code
    body = _body(response)
    problem = body if isinstance(body, dict) else {}
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    if status == 429 or status >= 500:
        return TransientError(
            code or f"HTTP_{status}",
            detail,
            http_status=status,
            payload=body,
            retry_after=_retry_after(response),
        )
    if 400 <= status < 500 and code:
        return BusinessError(code, detail, http_status=status, payload=body)
    return ContractError(
        f"HTTP_{status}", f"unexpected {status}: {detail}", http_status=status, payload=body
    )


class Connector:
    """Base of one system's connector: a base URL on a shared client."""

    system: System

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202),
    ) -> Any:
        """Send one request; return the decoded JSON body of an expected status."""
        headers = tracing.outgoing_headers({"Idempotency-Key": key} if key else {})
        request = self.client.build_request(
            method, self.base_url + path, json=json_body, params=params, headers=headers
        )
        try:
            response = await self.client.send(request)
        except httpx.TimeoutException as exc:
            error: CallError = TransientError("TIMEOUT", f"{self.system} did not answer in time")
            raise _with_exchange(error, request, None) from exc
        except httpx.TransportError as exc:
            error = TransientError(
                "CONNECTION_ERROR", f"{self.system} unreachable: {type(exc).__name__}"
            )
            raise _with_exchange(error, request, None) from exc
        remember(request, response)
        if response.status_code not in ok:
            raise _with_exchange(classify(response), request, response)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            error = ContractError(
                "INVALID_JSON",
                f"{self.system} answered a body that is not JSON",
                http_status=response.status_code,
                payload=response.text[:2000],
            )
            raise _with_exchange(error, request, response) from exc

    def request(self, model: type[M], payload: Mapping[str, Any]) -> M:
        """A request body from a step's payload, checked against the contract's model."""
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            errors = _errors(exc, ("body",))
            raise BusinessError(
                "VALIDATION_ERROR",
                f"{self.system} would refuse the request: {_describe(errors)}",
                payload={"code": "VALIDATION_ERROR", "errors": errors},
            ) from exc

    def parse(self, model: type[M], body: Any) -> M:
        """Validate a response body against the contract's model."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            error = ContractError(
                "INVALID_RESPONSE",
                f"{self.system} answered out of contract: {_describe(_errors(exc))}",
                payload=body,
            )
            # The body came from this task's last call: keep that exchange with the error.
            error.exchange = last_exchange()
            raise error from exc


def _with_exchange(
    error: CallError, request: httpx.Request, response: httpx.Response | None
) -> CallError:
    error.exchange = exchange_of(request, response)
    return error


def _errors(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *(str(p) for p in e["loc"])], "msg": e["msg"]} for e in exc.errors()]


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
