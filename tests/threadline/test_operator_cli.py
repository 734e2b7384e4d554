"""``threadline steps``, ``ecos`` and ``operations`` as subprocesses on a real database."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from contracts.steps import StepState
from sync_engine import store
from sync_engine.errors import BusinessError, TransientError
from tests.factories import make_eco
from tests.sync_engine.helpers import T0, claim, events, receive, states

ECO = "ECO-2026-00042"
ASM = f"{ECO}/erp.item_revision/-/ASM-1001"
CMP = f"{ECO}/erp.item_revision/-/CMP-2001"
WORK_CENTER = "erp.item_revision:WORK_CENTER_INACTIVE"


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadline", *args, "--database-url", database_url],
        env={**os.environ, "THREADLINE_LOG_LEVEL": "WARNING"},
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _stop_both(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    asm, cmp_ = sorted(claim(engine), key=lambda s: s.step_id)
    with engine.begin() as connection:
        error = BusinessError("WORK_CENTER_INACTIVE", "work center WC-1 is inactive")
        store.fail(connection, asm, error, now=T0, next_attempt_at=None)
        store.fail(
            connection, cmp_, TransientError("HTTP_503", "down"), now=T0, next_attempt_at=None
        )


def _audits(engine: sa.Engine) -> list[dict]:
    return [e["data"] for e in events(engine) if e["type"] == "io.threadline.operator.action.v1"]


def test_list_and_a_dry_run_change_nothing_and_a_missing_reason_exits_2(
    engine: sa.Engine, database_url: str
) -> None:
    _stop_both(engine)
    listed = run(database_url, "steps", "list", "--state", "blocked", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["step_id"] for s in json.loads(listed.stdout)] == [ASM]
    before = len(events(engine))

    refused = run(database_url, "steps", "retry", "--fingerprint", WORK_CENTER, "--dry-run")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == ["error: --reason is required to retry steps"]

    dry = run(
        database_url, "steps", "retry", "--fingerprint", WORK_CENTER, "--reason", "wc", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("Would retry 1 step of 1 ECO.")
    assert f"retry  {ASM}  blocked" in dry.stdout and "dry run: nothing changed" in dry.stdout
    assert len(events(engine)) == before and states(engine, ECO)[ASM] is StepState.BLOCKED

    unknown = run(database_url, "steps", "retry", "ECO-2026-00042/nope", "--reason", "x")
    assert (unknown.returncode, unknown.stderr) == (2, "error: no step ECO-2026-00042/nope\n")
    missing_eco = run(database_url, "ecos", "show", "ECO-2026-99999")
    assert (missing_eco.returncode, missing_eco.stderr) == (2, "error: no ECO ECO-2026-99999\n")


def test_retry_asks_before_an_error_a_retry_cannot_fix_and_is_audited(
    engine: sa.Engine, database_url: str
) -> None:
    _stop_both(engine)
    asked = run(database_url, "steps", "retry", ASM, "--reason", "activated WC-1")
    assert asked.returncode == 1  # no answer on stdin: not retried
    assert "A retry cannot fix these" in asked.stdout and "needs a fix in ERP" in asked.stdout
    assert states(engine, ECO)[ASM] is StepState.BLOCKED

    done = run(
        database_url, "steps", "retry", ASM, "--reason", "activated WC-1", "--yes", "--actor", "ana"
    )
    assert done.returncode == 0, done.stderr
    assert "Queued 1 step for retry." in done.stdout
    operation_id = done.stdout.split("operation ", 1)[1].split(":", 1)[0]
    skipped = run(database_url, "steps", "skip", CMP, "--reason", "released by hand")
    assert skipped.returncode == 0, skipped.stderr
    assert states(engine, ECO)[ASM] is StepState.PENDING
    assert states(engine, ECO)[CMP] is StepState.SKIPPED
    audits = [(a["actor"], a["action"], a["reason"]) for a in _audits(engine)]
    assert audits == [
        ("ana", "retry_bulk", "activated WC-1"),
        (f"cli:{getpass.getuser()}", "skip", "released by hand"),
    ]
    assert _audits(engine)[0]["operation_id"] == operation_id

    shown = run(database_url, "operations", "show", operation_id)
    assert shown.returncode == 1  # not done: the step is only queued
    assert f"{operation_id}  retry_bulk by ana: queued: 1 step" in shown.stdout
    eco = run(database_url, "ecos", "show", ECO, "--json")
    assert eco.returncode == 0, eco.stderr
    document = json.loads(eco.stdout)
    assert document["state"] == "in_progress"
    assert {s["step_id"]: s["state"] for s in document["steps"]}[CMP] == "skipped"
