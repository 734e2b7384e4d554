"""Signing in and out: the password form over the users file, or OpenID Connect.

OpenID Connect is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section
(``st.login``); the role then comes from a claim or the e-mail mapping in the settings.
The signed-in :class:`~console.auth.User` lives in the session state. A password sign-in
also opens a server-side session (:mod:`console.sessions`) whose signed, HttpOnly cookie
the server's own route sets (:mod:`console.launcher`), so a reload or a shared link opens
signed in until the session ends; the page only passes that route a one-time hand-off.
Each sign-in re-reads the user's account, so a removed user or a changed role counts at
once; signing out revokes the session on the server and asks the server to clear the
cookie.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from console import sessions, state
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
SESSION_KEY = "threadline_session_id"
HANDOFF_KEY = "threadline_session_handoff"
CLEAR_KEY = "threadline_session_clear"
SESSION_PATH = "/_threadline/session"
SIGN_OUT_PATH = "/_threadline/sign-out"
FAILURES_KEY = "threadline_login_failures"
PROBLEM_KEY = "threadline_login_problem"
MAX_FAILURES = 5
LOCKOUT_SECONDS = 30.0

log = logging.getLogger(__name__)


def current_user() -> User | None:
    """The signed-in user of this session, if any."""
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User) and _still_signed_in():
        return user
    user = _from_cookie()
    if user is not None:
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
    """End the session's sign-in (and the identity provider's, when used): a password
    session is revoked on the server, so its cookie is refused even if replayed."""
    user = st.session_state.pop(USER_KEY, None)
    session_id = st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(HANDOFF_KEY, None)
    if isinstance(session_id, str):
        url = state.database_url()
        sessions.revoke(state.command_engine(url), session_id, now=datetime.now(UTC))
        st.session_state[CLEAR_KEY] = True
    if isinstance(user, User) and user.source == "oidc":
        st.logout()


def hand_off() -> None:
    """After a password sign-in, have the browser trade the one-time hand-off for the
    session cookie at the server's route (the cookie is HttpOnly: no script sees it).

    Offered on every run until the server took it (a run may be replaced before the
    browser ran the previous one's script), for at most the hand-off's minute.
    """
    token = st.session_state.get(HANDOFF_KEY)
    session_id = st.session_state.get(SESSION_KEY)
    if not isinstance(token, str) or not isinstance(session_id, str):
        return
    engine = state.command_engine(state.database_url())
    if state.session_signer(state.database_url()).from_handoff(token) is None or (
        sessions.handed_off(engine, session_id)
    ):
        st.session_state.pop(HANDOFF_KEY, None)
        return
    _post(SESSION_PATH, {"handoff": token})


def _post(path: str, form: dict[str, str]) -> None:
    # Our own fixed script and URL-safe tokens: nothing stored or typed is rendered.
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    target = f"/{base}{path}" if base else path
    body = "&".join(f"{name}={value}" for name, value in form.items())
    st.html(
        "<script>fetch("
        f"{json.dumps(target)}, {{method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/x-www-form-urlencoded'}, "
        f"body: {json.dumps(body)}}})</script>",
        unsafe_allow_javascript=True,
    )


def _still_signed_in() -> bool:
    """Whether this session's sign-in holds: a password sign-in only while its server-side
    session is live (signing out in another tab, or its end, signs this one out too)."""
    session_id = st.session_state.get(SESSION_KEY)
    if not isinstance(session_id, str):
        return True
    engine = state.command_engine(state.database_url())
    if sessions.live_session(engine, session_id, now=datetime.now(UTC)) is not None:
        return True
    for key in (USER_KEY, SESSION_KEY, HANDOFF_KEY):
        st.session_state.pop(key, None)
    return False


def _from_cookie() -> User | None:
    """The user of a live password session named by this browser's cookie, if any."""
    cookie = st.context.cookies.get(sessions.COOKIE)
    users_file = state.settings().console_users_file
    if not cookie or users_file is None:
        return None
    url = state.database_url()
    session_id = state.session_signer(url).session_id(cookie)
    if session_id is None:
        return None
    session = sessions.live_session(state.command_engine(url), session_id, now=datetime.now(UTC))
    if session is None:
        return None
    try:
        account = load_accounts(users_file).get(session.username)
    except ConsoleError:
        return None
    if account is None:
        return None
    user = account.user()
    st.session_state[USER_KEY] = user
    st.session_state[SESSION_KEY] = session_id
    return user


def login_page() -> None:
    """The sign-in page: a password form, and the identity provider's button if configured."""
    if st.session_state.pop(CLEAR_KEY, False):
        _post(SIGN_OUT_PATH, {})
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
    url = state.database_url()
    lifetime = timedelta(hours=state.settings().console_session_hours)
    session_id = sessions.open_session(
        state.command_engine(url), user.username, now=datetime.now(UTC), lifetime=lifetime
    )
    st.session_state[SESSION_KEY] = session_id
    st.session_state[HANDOFF_KEY] = state.session_signer(url).handoff(session_id)


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
