from __future__ import annotations

import random
import time

import httpx
import pytest
from pydantic import ValidationError

from simulators.faults import FaultKind, LatencyDistribution, SystemFaults, decide
from simulators.testing import running_simulators
from tests.simulators.conftest import assert_problem, ledger

RELEASE = "/erp/items/ASM-2001/revisions/ZZ"


def set_faults(client: httpx.Client, **systems: dict) -> None:
    response = client.put("/_admin/faults", json=systems)
    assert response.status_code == 200, response.text


def test_latency_delays_a_system_but_not_its_documentation(client: httpx.Client) -> None:
    # A long delay, so that a busy machine's own slowness cannot pass for it.
    set_faults(client, plm={"latency_ms": 2000})
    started = time.monotonic()
    assert client.get("/plm/ecos").status_code == 200
    assert time.monotonic() - started >= 2.0
    started = time.monotonic()
    client.get("/plm/openapi.json")
    client.get("/erp/plants/P100/revisions")
    assert time.monotonic() - started < 2.0


def test_errors_answer_500_or_503_and_apply_nothing(client: httpx.Client) -> None:
    set_faults(client, erp={"error_rate": 1.0})
    codes = set()
    for _ in range(16):
        response = client.put(RELEASE, json={}, headers={"Idempotency-Key": "k"})
        codes.add((response.status_code, response.json()["code"]))
    assert codes == {(500, "INTERNAL_ERROR"), (503, "SERVICE_UNAVAILABLE")}
    assert ledger(client) == []
    set_faults(client)
    assert client.put(RELEASE, json={}, headers={"Idempotency-Key": "k"}).status_code == 200
    assert len(ledger(client)) == 1


def test_rate_limiting_answers_429_with_retry_after(client: httpx.Client) -> None:
    set_faults(client, mes={"rate_limit_rate": 1.0, "retry_after_seconds": 7})
    response = client.get("/mes/plants/P100/revisions")
    assert_problem(response, 429, "RATE_LIMITED")
    assert response.headers["Retry-After"] == "7"


def test_business_rejections_hit_writes_with_a_coded_422(client: httpx.Client) -> None:
    set_faults(
        client,
        erp={"business_rate": 1.0},
        procurement={"business_rate": 1.0, "business_code": "SUPPLIER_ON_HOLD"},
    )
    assert_problem(client.put(RELEASE, json={}), 422, "POSTING_PERIOD_CLOSED")
    assert client.get("/erp/plants/P100/revisions").status_code == 200
    body = {"supplier": "S010", "eco": "ECO-2026-50001"}
    assert_problem(client.post("/procurement/notices", json=body), 422, "SUPPLIER_ON_HOLD")
    assert ledger(client) == []


def test_a_timed_out_write_was_applied_and_its_retry_is_answered_from_the_first(
    client: httpx.Client,
) -> None:
    set_faults(client, erp={"timeout_rate": 1.0, "timeout_seconds": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        client.put(RELEASE, json={}, headers={"Idempotency-Key": "t"}, timeout=0.3)
    assert [e["idempotency_key"] for e in ledger(client)] == ["t"], "applied before the hold"
    set_faults(client)
    retry = client.put(RELEASE, json={}, headers={"Idempotency-Key": "t"})
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert len(ledger(client)) == 1


def test_an_outage_window_answers_503_until_it_ends(client: httpx.Client) -> None:
    set_faults(client, procurement={"outage_seconds": 0.8})
    response = client.get("/procurement/notices")
    assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response.headers["Retry-After"]) >= 1
    assert 0 < client.get("/_admin/faults").json()["procurement"]["outage_seconds"] <= 0.8
    assert client.get("/erp/plants/P100/revisions").status_code == 200, "other systems stay up"
    time.sleep(0.9)
    assert client.get("/procurement/notices").status_code == 200
    assert client.get("/_admin/faults").json()["procurement"]["outage_seconds"] == 0


def statuses(seed: int) -> list[int]:
    faults = {"plm": {"error_rate": 0.3, "rate_limit_rate": 0.2}}
    with running_simulators(seed=seed, faults=faults) as url, httpx.Client(base_url=url) as http:
        return [http.get("/plm/ecos").status_code for _ in range(30)]


def test_fault_draws_follow_the_seed() -> None:
    first = statuses(11)
    assert statuses(11) == first
    assert {200, 429} <= set(first) and set(first) & {500, 503}
    assert statuses(12) != first


def test_fault_configuration_is_validated(client: httpx.Client) -> None:
    too_much = {"erp": {"error_rate": 0.7, "timeout_rate": 0.5}}
    assert_problem(client.put("/_admin/faults", json=too_much), 422, "VALIDATION_ERROR")
    assert_problem(client.put("/_admin/faults", json={"erp": {"typo": 1}}), 422, "VALIDATION_ERROR")
    assert client.get("/_admin/faults").json()["erp"]["error_rate"] == 0


@pytest.mark.parametrize(
    ("latency", "low", "high"),
    [
        ({"dist": "uniform", "low": 10, "high": 20}, 10, 20),
        ({"dist": "normal", "mean": 50, "stddev": 10}, 0, 120),
        ({"dist": "lognormal", "median": 40, "sigma": 0.5}, 0, 400),
    ],
)
def test_latency_distributions_draw_plausible_values(latency, low, high) -> None:
    faults = SystemFaults(latency_ms=LatencyDistribution.model_validate(latency))
    rng = random.Random(1)
    draws = [decide(faults, rng, write=False, in_outage=False).latency_seconds for _ in range(500)]
    assert all(low / 1000 <= d <= high / 1000 for d in draws)
    assert len(set(draws)) > 400


def test_business_draws_leave_reads_alone() -> None:
    faults = SystemFaults(business_rate=1.0)
    rng = random.Random(1)
    assert decide(faults, rng, write=False, in_outage=False).kind is FaultKind.NONE
    assert decide(faults, rng, write=True, in_outage=False).kind is FaultKind.BUSINESS
    with pytest.raises(ValidationError):
        SystemFaults(error_rate=1.5)
