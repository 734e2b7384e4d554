"""Fixtures for the console: a users file, settings pointing at the test database, and
``AppTest`` instances of the real entry file signed in as a given role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.auth import Account, Role, User, hash_password, save_account
from console.login import USER_KEY
from threadline.settings import get_settings

APP = Path(__file__).resolve().parents[2] / "console" / "app.py"
PASSWORD = "correct horse battery"
TIMEOUT = 60


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def users_file(tmp_path: Path, password_hash: str) -> Path:
    path = tmp_path / "users.toml"
    for role in Role:
        save_account(
            path,
            Account.model_validate(
                {
                    "username": role.value,
                    "display_name": f"{role.value.title()} Person",
                    "role": role,
                    "password_hash": password_hash,
                }
            ),
        )
    return path


@pytest.fixture
def console_env(
    database_url: str, users_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Settings that point the console at the test database and users file."""
    monkeypatch.setenv("THREADLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("THREADLINE_CONSOLE_USERS_FILE", str(users_file))
    get_settings.cache_clear()
    st.cache_data.clear()
    yield database_url
    st.cache_data.clear()
    st.cache_resource.clear()
    get_settings.cache_clear()


@pytest.fixture
def open_app(console_env: str) -> Callable[..., AppTest]:
    """An ``AppTest`` of the console signed in as ``role`` and showing ``page``."""

    def make(role: Role | None, page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        if role is not None:
            at.session_state[USER_KEY] = User(
                username=role.value, display_name=f"{role.value.title()} Person", role=role
            )
        at.query_params.update(query)
        at.run()
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return make
