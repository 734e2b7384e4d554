"""A fingerprint group's retry: previewed first (which steps it touches, which it leaves
alone and why), then confirmed with a reason; one a retry cannot fix asks to be sure."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from console import actions, inbox_state, labels, state, widgets
from dashboards.inbox import Group

PREVIEW_KEY = "inbox_preview"


def _open_preview(fingerprint: str) -> None:
    st.session_state[PREVIEW_KEY] = fingerprint


def _close_preview() -> None:
    st.session_state.pop(PREVIEW_KEY, None)


def render(group: Group, criteria: dict[str, Any], can_act: bool) -> None:
    """The group's retry controls; ``criteria`` is the inbox filter (audited with it)."""
    owner = group.first.owner
    if not owner.retry_fixes:
        st.warning(
            widgets.escape(
                "A retry cannot fix this"
                + (f": {owner.fix_hint}" if owner.fix_hint else ": the same call fails again")
            ),
            icon=":material/build:",
        )
    if not group.step_ids:
        st.caption("These problems have no step to retry.")
        return
    if st.session_state.get(PREVIEW_KEY) != group.fingerprint:
        st.button(
            f"Preview a retry of this group ({len(group.step_ids)} problems)",
            key="inbox_preview_open",
            on_click=_open_preview,
            args=(group.fingerprint,),
            disabled=not can_act,
            type="primary",
        )
        return
    preview = inbox_state.preview(state.database_url(), group.fingerprint).within(
        group.step_ids, "outside the inbox filter"
    )
    with st.container(border=True, key="inbox_preview_box"):
        st.markdown(widgets.escape(preview.describe()))
        if preview.touch:
            labels.table(
                pd.DataFrame(
                    [
                        {
                            "step_id": s.step_id,
                            "eco": s.eco,
                            "plant": s.plant,
                            "supplier": s.supplier,
                            "state": s.state.value,
                        }
                        for s in preview.touch
                    ]
                ),
                hide_index=True,
                key="inbox_preview_touch",
            )
        if preview.left_alone:
            with st.expander(f"Left alone ({len(preview.left_alone)})"):
                labels.table(
                    pd.DataFrame([{"step_id": k, "why": v} for k, v in preview.left_alone.items()]),
                    hide_index=True,
                    key="inbox_preview_left",
                )
        reason = st.text_input("Reason for retrying (required)", key="inbox_retry_reason")
        sure = owner.retry_fixes or st.checkbox(
            "Retry anyway: I know the same call fails until this is fixed",
            key="inbox_retry_anyway",
        )
        confirm, cancel = st.columns(2)
        confirm.button(
            f"Retry these {len(preview.touch)} steps",
            key="inbox_retry_confirm",
            on_click=_confirm,
            args=(preview.step_ids, {**criteria, "fingerprint": group.fingerprint}),
            disabled=not can_act or not preview.touch or not reason.strip() or not sure,
            type="primary",
        )
        cancel.button("Close the preview", key="inbox_preview_close", on_click=_close_preview)


def _confirm(step_ids: list[str], criteria: dict[str, Any]) -> None:
    actions.retry_previewed(step_ids, "inbox_retry_reason", criteria)
    _close_preview()
