"""The simulators served over loopback, one fresh server per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulators.testing import running_simulators

CONFIRMATION_DELAY = 0.3


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client of freshly started simulators (seed 7, no ECO rate, no faults)."""
    with running_simulators(seed=7, confirmation_delay=CONFIRMATION_DELAY) as url:
        with httpx.Client(base_url=url, timeout=10) as http:
            yield http


def ledger(client: httpx.Client, **params: object) -> list[dict]:
    """Every ledger entry (optionally filtered)."""
    response = client.get("/_admin/ledger", params=params)
    response.raise_for_status()
    return response.json()["entries"]


def burst(client: httpx.Client, **shape: object) -> list[dict]:
    """Approve ECOs now and return them in full."""
    response = client.post("/_admin/ecos", json=shape)
    assert response.status_code == 201, response.text
    return [client.get(f"/plm/ecos/{n}").json()["eco"] for n in response.json()["ecos"]]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    """The response is RFC 9457 problem details with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body
