"""Credentials never reach a dead letter: unit tests of the redaction itself."""

from __future__ import annotations

import httpx

from sync_engine.exchange import REMOVED, exchange_of, redact, redact_body, redact_url


def test_credential_headers_query_parameters_and_fields_are_removed() -> None:
    request = httpx.Request(
        "POST",
        "https://ops:hunter2@erp.example/erp/boms?api_key=k-123&plant=P100&access_token=t-9",
        headers={
            "Authorization": "Bearer s3cret",
            "Cookie": "sid=abc",
            "X-API-Key": "k-123",
            "Idempotency-Key": "idem-1",
        },
        json={
            "item": "ASM-1001",
            "password": "pw-secret-1",
            "nested": [{"client_secret": "cs-secret-2"}],
        },
    )
    response = httpx.Response(
        422,
        headers={"Set-Cookie": "sid=def", "Content-Type": "application/problem+json"},
        json={"code": "ITEM_LOCKED", "session_token": "st-secret-3"},
        request=request,
    )
    exchange = exchange_of(request, response)
    text = repr(exchange)
    for secret in (
        "hunter2",
        "k-123",
        "t-9",
        "s3cret",
        "sid=abc",
        "sid=def",
        "pw-secret-1",
        "cs-secret-2",
        "st-secret-3",
    ):
        assert secret not in text, secret
    assert exchange["request"]["method"] == "POST"
    assert exchange["request"]["url"] == (
        f"https://erp.example/erp/boms?api_key={REMOVED}&plant=P100&access_token={REMOVED}"
    )
    assert exchange["request"]["headers"]["idempotency-key"] == "idem-1"
    assert exchange["request"]["headers"]["authorization"] == REMOVED
    assert exchange["request"]["body"]["item"] == "ASM-1001"
    assert exchange["request"]["body"]["nested"] == [{"client_secret": REMOVED}]
    assert exchange["response"] is not None
    assert exchange["response"]["status"] == 422
    assert exchange["response"]["body"] == {"code": "ITEM_LOCKED", "session_token": REMOVED}


def test_a_stored_exchange_is_redacted_again_when_shown() -> None:
    stored = {
        "request": {
            "method": "GET",
            "url": "http://x/?token=abc",
            "headers": {"Proxy-Authorization": "Basic abc"},
            "body": None,
        },
        "response": None,
    }
    shown = redact(stored)
    assert shown["request"]["url"] == f"http://x/?token={REMOVED}"
    assert shown["request"]["headers"] == {"Proxy-Authorization": REMOVED}
    assert shown["response"] is None
    assert redact_url("http://x/path") == "http://x/path"
    assert redact_body("plain text") == "plain text"
