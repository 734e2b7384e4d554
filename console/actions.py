"""Operator actions from the console, each through ``sync_engine.commands`` (inbox
problems through ``sync_engine.triage``); every one takes a reason typed in a widget.

Actions run as widget callbacks, before the rerun that follows the click: the command
writes the step transitions and its audit event, the cached query results are dropped,
and the rerun shows the command's own message and the rows' new status; an action that
changed steps shows its operation at the top of the page, followed until the steps
settled. Until the collector has recorded the change, a row shows what the command did
(``retry queued``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import streamlit as st

from console import login, state
from console.auth import Permission
from sync_engine import commands, triage

FLASH_KEY = "threadline_flash"
RECENT_KEY = "threadline_recent"
OPERATIONS_KEY = "threadline_operations"
"""The operations started in this session, newest first (shown at the top of pages)."""

# How a row reads right after a command changed its step, by outcome.
_ROW_LABELS = {"queued": "retry queued", "already_queued": "already queued"}


@dataclass(frozen=True)
class Flash:
    """A command's message, shown once at the top of the next rerun."""

    outcome: str
    message: str


def retry(step_ids: Sequence[str], reason_key: str) -> None:
    """Queue one step (or each selected one) again, with the reason typed in the widget
    ``reason_key`` (required)."""
    ids = list(step_ids)
    if not ids:
        _flash("not_found", "Select at least one row to retry.")
        return
    if len(ids) == 1:
        _with_reason(
            reason_key,
            "the step is retried",
            lambda engine, actor, role, reason: commands.retry_step(
                engine, ids[0], actor=actor, role=role, reason=reason
            ),
        )
    else:
        _with_reason(
            reason_key,
            "the step is retried",
            lambda engine, actor, role, reason: commands.retry_previewed(
                engine, ids, actor=actor, role=role, reason=reason
            ),
        )


def retry_previewed(step_ids: Sequence[str], reason_key: str, criteria: dict[str, Any]) -> None:
    """Queue again exactly the previewed ``step_ids`` (those that changed meanwhile are left
    out and reported), with the reason typed in the widget ``reason_key`` (required)."""
    ids = list(step_ids)
    _with_reason(
        reason_key,
        "the steps are retried",
        lambda engine, actor, role, reason: commands.retry_previewed(
            engine, ids, actor=actor, role=role, reason=reason, filter=criteria
        ),
    )


def retry_eco(eco: str, reason_key: str) -> None:
    """Queue again every failed or blocked step of ``eco``, with the reason typed in the
    widget ``reason_key`` (required)."""
    _with_reason(
        reason_key,
        "the ECO's steps are retried",
        lambda engine, actor, role, reason: commands.retry_matching(
            engine, actor=actor, role=role, reason=reason, eco=eco
        ),
    )


def edit_and_retry(step_id: str, payload: dict[str, Any], reason_key: str) -> None:
    """Send ``step_id`` again with the edited ``payload`` and the reason typed in the
    widget ``reason_key`` (required)."""
    _with_reason(
        reason_key,
        "the payload is edited",
        lambda engine, actor, role, reason: commands.edit_and_retry(
            engine, step_id, payload, actor=actor, role=role, reason=reason
        ),
    )


def acknowledge(key: str, reason_key: str) -> None:
    """Acknowledge the inbox problem ``key`` with the reason typed in ``reason_key``."""
    _with_reason(
        reason_key,
        "you take it on",
        lambda engine, actor, role, reason: triage.acknowledge(
            engine, key, actor=actor, role=role, reason=reason
        ),
    )


def assign(key: str, assignee_key: str, reason_key: str) -> None:
    """Assign the inbox problem ``key`` to the person typed in ``assignee_key``."""
    assignee = _reason(assignee_key)
    _with_reason(
        reason_key,
        "it is assigned",
        lambda engine, actor, role, reason: triage.assign(
            engine, key, assignee, actor=actor, role=role, reason=reason
        ),
    )


def note(key: str, text_key: str) -> None:
    """Add the note typed in ``text_key`` to the inbox problem ``key``."""
    text = _reason(text_key)
    if not text:
        _flash("not_allowed", "Write the note first.")
        return
    _run(lambda engine, actor, role: triage.note(engine, key, text, actor=actor, role=role))
    st.session_state[text_key] = ""


def _reason(key: str) -> str:
    return str(st.session_state.get(key) or "").strip()


def _with_reason(
    reason_key: str,
    why: str,
    command: Callable[[sa.Engine, str, str, str], commands.CommandResult],
) -> None:
    """Run ``command`` (engine, actor, role, reason) with the reason typed in the widget
    ``reason_key``, then empty the widget; without a reason, say why one is needed."""
    reason = _reason(reason_key)
    if not reason:
        _flash("not_allowed", f"Say why {why}: a reason is required.")
        return
    _run(lambda engine, actor, role: command(engine, actor, role, reason))
    st.session_state[reason_key] = ""


def skip(step_id: str | None, reason_key: str) -> None:
    """Skip a step with the reason typed in the widget ``reason_key`` (required)."""
    if not step_id:
        _flash("not_found", "Choose the step to skip.")
        return
    _with_reason(
        reason_key,
        "the step is skipped",
        lambda engine, actor, role, reason: commands.skip_step(
            engine, step_id, actor=actor, role=role, reason=reason
        ),
    )


def cancel(eco: str, reason_key: str) -> None:
    """Cancel an ECO with the reason typed in the widget ``reason_key`` (required)."""
    _with_reason(
        reason_key,
        "the ECO is cancelled",
        lambda engine, actor, role, reason: commands.cancel_eco(
            engine, eco, actor=actor, role=role, reason=reason
        ),
    )


def resync_drift(pair: str | None, reason_key: str) -> None:
    """Re-sync the drift of ``pair`` (``plant/item``) with the reason typed in the widget
    ``reason_key`` (required)."""
    if not pair:
        _flash("not_found", "Choose the drift to re-sync.")
        return
    plant, item = pair.split("/", 1)
    _with_reason(
        reason_key,
        "the drift is re-synced",
        lambda engine, actor, role, reason: commands.resync_drift(
            engine, plant, item, actor=actor, role=role, reason=reason
        ),
    )


def reconcile_now() -> None:
    """Reconcile every plant with PLM, ERP and MES now."""
    settings = state.settings()
    _run(
        lambda engine, actor, role: commands.reconcile_now(engine, settings, actor=actor, role=role)
    )


def show_flash() -> None:
    """Show, once, the message of the last action; then, while this session follows any,
    the operations it started and how far each has come."""
    if started_operations():
        from console.sections import operations

        operations.render(started_operations())
    flash = st.session_state.pop(FLASH_KEY, None)
    if not isinstance(flash, Flash):
        return
    if flash.outcome in ("queued", "cancelled", "acknowledged", "assigned", "noted"):
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
    if result.operation_id is not None:
        started_here: list[str] = st.session_state.setdefault(OPERATIONS_KEY, [])
        started_here.insert(0, result.operation_id)
    label = _ROW_LABELS.get(result.outcome)
    if label is not None:
        recent: dict[str, tuple[str, datetime]] = st.session_state.setdefault(RECENT_KEY, {})
        for step_id in result.step_ids:
            recent[step_id] = (label, started)
    _flash(result.outcome, result.message)


def _flash(outcome: str, message: str) -> None:
    st.session_state[FLASH_KEY] = Flash(outcome=outcome, message=message)


def started_operations() -> list[str]:
    """The ids of the operations started in this session, newest first."""
    return list(st.session_state.get(OPERATIONS_KEY, []))
