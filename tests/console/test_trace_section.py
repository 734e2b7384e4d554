"""The ECO page shows the trace id its CloudEvents carry, linked through the URL template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from streamlit.testing.v1 import AppTest

from collector.store import EventStore
from console.auth import Role
from contracts import events as ev
from threadline.db import create_engine
from threadline.settings import get_settings

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def received(number: str, **extensions: str) -> dict[str, object]:
    return ev.new_event(
        ev.EcoReceived(
            eco=number,
            title="Traced change",
            approved_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
            effectivity=date(2026, 3, 9),
            items=["ITEM-1"],
            revisions={"ITEM-1": "B"},
            product_families=["PUMPS"],
            plants=["P100"],
            suppliers=[],
            steps=1,
        ),
        source="/threadline/engine",
        time=datetime(2026, 3, 2, 10, tzinfo=UTC),
        **extensions,
    )


@pytest.fixture
def traced(console_env: str) -> None:
    engine = create_engine(console_env)
    try:
        store = EventStore(engine)
        store.append([received("ECO-2026-00901", traceparent=TRACEPARENT)], producer="engine")
        store.append([received("ECO-2026-00902")], producer="engine")
    finally:
        engine.dispose()


def trace_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "Trace" in m.value]


def test_the_trace_id_links_through_the_template(
    open_app: Open, traced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_TRACE_URL_TEMPLATE", "http://jaeger:16686/trace/{trace_id}")
    get_settings.cache_clear()
    at = open_app(Role.VIEWER, "pages/eco.py", eco="ECO-2026-00901")
    assert trace_lines(at) == [f"**Trace** [`{TRACE}`](http://jaeger:16686/trace/{TRACE})"]


def test_without_a_template_the_trace_id_is_shown_unlinked(open_app: Open, traced: None) -> None:
    at = open_app(Role.VIEWER, "pages/eco.py", eco="ECO-2026-00901")
    assert trace_lines(at) == [f"**Trace** `{TRACE}`"]


def test_an_eco_whose_events_carry_no_trace_says_so(open_app: Open, traced: None) -> None:
    at = open_app(Role.VIEWER, "pages/eco.py", eco="ECO-2026-00902")
    assert trace_lines(at) == []
    assert "No trace recorded for these events." in [c.value for c in at.caption]
