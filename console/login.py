"""Signing in and out: the password form over the users file, or OpenID Connect.

OpenID Connect is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section
(``st.login``); the role then comes from a claim or the e-mail mapping in the settings.
The signed-in :class:`~console.auth.User` lives in the session state.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import streamlit as st

from console import state
from console.auth import (
    ConsoleError,
    Permission,
    User,
    authenticate,
    load_accounts,
    role_from_claims,
)
from console.widgets import database_unavailable, escape, freshness_banner
from threadline.db import DATABASE_UNAVAILABLE

USER_KEY = "threadline_user"
FAILURES_KEY = "threadline_login_failures"
PROBLEM_KEY = "threadline_login_problem"
MAX_FAILURES = 5
LOCKOUT_SECONDS = 30.0

log = logging.getLogger(__name__)


def current_user() -> User | None:
    """The signed-in user of this session, if any."""
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User):
        return user
    if oidc_configured() and st.user.is_logged_in:
        user = _oidc_user(st.user.to_dict())
        if user is not None:
            st.session_state[USER_KEY] = user
        return user
    return None


def require(permission: Permission) -> User:
    """The signed-in user if they have ``permission``.

    Otherwise the page stops: with the sign-in form when nobody is signed in (so a shared
    link opens its page right after signing in), or with a refusal when the role lacks it.
    Every page calls this first, so every page, one added later too, opens with the
    freshness banner (how current the data is, and whether the pipeline is behind). Its
    query is the page's first read: when the database cannot be reached the page says so
    and stops, instead of failing on its own first query with a traceback.
    """
    user = current_user()
    if user is None:
        login_page()
        st.stop()
    if not user.can(permission):
        st.error("Your role does not allow this page.")
        st.stop()
    try:
        freshness_banner()
    except DATABASE_UNAVAILABLE as exc:
        log.warning("database unavailable: %s", type(exc).__name__)
        database_unavailable()
        st.stop()
    return user


def oidc_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` configures OpenID Connect."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


def sign_out() -> None:
    """End the session's sign-in (and the identity provider's, when used)."""
    user = st.session_state.pop(USER_KEY, None)
    if isinstance(user, User) and user.source == "oidc":
        st.logout()


def login_page() -> None:
    """The sign-in page: a password form, and the identity provider's button if configured."""
    st.title("Threadline")
    st.caption("Sign in to see where every engineering change stands.")
    if oidc_configured():
        if st.button("Sign in with your organisation's account", type="primary", key="oidc"):
            st.login()
        if st.user.is_logged_in and current_user() is None:
            st.error("Your account has no console role. Ask an administrator to grant one.")
    users_file = state.settings().console_users_file
    if users_file is None:
        if not oidc_configured():
            st.warning(
                "No console users are configured. Set THREADLINE_CONSOLE_USERS_FILE "
                "(add users with `threadline console add-user`) or configure OpenID "
                "Connect in .streamlit/secrets.toml."
            )
        return
    with st.form("login", clear_on_submit=False):
        st.text_input("Username", key="login_username")
        st.text_input("Password", type="password", key="login_password")
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in, args=(users_file,))
    problem = st.session_state.pop(PROBLEM_KEY, None)
    if problem:
        st.error(problem)


def _sign_in(users_file: Path) -> None:
    # A callback, so the rerun that follows the click already runs signed in.
    username = str(st.session_state.get("login_username") or "")
    password = str(st.session_state.get("login_password") or "")
    st.session_state["login_password"] = ""
    failures: list[float] = st.session_state.get(FAILURES_KEY, [])
    recent = [at for at in failures if time.monotonic() - at < LOCKOUT_SECONDS]
    if len(recent) >= MAX_FAILURES:
        st.session_state[PROBLEM_KEY] = (
            f"Too many failed attempts. Try again in {LOCKOUT_SECONDS:.0f} seconds."
        )
        return
    try:
        accounts = load_accounts(users_file)
    except ConsoleError as exc:
        st.session_state[PROBLEM_KEY] = f"Cannot read the users file: {escape(str(exc))}"
        return
    user = authenticate(accounts, username, password)
    if user is None:
        st.session_state[FAILURES_KEY] = [*recent, time.monotonic()]
        st.session_state[PROBLEM_KEY] = "Unknown username or wrong password."
        return
    st.session_state.pop(FAILURES_KEY, None)
    st.session_state[USER_KEY] = user


def _oidc_user(claims: dict[str, Any]) -> User | None:
    settings = state.settings()
    role = role_from_claims(
        claims,
        claim=settings.console_oidc_role_claim,
        by_email=settings.console_oidc_roles,
        default=settings.console_oidc_default_role,
    )
    if role is None:
        return None
    username = str(claims.get("email") or claims.get("sub") or "unknown")
    return User(
        username=username,
        display_name=str(claims.get("name") or username),
        role=role,
        source="oidc",
    )
