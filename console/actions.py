"""Operator actions from the console, each through ``sync_engine.commands``.

Actions run as widget callbacks, before the rerun that follows the click: the command
writes the step transitions and its audit event, the cached query results are dropped,
and the rerun shows the command's own message and the rows' new status. Until the
collector has recorded the change, a row shows what the command did (``retry queued``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from console import login, state
from console.auth import Permission
from sync_engine import commands

FLASH_KEY = "threadline_flash"
RECENT_KEY = "threadline_recent"

# How a row reads right after a command changed its step, by outcome.
_ROW_LABELS = {"queued": "retry queued", "already_queued": "already queued"}


@dataclass(frozen=True)
class Flash:
    """A command's message, shown once at the top of the next rerun."""

    outcome: str
    message: str


def retry(step_ids: Sequence[str]) -> None:
    """Queue one step (or each selected one) again."""
    ids = list(step_ids)
    if not ids:
        _flash("not_found", "Select at least one row to retry.")
        return
    if len(ids) == 1:
        _run(
            lambda engine, actor, role: commands.retry_step(engine, ids[0], actor=actor, role=role)
        )
    else:
        _run(
            lambda engine, actor, role: commands.retry_matching(
                engine, actor=actor, role=role, step_ids=ids
            )
        )


def retry_fingerprint(fingerprint: str) -> None:
    """Queue again every failed or blocked step with ``fingerprint``."""
    _run(
        lambda engine, actor, role: commands.retry_matching(
            engine, actor=actor, role=role, fingerprint=fingerprint
        )
    )


def retry_eco(eco: str) -> None:
    """Queue again every failed or blocked step of ``eco``."""
    _run(
        lambda engine, actor, role: commands.retry_matching(engine, actor=actor, role=role, eco=eco)
    )


def skip(step_id: str | None, reason_key: str) -> None:
    """Skip a step with the reason typed in the widget ``reason_key`` (required)."""
    reason = str(st.session_state.get(reason_key) or "").strip()
    if not step_id:
        _flash("not_found", "Choose the step to skip.")
        return
    if not reason:
        _flash("not_allowed", "Say why the step is skipped: a reason is required.")
        return
    _run(
        lambda engine, actor, role: commands.skip_step(
            engine, step_id, actor=actor, role=role, reason=reason
        )
    )
    st.session_state[reason_key] = ""


def cancel(eco: str, reason_key: str) -> None:
    """Cancel an ECO with the reason typed in the widget ``reason_key`` (required)."""
    reason = str(st.session_state.get(reason_key) or "").strip()
    if not reason:
        _flash("not_allowed", "Say why the ECO is cancelled: a reason is required.")
        return
    _run(
        lambda engine, actor, role: commands.cancel_eco(
            engine, eco, actor=actor, role=role, reason=reason
        )
    )
    st.session_state[reason_key] = ""


def resync_drift(pair: str | None, reason_key: str) -> None:
    """Re-sync the drift of ``pair`` (``plant/item``) with the reason typed in the widget
    ``reason_key`` (required)."""
    reason = str(st.session_state.get(reason_key) or "").strip()
    if not pair:
        _flash("not_found", "Choose the drift to re-sync.")
        return
    if not reason:
        _flash("not_allowed", "Say why the drift is re-synced: a reason is required.")
        return
    plant, item = pair.split("/", 1)
    _run(
        lambda engine, actor, role: commands.resync_drift(
            engine, plant, item, actor=actor, role=role, reason=reason
        )
    )
    st.session_state[reason_key] = ""


def reconcile_now() -> None:
    """Reconcile every plant with PLM, ERP and MES now."""
    settings = state.settings()
    _run(
        lambda engine, actor, role: commands.reconcile_now(engine, settings, actor=actor, role=role)
    )


def show_flash() -> None:
    """Show, once, the message of the last action."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if not isinstance(flash, Flash):
        return
    if flash.outcome in ("queued", "cancelled"):
        st.success(flash.message, icon=":material/check_circle:")
    elif flash.outcome.startswith("already"):
        st.info(flash.message, icon=":material/info:")
    else:
        st.warning(flash.message, icon=":material/warning:")


def row_status(step_id: str, status: str, updated_at: datetime | None) -> str:
    """``status`` as the collector has it, unless a later action here changed the step."""
    recent: dict[str, tuple[str, datetime]] = st.session_state.get(RECENT_KEY, {})
    if step_id in recent:
        label, at = recent[step_id]
        if updated_at is None or updated_at < at:
            return label
    return status


def allowed() -> bool:
    """Whether the signed-in user may act."""
    user = login.current_user()
    return user is not None and user.can(Permission.ACT)


def _run(command: Callable[..., commands.CommandResult]) -> None:
    user = login.current_user()
    if user is None or not user.can(Permission.ACT):
        _flash("not_allowed", "Your role cannot retry, skip or cancel.")
        return
    engine = state.command_engine(state.database_url())
    # Taken before the command, so the collector's record of the change is never older.
    started = datetime.now(UTC)
    try:
        result = command(engine, user.username, user.role.value)
    except commands.InvalidCommand as exc:
        _flash("not_allowed", str(exc))
        return
    state.clear()
    label = _ROW_LABELS.get(result.outcome)
    if label is not None:
        recent: dict[str, tuple[str, datetime]] = st.session_state.setdefault(RECENT_KEY, {})
        for step_id in result.step_ids:
            recent[step_id] = (label, started)
    _flash(result.outcome, result.message)


def _flash(outcome: str, message: str) -> None:
    st.session_state[FLASH_KEY] = Flash(outcome=outcome, message=message)
