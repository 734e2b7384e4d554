"""The ledger keeps the ``traceparent`` of the request that made each change; a change that
comes due later (ERP activating a production version) keeps its request's, not that of
whichever request happened to bring it due."""

from __future__ import annotations

import time

import httpx

from tests.simulators.conftest import CONFIRMATION_DELAY, ledger

RELEASE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
VERSION = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
LATER = "00-11111111111111111111111111111111-2222222222222222-01"


def test_each_entry_carries_the_traceparent_of_its_cause(client: httpx.Client) -> None:
    client.put(
        "/erp/items/ASM-2001/revisions/ZZ",
        json={"description": "New"},
        headers={"Idempotency-Key": "r1", "traceparent": RELEASE},
    ).raise_for_status()
    item = next(iter(client.get("/erp/plants/P100/revisions").json()["revisions"]))
    client.post(
        "/erp/plants/P100/production-versions",
        json={"item": item, "revision": "ZZ"},
        headers={"Idempotency-Key": "pv", "traceparent": VERSION},
    ).raise_for_status()
    client.put(
        "/erp/items/CMP-3001/revisions/ZZ", json={"description": "No trace"}
    ).raise_for_status()
    time.sleep(CONFIRMATION_DELAY + 0.1)
    # This request brings the activation due; the activation is still the version's.
    client.get("/erp/plants/P100/revisions", headers={"traceparent": LATER}).raise_for_status()

    assert [(e["operation"], e["traceparent"]) for e in ledger(client)] == [
        ("item_revision.release", RELEASE),
        ("production_version.request", VERSION),
        ("item_revision.release", None),
        ("production_version.activate", VERSION),
    ]
