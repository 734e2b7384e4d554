"""The Alerts page: firing and resolved alerts, a failing target, acknowledge and silence
with a reason, audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from alerts import store
from alerts.conditions import Finding
from alerts.notify import targets
from console.auth import Role
from sync_engine import tables as engine_tables
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
DEAD = "json://127.0.0.1:9/hook"


@pytest.fixture
def alerts(console_env: str, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    from threadline.settings import get_settings

    monkeypatch.setenv("THREADLINE_ALERT_URLS", DEAD)
    get_settings.cache_clear()
    engine = create_engine(console_env)
    now = datetime.now(UTC)
    (dead,) = targets(DEAD)
    blocked = Finding(
        "plant-blocked",
        "P100",
        "Plant P100 blocked for 1 ECO",
        ("ECO-1 at P100",),
        1,
        "exceptions?plant_state=blocked&plant=P100",
    )
    drift = Finding("drift", "P200", "1 item at plant P200 drifting", ("x",), 1, "drift?plant=P200")
    with engine.begin() as connection:
        store.record(
            connection,
            [blocked, drift],
            targets=[dead.id],
            reminder_every=timedelta(hours=1),
            now=now - timedelta(hours=1),
        )
        store.record(
            connection, [blocked], targets=[dead.id], reminder_every=timedelta(hours=1), now=now
        )
        store.record_target(connection, dead.id, dead.label, "connection refused", now)
    yield engine
    engine.dispose()


def test_the_page_lists_firing_and_resolved_alerts_and_a_failing_target(
    open_app: Open, alerts: sa.Engine
) -> None:
    at = open_app(Role.VIEWER, "pages/alerts.py")
    assert [s.value for s in at.subheader] == ["Firing (1)", "Resolved in the last day (1)"]
    firing, resolved = (df.value for df in at.dataframe)
    assert list(firing["title"]) == ["Plant P100 blocked for 1 ECO"]
    assert list(firing["link"]) == ["exceptions?plant_state=blocked&plant=P100"]
    assert list(resolved["title"]) == ["1 item at plant P200 drifting"]
    (error,) = at.error
    assert "JSON" in error.value and "connection refused" in error.value


def flash(at: AppTest) -> list[str]:
    """The command's message (not the freshness banner above every page)."""
    shown = [element.value for kind in ("success", "info", "warning") for element in at.get(kind)]
    return [text for text in shown if not text.startswith("The pipeline is behind")]


def _outbox_actions(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        events = connection.execute(
            sa.select(engine_tables.outbox.c.event).where(
                engine_tables.outbox.c.type == "io.threadline.operator.action.v1"
            )
        ).scalars()
        return [(e["data"]["actor"], e["data"]["action"], e["data"]["reason"]) for e in events]


def test_an_operator_acknowledges_then_silences_with_a_reason(
    open_app: Open, alerts: sa.Engine
) -> None:
    at = open_app(Role.OPERATOR, "pages/alerts.py")
    at.button(key="alert_acknowledge").click().run()
    assert flash(at) == ["a reason is required to acknowledge or silence an alert"]
    at.text_input(key="alert_reason").input("ERP team is on it")
    at.button(key="alert_acknowledge").click().run()
    assert flash(at) == ["Acknowledged Plant P100 blocked for 1 ECO: no more reminders."]
    (firing, _resolved) = (df.value for df in at.dataframe)
    assert list(firing["handled"]) == ["acknowledged by operator: ERP team is on it"]

    at.text_input(key="alert_reason").input("maintenance window")
    at.selectbox(key="alert_silence_hours").select(4)
    at.button(key="alert_silence").click().run()
    (said,) = flash(at)
    assert said.startswith("Silenced Plant P100 blocked for 1 ECO until ")
    with alerts.connect() as connection:
        (alert,) = store.firing(connection)
    assert alert.silence_reason == "maintenance window" and alert.silenced_by == "operator"
    assert alert.silenced_until is not None
    assert timedelta(hours=3.9) < alert.silenced_until - datetime.now(UTC) <= timedelta(hours=4)
    assert _outbox_actions(alerts) == [
        ("operator", "acknowledge_alert", "ERP team is on it"),
        ("operator", "silence_alert", "maintenance window"),
    ]


def test_a_viewer_cannot_act(open_app: Open, alerts: sa.Engine) -> None:
    at = open_app(Role.VIEWER, "pages/alerts.py")
    assert not [b for b in at.button if b.key in ("alert_acknowledge", "alert_silence")]
