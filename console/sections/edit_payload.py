"""Edit and retry: a dead-lettered or blocked step's payload edited as JSON, checked
against its kind's contract (every error with its path), shown as a diff, sent again
with a reason under a new idempotency key."""

from __future__ import annotations

import difflib
import json
from typing import Any

import streamlit as st

from console import actions, inbox_state, state, widgets
from contracts.payloads import PAYLOAD_MODELS, payload_errors
from sync_engine.commands import EDITABLE


def _pretty(payload: Any) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)


def render(step_id: str | None, can_act: bool) -> None:
    """The payload editor for ``step_id`` (nothing when it cannot be edited)."""
    if not step_id:
        return
    step = inbox_state.step(state.database_url(), step_id)
    if step is None or step.state not in EDITABLE or step.kind not in PAYLOAD_MODELS:
        return
    with st.expander("Edit the payload and retry"):
        key = f"edit_{step_id}"
        original = _pretty(step.payload)
        text = st.text_area("Payload (JSON)", value=original, height=240, key=f"{key}_json")
        try:
            edited = json.loads(text)
        except json.JSONDecodeError as exc:
            errors = [f"(payload): not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
            edited = None
        else:
            errors = payload_errors(step.kind, edited, step.payload)
        for error in errors:
            st.error(widgets.escape(error), icon=":material/error:")
        changed = edited is not None and edited != step.payload
        if changed and not errors:
            diff = difflib.unified_diff(
                original.splitlines(), _pretty(edited).splitlines(), "before", "after", lineterm=""
            )
            st.code("\n".join(diff), language="diff")
        elif not errors:
            st.caption("Unchanged: edit the JSON above to send something different.")
        reason = st.text_input("Reason for the edit (required)", key=f"{key}_reason")
        st.button(
            "Send again with this payload",
            key=f"{key}_send",
            on_click=actions.edit_and_retry,
            args=(step_id, edited if isinstance(edited, dict) else {}, f"{key}_reason"),
            disabled=not can_act or bool(errors) or not changed or not reason.strip(),
        )
