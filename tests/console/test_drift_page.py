"""The Drift page under AppTest: the rows reconciliation reported, filtered by the address."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from collector.store import EventStore
from console.auth import Role
from contracts import events as ev
from contracts.readmodel import DriftCause
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]

AT = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
DRIFT = [
    ev.DriftDetected(
        plant="P100",
        item="ASM-1001",
        plm_revision="C",
        erp_revision="C",
        mes_revision="B",
        expected_revision="C",
        responsible_eco="ECO-2026-00042",
        eco_state="in_progress",
        cause=DriftCause.BLOCKED,
        detail="a step at the plant is blocked",
        since=AT,
    ),
    ev.DriftDetected(
        plant="P200",
        item="ASM-2051",
        erp_revision="F",
        mes_revision="E",
        cause=DriftCause.OUTSIDE,
        detail="changed outside Threadline",
        since=AT,
    ),
    ev.DriftDetected(
        plant="P300",
        item="ASM-2068",
        erp_revision="G",
        mes_revision="F",
        cause=DriftCause.OUTSIDE,
        detail="changed outside Threadline",
        since=AT,
    ),
]


@pytest.fixture
def drifting(console_env: str) -> None:
    engine = create_engine(console_env)
    try:
        found = [ev.new_event(data, source="/threadline/engine", time=AT) for data in DRIFT]
        resolved = ev.DriftResolved(plant="P300", item="ASM-2068", revision="G", since=AT)
        found.append(ev.new_event(resolved, source="/threadline/engine", time=AT.replace(hour=13)))
        EventStore(engine).append(found, producer="engine")
    finally:
        engine.dispose()


def _rows(at: AppTest) -> set[tuple[str, str, str]]:
    frame = at.dataframe[0].value
    return set(zip(frame["plant"], frame["item"], frame["cause"], strict=True))


def test_the_drift_page_lists_open_drift_with_its_cause(open_app: Open, drifting: None) -> None:
    at = open_app(Role.VIEWER, "pages/drift.py")
    assert _rows(at) == {
        ("P100", "ASM-1001", "blocked"),
        ("P200", "ASM-2051", "changed outside Threadline"),
    }
    assert "2 drifting pairs" in [c.value for c in at.caption]
    # A viewer reads; only operators reconcile or re-sync.
    assert at.button(key="drift_reconcile").disabled
    assert not [b for b in at.button if b.key == "drift_resync"]


def test_a_link_filtered_by_cause_shows_exactly_those_rows(open_app: Open, drifting: None) -> None:
    at = open_app(Role.OPERATOR, "pages/drift.py", cause="blocked")
    assert _rows(at) == {("P100", "ASM-1001", "blocked")}
    assert any(c.value.startswith("1 drifting pairs (cause blocked") for c in at.caption)
    assert at.button(key="drift_resync") is not None
