"""The console's entry file: it routes to the pages the signed-in user's role allows.

Signed out, every page is registered but hidden from the menu, and each one shows the
sign-in form first, so a shared link (``/eco?eco=ECO-2026-00042``) survives signing in.
"""

from __future__ import annotations

import streamlit as st

from console import login, routes, state, widgets

st.set_page_config(page_title="Threadline", page_icon=":material/sync_alt:", layout="wide")
state.configure_logging()

user = login.current_user()
shown = routes.visible_to(user.role) if user is not None else list(routes.ROUTES)
sections: dict[str, list[st.Page]] = {}
for route in shown:
    sections.setdefault(route.section, []).append(
        st.Page(
            route.path,
            title=route.title,
            icon=route.icon,
            url_path=route.url_path,
            default=route.default,
        )
    )
if user is not None:
    login.hand_off()
    with st.sidebar:
        st.caption(f"Signed in as {widgets.escape(user.display_name)} ({user.role.value})")
        st.button("Sign out", key="sign_out", on_click=login.sign_out)
st.navigation(sections, position="sidebar" if user is not None else "hidden", expanded=True).run()
