from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from simulators.ledger import Ledger
from simulators.testing import free_port
from tests.simulators.conftest import assert_problem, burst, ledger


def test_the_ledger_reads_after_a_sequence_number_and_by_system(client: httpx.Client) -> None:
    client.put("/erp/items/ASM-2001/revisions/ZZ", json={})
    client.post("/procurement/notices", json={"supplier": "S010", "eco": "ECO-2026-50001"})
    client.put("/erp/items/ASM-2002/revisions/ZZ", json={})
    body = client.get("/_admin/ledger").json()
    assert body["dropped"] == 0 and body["last_seq"] == 3
    seqs = [e["seq"] for e in body["entries"]]
    assert seqs == [1, 2, 3]
    for entry in body["entries"]:
        assert {"system", "operation", "idempotency_key", "plant", "item", "revision", "at"} <= (
            entry.keys()
        )
    assert [e["seq"] for e in ledger(client, after=1)] == [2, 3]
    assert [e["item"] for e in ledger(client, system="erp")] == ["ASM-2001", "ASM-2002"]


def test_the_ledger_keeps_the_newest_entries_and_counts_the_dropped_ones() -> None:
    book = Ledger(cap=3)
    for n in range(5):
        book.append("erp", "bom.create", f"k{n}", datetime.now(UTC))
    assert book.dropped == 2
    assert [e.seq for e in book.after(0)] == [3, 4, 5]
    assert [e.seq for e in book.after(4)] == [5]
    assert [e.idempotency_key for e in book.after(0, limit=1)] == ["k2"]


def test_threadline_simulators_serve_runs_with_flags_and_a_faults_file(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"erp": {"latency_ms": 5, "confirmation_delay_seconds": 4}}))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threadline",
            "simulators",
            "serve",
            "--port",
            str(port),
            "--seed",
            "3",
            "--eco-rate",
            "600",
            "--faults",
            str(faults),
        ],
        env={**os.environ, "THREADLINE_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/healthz").raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        configured = httpx.get(f"{url}/_admin/faults").json()["erp"]
        assert configured["latency_ms"] == 5 and configured["confirmation_delay_seconds"] == 4
        assert httpx.get(f"{url}/plm/world").json()["seed"] == 3
        time.sleep(1.0)
        assert httpx.get(f"{url}/plm/ecos").json()["items"], "the rate approves ECOs"
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_an_eco_version_is_published_exactly_as_given(client: httpx.Client) -> None:
    (eco,) = burst(client)
    number = eco["number"]
    broken = eco | {"effectivity": "2001-01-01"}
    response = client.put(f"/_admin/ecos/{number}", json=broken)
    assert response.status_code == 200, response.text
    listed = client.get("/plm/ecos", params={"status": "approved"}).json()["items"]
    assert [entry["eco"]["effectivity"] for entry in listed] == ["2001-01-01"]
    assert listed[0]["updated_at"] > eco["approved_at"]
    # PLM cannot cancel what breaks its own contract; the fixed version it can.
    assert_problem(client.post(f"/_admin/ecos/{number}/cancel"), 409, "ECO_MALFORMED")
    client.put(f"/_admin/ecos/{number}", json=eco).raise_for_status()
    assert client.post(f"/_admin/ecos/{number}/cancel").status_code == 200

    assert_problem(client.put("/_admin/ecos/ECO-2026-99999", json=eco), 422, "NUMBER_MISMATCH")
    odd = eco | {"status": "draft"}
    assert_problem(client.put(f"/_admin/ecos/{number}", json=odd), 422, "INVALID_STATUS")
