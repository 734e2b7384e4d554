"""Operations: every operator action that changed steps, followed to its end — queued,
running, then ``done: N succeeded, M failed again (CODE)`` once every step settled.

``?operation=ID`` opens one operation with its steps and what it left out, and why.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import actions, inbox_state, labels, login, state, widgets
from console.auth import Permission
from console.sections import operations as followed

LIMIT = 200

login.require(Permission.OPERATIONS)
st.title("Operations")
actions.show_flash()
url = state.database_url()
recent = inbox_state.operations(url, LIMIT)
if not recent:
    st.info("No operator action has changed a step yet.")
    st.stop()
labels.table(
    pd.DataFrame(
        [
            {
                "id": o.id,
                "action": o.action.value,
                "actor": o.actor,
                "role": o.role,
                "reason": o.reason,
                "status": o.status.value,
                "outcome": o.summary,
                "steps": len(o.steps),
                "started": o.created_at,
                "finished": o.finished_at,
            }
            for o in recent
        ]
    ),
    hide_index=True,
    key="operations_table",
    column_config={
        "started": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
        "finished": st.column_config.DatetimeColumn("Finished", format="YYYY-MM-DD HH:mm:ss"),
    },
)
ids = [o.id for o in recent]
asked = st.query_params.get("operation")
if asked in ids and st.session_state.get("operations_pick") is None:
    st.session_state["operations_pick"] = asked
chosen = st.selectbox("Operation", ids, key="operations_pick")
one = followed.operation(url, chosen) if chosen else None
if one is not None:
    st.query_params["operation"] = one.id
    followed.show(one)
    st.caption(widgets.escape(f"Reason: {one.reason}"))
    labels.table(
        pd.DataFrame(
            [
                {
                    "step_id": s.step_id,
                    "now": s.state.value if s.state else None,
                    "ended": s.outcome.value if s.outcome else None,
                    "code": s.code,
                    "settled": s.settled_at,
                }
                for s in one.steps
            ]
        ),
        hide_index=True,
        key="operation_steps",
    )
    if one.left_out:
        with st.expander(f"Left out ({len(one.left_out)})"):
            labels.table(pd.DataFrame(one.left_out), hide_index=True, key="operation_left_out")
