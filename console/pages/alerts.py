"""Alerts: what fires now and what resolved in the last day, where notifications go and
whether they arrive; operators acknowledge an alert (no more reminders) or silence it for
a time, with a reason (audited)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from alerts import store
from alerts.setup import AlertSetup
from console import actions, alert_actions, labels, login, state, widgets
from console.auth import Permission
from contracts.model import utcnow

RECENT = timedelta(days=1)
REASON_KEY = "alert_reason"
HOURS_KEY = "alert_silence_hours"
SILENCE_HOURS = (1, 4, 8, 24, 72)


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _alerts(url: str) -> list[store.Alert]:
    with state.read_engine(url).connect() as connection:
        return store.recent(connection, since=utcnow() - RECENT)


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _targets(url: str, ids: tuple[str, ...]) -> list[store.TargetStatus]:
    with state.read_engine(url).connect() as connection:
        return store.target_statuses(connection, ids)


def _handled(alert: store.Alert, now: datetime) -> str:
    said = []
    if alert.acknowledged_by:
        said.append(f"acknowledged by {alert.acknowledged_by}: {alert.acknowledge_reason}")
    if alert.silenced(now) and alert.silenced_until is not None:
        said.append(
            f"silenced by {alert.silenced_by} until {alert.silenced_until:%m-%d %H:%M} UTC: "
            f"{alert.silence_reason}"
        )
    return "; ".join(said)


def _table(rows: list[store.Alert], key: str) -> None:
    now = utcnow()
    frame = pd.DataFrame(
        [
            {
                "id": a.id,
                "title": a.title,
                "rule": a.rule,
                "rows": a.count,
                "fired": a.fired_at,
                "resolved": a.resolved_at,
                "notified": a.notifications,
                "handled": _handled(a, now),
                "link": a.link,
            }
            for a in rows
        ]
    )
    labels.table(
        frame,
        hide_index=True,
        key=key,
        column_config={
            "id": "Alert",
            "title": "What",
            "rule": "Rule",
            "rows": "Count",
            "fired": st.column_config.DatetimeColumn("Fired", format="YYYY-MM-DD HH:mm"),
            "resolved": st.column_config.DatetimeColumn("Resolved", format="YYYY-MM-DD HH:mm"),
            "notified": "Messages sent",
            "handled": "Acknowledged or silenced",
            "link": st.column_config.LinkColumn("List", display_text="open the rows"),
        },
    )


login.require(Permission.OPERATIONS)
st.title("Alerts")
actions.show_flash()
url = state.database_url()
try:
    setup = AlertSetup.from_settings(state.settings())
except ValueError as exc:
    st.error(f"Alerts are not configured correctly: {exc}")
    st.stop()
st.caption(f"Alerts go to {widgets.escape(setup.where())}.")
for target in _targets(url, tuple(t.id for t in setup.targets)):
    if target.failing:
        st.error(
            f"Notifications to {widgets.escape(target.label)} fail "
            f"({target.failures} in a row, last at {widgets.when(target.last_failed_at)}): "
            f"{widgets.escape(target.last_error)}. They are retried.",
            icon=":material/notifications_off:",
        )
found = _alerts(url)
firing = [a for a in found if a.state is store.AlertState.FIRING]
resolved = [a for a in found if a.state is store.AlertState.RESOLVED]
st.subheader(f"Firing ({len(firing)})")
if firing:
    _table(firing, "alerts_firing")
else:
    st.success("No alert is firing.")
st.subheader(f"Resolved in the last day ({len(resolved)})")
if resolved:
    _table(resolved, "alerts_resolved")
if firing and actions.allowed():
    with st.expander("Acknowledge or silence an alert"):
        chosen = st.selectbox(
            "Alert",
            [a.id for a in firing],
            format_func=lambda i: next(f"{a.id}: {a.title}" for a in firing if a.id == i),
            key="alert_choice",
        )
        st.text_input("Reason (required)", key=REASON_KEY)
        left, right = st.columns(2)
        left.button(
            "Acknowledge",
            key="alert_acknowledge",
            on_click=alert_actions.acknowledge,
            args=(chosen, REASON_KEY),
            help="No more reminders; the resolve is still sent.",
        )
        right.selectbox(
            "Silence for (hours)", SILENCE_HOURS, key=HOURS_KEY, label_visibility="collapsed"
        )
        right.button(
            "Silence",
            key="alert_silence",
            on_click=alert_actions.silence,
            args=(chosen, REASON_KEY, HOURS_KEY),
            help="No notifications at all until the time is up.",
        )
