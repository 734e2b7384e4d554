"""The exception inbox: every open problem (blocked, dead-lettered, ERP confirmation
rejected, rejected ECO, drift) grouped by fingerprint, with owner, runbook and severity
from the ownership rules; a group's retry is previewed before it runs.

The filter lives in the page address (``?team=...&plant=...&status=new&age=3600``), so a
filtered inbox can be shared; ``?plant_state=blocked`` opens the stopped plants (the
Overview's figure, exactly).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from console import actions, inbox_state, labels, login, widgets
from console.auth import Permission
from console.sections import group_retry, problem, stopped_plants
from dashboards.exceptions import PlantFilter
from dashboards.inbox import InboxFilter, InboxRow, groups
from sync_engine.store import ProblemStatus

KEY = "inbox"
CONTROLS = {
    "inbox_team": "teams",
    "inbox_plant": "plants",
    "inbox_supplier": "suppliers",
    "inbox_system": "systems",
    "inbox_code": "codes",
    "inbox_status": "statuses",
}


def _from_controls() -> InboxFilter:
    hours = st.session_state.get("inbox_age") or 0
    chosen = {field: tuple(st.session_state.get(name) or ()) for name, field in CONTROLS.items()}
    return InboxFilter(
        teams=chosen["teams"],
        plants=chosen["plants"],
        suppliers=chosen["suppliers"],
        systems=chosen["systems"],
        codes=chosen["codes"],
        statuses=tuple(ProblemStatus(s) for s in chosen["statuses"]),
        min_age=timedelta(hours=float(hours)) if hours else None,
        fingerprint=st.session_state.get("inbox_group"),
    )


def _age(row: InboxRow, now: datetime) -> str:
    minutes = int(row.age(now).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


login.require(Permission.OPERATIONS)
st.title("Inbox")
can_act = actions.allowed()
actions.show_flash()
query = widgets.address()
if "plant_state" in query:
    st.caption("Stopped plants: the (ECO, plant) pairs a blocked or failed step stops.")
    st.button("Back to the inbox", key="inbox_show", on_click=st.query_params.clear)
    stopped_plants.render(PlantFilter.from_query(query))
    st.stop()

rules = inbox_state.rules()
criteria = InboxFilter.from_query(query)
everything = inbox_state.rows(InboxFilter())
widgets.follow_address(
    KEY,
    {
        **{name: list(getattr(criteria, field)) for name, field in CONTROLS.items()},
        "inbox_age": criteria.min_age.total_seconds() / 3600 if criteria.min_age else 0.0,
        "inbox_group": criteria.fingerprint,
    },
)
options = {
    "inbox_team": rules.teams,
    "inbox_plant": sorted({r.problem.plant for r in everything if r.problem.plant}),
    "inbox_supplier": sorted({r.problem.supplier for r in everything if r.problem.supplier}),
    "inbox_system": sorted({r.problem.system for r in everything if r.problem.system}),
    "inbox_code": sorted({r.problem.code for r in everything if r.problem.code}),
    "inbox_status": [s.value for s in ProblemStatus if s is not ProblemStatus.RESOLVED],
}
group_labels = {
    "inbox_team": "Team",
    "inbox_plant": "Plant",
    "inbox_supplier": "Supplier",
    "inbox_system": "System",
    "inbox_code": "Error code",
    "inbox_status": "Status",
}
columns = st.columns(len(CONTROLS) + 1)
for column, (name, label) in zip(columns, group_labels.items(), strict=False):
    chosen = [v for v in st.session_state.get(name) or [] if v not in options[name]]
    column.multiselect(
        label,
        options[name] + chosen,
        key=name,
        on_change=widgets.to_address,
        args=(KEY, _from_controls),
    )
columns[-1].number_input(
    "Open at least (h)",
    min_value=0.0,
    step=1.0,
    key="inbox_age",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
criteria = _from_controls()
unfiltered = replace(criteria, fingerprint=None)
widgets.active_filter(KEY, unfiltered, InboxFilter())
rows = inbox_state.rows(unfiltered)
now = datetime.now(UTC)
found = groups(rows)
if not found:
    st.success("No open problem matches." if unfiltered.describe() else "No open problem.")
    st.stop()
st.caption(f"{len(rows)} open problems in {len(found)} groups")
table = pd.DataFrame(
    [
        {
            "fingerprint": g.fingerprint,
            "problems": len(g.rows),
            "source": g.first.problem.source,
            "team": g.first.owner.team,
            "severity": g.first.owner.severity.value,
            "code": g.first.problem.code,
            "retry fixes": "yes" if g.first.owner.retry_fixes else "no",
            "oldest": _age(max(g.rows, key=lambda r: r.age(now)), now),
            "runbook": g.first.owner.runbook,
        }
        for g in found
    ]
)
labels.table(
    table,
    hide_index=True,
    key="inbox_groups",
    column_config={"runbook": st.column_config.LinkColumn("Runbook", display_text="open")},
)
by_fingerprint = {g.fingerprint: g for g in found}
if st.session_state.get("inbox_group") not in by_fingerprint:
    st.session_state["inbox_group"] = found[0].fingerprint
fingerprint = st.selectbox(
    "Group",
    list(by_fingerprint),
    format_func=lambda f: f"{f} ({len(by_fingerprint[f].rows)})",
    key="inbox_group",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
group = by_fingerprint[fingerprint]
group_retry.render(group, unfiltered.to_query(), can_act)
labels.table(
    pd.DataFrame(
        [
            {
                "problem": r.problem.key,
                "eco": widgets.eco_url(r.problem.eco) if r.problem.eco else None,
                "plant": r.problem.plant,
                "item": r.problem.item,
                "supplier": r.problem.supplier,
                "state": r.problem.state,
                "status": r.status.value,
                "assignee": r.state.assignee,
                "age": _age(r, now),
                "message": r.problem.message,
            }
            for r in group.rows
        ]
    ),
    hide_index=True,
    key="inbox_rows",
    column_config={"eco": widgets.eco_link_column()},
)
st.subheader("One problem")
keys = [r.problem.key for r in group.rows]
chosen_key = st.selectbox("Problem", keys, key="inbox_problem")
if chosen_key is not None:
    problem.render(group.rows[keys.index(chosen_key)], can_act)
