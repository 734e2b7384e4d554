"""While the database is unreachable every page says so instead of showing a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.auth import Role, User
from console.login import USER_KEY
from console.routes import Route, visible_to
from tests.console.conftest import APP, TIMEOUT
from threadline.settings import get_settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("route", visible_to(Role.ADMIN), ids=lambda r: r.url_path)
def test_every_page_says_the_database_is_unreachable(
    route: Route, users_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "THREADLINE_DATABASE_URL",
        f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/threadline",
    )
    monkeypatch.setenv("THREADLINE_CONSOLE_USERS_FILE", str(users_file))
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.session_state[USER_KEY] = User(username="admin", display_name="Admin", role=Role.ADMIN)
        at.run()
        at.switch_page(str(route.path)).run()
        assert not at.exception, at.exception
        assert any("database is unreachable" in e.value for e in at.error), [
            e.value for e in at.error
        ]
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_settings.cache_clear()
