"""Password sessions: the cookie's signature and age, and the server-side record that
signing out revokes (storage cases on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from console import sessions
from console import tables as t
from console.login import SESSION_KEY, USER_KEY
from tests.console.conftest import APP, PASSWORD
from threadline.db import create_engine

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOURS_8 = timedelta(hours=8)


def test_a_cookie_carries_its_session_id_and_refuses_tampering() -> None:
    signer = sessions.SessionSigner("a-secret", HOURS_8)
    cookie = signer.cookie("session-1")
    assert signer.session_id(cookie) == "session-1"
    # The payload's first character: every bit of it counts (a last base64 character's
    # low bits may not).
    tampered = ("J" if cookie[0] != "J" else "K") + cookie[1:]
    assert signer.session_id(tampered) is None
    assert signer.session_id("session-1") is None
    assert signer.session_id("") is None and signer.session_id(None) is None
    assert sessions.SessionSigner("another-secret", HOURS_8).session_id(cookie) is None
    # A hand-off token is not a cookie, nor a cookie a hand-off.
    assert signer.session_id(signer.handoff("session-1")) is None
    assert signer.from_handoff(cookie) is None
    assert signer.from_handoff(signer.handoff("session-1")) == "session-1"
    with pytest.raises(ValueError, match="empty"):
        sessions.SessionSigner("", HOURS_8)


def test_a_cookie_older_than_the_session_lifetime_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = sessions.SessionSigner("a-secret", HOURS_8)
    issued = 1_800_000_000.0
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued)
    cookie, token = signer.cookie("s"), signer.handoff("s")
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued + 59)
    assert signer.from_handoff(token) == "s"
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued + 61)
    assert signer.from_handoff(token) is None
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued + 8 * 3600 - 1)
    assert signer.session_id(cookie) == "s"
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued + 8 * 3600 + 1)
    assert signer.session_id(cookie) is None


def test_a_session_lives_until_it_expires_or_is_revoked(engine: sa.Engine) -> None:
    first = sessions.open_session(engine, "ada", now=NOW, lifetime=HOURS_8)
    second = sessions.open_session(engine, "ada", now=NOW, lifetime=HOURS_8)
    assert first != second
    live = sessions.live_session(engine, first, now=NOW + timedelta(hours=7))
    assert live is not None and live.username == "ada"
    assert live.expires_at == NOW + HOURS_8
    assert sessions.live_session(engine, first, now=NOW + HOURS_8) is None
    assert sessions.live_session(engine, "no-such-session", now=NOW) is None

    assert sessions.revoke(engine, first, now=NOW + timedelta(hours=1))
    assert not sessions.revoke(engine, first, now=NOW + timedelta(hours=1))
    assert sessions.live_session(engine, first, now=NOW + timedelta(hours=1)) is None
    # Signing out one browser leaves the other signed in.
    assert sessions.live_session(engine, second, now=NOW + timedelta(hours=1)) is not None

    # Only a hash of the id is stored.
    with engine.connect() as connection:
        stored = connection.execute(sa.select(t.sessions.c.id_hash)).scalars().all()
    assert first not in stored and second not in stored and len(stored) == 2


def test_the_hand_off_works_once_and_not_for_an_ended_session(engine: sa.Engine) -> None:
    session = sessions.open_session(engine, "ada", now=NOW, lifetime=HOURS_8)
    assert not sessions.handed_off(engine, session)
    traded = sessions.hand_off(engine, session, now=NOW)
    assert traded is not None and traded.username == "ada"
    assert sessions.handed_off(engine, session)
    assert sessions.hand_off(engine, session, now=NOW) is None

    revoked = sessions.open_session(engine, "lin", now=NOW, lifetime=HOURS_8)
    sessions.revoke(engine, revoked, now=NOW)
    assert sessions.hand_off(engine, revoked, now=NOW) is None
    ended = sessions.open_session(engine, "lin", now=NOW, lifetime=HOURS_8)
    assert sessions.hand_off(engine, ended, now=NOW + HOURS_8) is None


def test_ended_sessions_are_dropped_a_day_later(engine: sa.Engine) -> None:
    old = sessions.open_session(engine, "ada", now=NOW, lifetime=HOURS_8)
    sessions.revoke(
        engine, sessions.open_session(engine, "lin", now=NOW, lifetime=HOURS_8), now=NOW
    )
    sessions.open_session(engine, "kim", now=NOW + timedelta(days=2), lifetime=HOURS_8)
    with engine.connect() as connection:
        names = connection.execute(sa.select(t.sessions.c.username)).scalars().all()
    assert names == ["kim"]
    assert sessions.live_session(engine, old, now=NOW) is None


def test_every_console_on_a_database_signs_with_the_same_key(engine: sa.Engine) -> None:
    first = sessions.signing_secret(engine, None, now=NOW)
    assert len(first) >= 48
    assert sessions.signing_secret(engine, None, now=NOW + timedelta(days=1)) == first
    assert sessions.signing_secret(engine, "configured", now=NOW) == "configured"
    one = sessions.signer_for(engine, configured=None, hours=8, now=NOW)
    other = sessions.signer_for(engine, configured=None, hours=8, now=NOW)
    assert other.session_id(one.cookie("s")) == "s"


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_signing_out_elsewhere_ends_this_tabs_sign_in_too(console_env: str) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key="login_username").input("operator")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.session_state[USER_KEY].username == "operator"
    session_id = at.session_state[SESSION_KEY]
    engine = create_engine(console_env)
    try:
        assert sessions.live_session(engine, session_id, now=datetime.now(UTC)) is not None
        sessions.revoke(engine, session_id, now=datetime.now(UTC))
    finally:
        engine.dispose()
    at.run()
    assert at.text_input(key="login_username") is not None
    assert USER_KEY not in at.session_state
