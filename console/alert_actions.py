"""Acknowledge or silence an alert from the Alerts page, through :mod:`alerts.commands`
(audited like every operator action), with the reason typed on the page."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from alerts import commands
from console import login, state
from console.actions import FLASH_KEY, Flash
from console.auth import Permission
from contracts.model import utcnow


def acknowledge(alert_id: int | None, reason_key: str) -> None:
    """Acknowledge ``alert_id``: no more reminders."""
    _run(alert_id, reason_key, None)


def silence(alert_id: int | None, reason_key: str, hours_key: str) -> None:
    """Silence ``alert_id`` for the hours chosen in the widget ``hours_key``."""
    _run(alert_id, reason_key, float(st.session_state.get(hours_key) or 1))


def _run(alert_id: int | None, reason_key: str, hours: float | None) -> None:
    user = login.current_user()
    if user is None or not user.can(Permission.ACT):
        _flash("not_allowed", "Your role cannot acknowledge or silence alerts.")
        return
    if alert_id is None:
        _flash("not_found", "Choose the alert.")
        return
    reason = str(st.session_state.get(reason_key) or "").strip()
    engine = state.command_engine(state.database_url())
    try:
        if hours is None:
            result = commands.acknowledge(
                engine, alert_id, actor=user.username, role=user.role.value, reason=reason
            )
        else:
            result = commands.silence(
                engine,
                alert_id,
                actor=user.username,
                role=user.role.value,
                reason=reason,
                until=utcnow() + timedelta(hours=hours),
            )
    except commands.InvalidCommand as exc:
        _flash("not_allowed", str(exc))
        return
    state.clear()
    st.session_state[reason_key] = ""
    # The page's flash shows success for "queued"; both outcomes here are done deeds.
    _flash("queued" if result.affected else result.outcome, result.message)


def _flash(outcome: str, message: str) -> None:
    st.session_state[FLASH_KEY] = Flash(outcome=outcome, message=message)
