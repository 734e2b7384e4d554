"""Password sign-ins that outlast the browser tab: a signed session cookie and its record.

Signing in with a password opens a session: a random id whose hash is stored with when it
ends (``console_sessions``). The browser then trades a one-time hand-off token for the
cookie at the server's own route (:mod:`console.launcher`), which sets it ``HttpOnly`` and
``SameSite=Lax``: page scripts never see it, and a shared link opened from elsewhere still
carries it. The cookie's value is the session id signed with a timestamp
(itsdangerous); it is accepted while the signature holds, it is younger than the session's
lifetime and its record is neither expired nor revoked. Signing out revokes the record,
so a copied cookie is refused afterwards even though its signature still holds.

Nothing here imports Streamlit; nothing here logs a cookie or a token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from console import tables as t
from threadline.db import insert_ignoring_conflicts

COOKIE = "threadline_session"
"""The session cookie's name."""
HANDOFF_SECONDS = 60
"""How long a hand-off token may wait for the browser to trade it for the cookie."""
KEY_NAME = "session-cookie"
_COOKIE_SALT = "threadline.console.session"
_HANDOFF_SALT = "threadline.console.handoff"
# Expired and revoked rows are dropped this long after they ended.
_KEEP_ENDED = timedelta(days=1)


@dataclass(frozen=True)
class Session:
    """A live password sign-in."""

    username: str
    expires_at: datetime


class SessionSigner:
    """Signs and checks session cookies and hand-off tokens with one secret."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        if not secret:
            raise ValueError("the session secret is empty")
        self.lifetime = lifetime
        self._cookie = URLSafeTimedSerializer(secret, salt=_COOKIE_SALT)
        self._handoff = URLSafeTimedSerializer(secret, salt=_HANDOFF_SALT)

    def cookie(self, session_id: str) -> str:
        """The cookie value carrying ``session_id``."""
        return str(self._cookie.dumps(session_id))

    def session_id(self, cookie: str | None) -> str | None:
        """The session id a cookie carries, if it is untampered and not older than the
        session lifetime; ``None`` otherwise."""
        return _loads(self._cookie, cookie, int(self.lifetime.total_seconds()))

    def handoff(self, session_id: str) -> str:
        """A token the browser trades once, within a minute, for the session cookie."""
        return str(self._handoff.dumps(session_id))

    def from_handoff(self, token: str | None) -> str | None:
        """The session id of an untampered hand-off token younger than a minute."""
        return _loads(self._handoff, token, HANDOFF_SECONDS)


def _loads(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> str | None:
    if not value:
        return None
    try:
        loaded = serializer.loads(value, max_age=max_age)
    except BadSignature:  # SignatureExpired is one
        return None
    return loaded if isinstance(loaded, str) else None


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def signing_secret(engine: sa.Engine, configured: str | None, *, now: datetime) -> str:
    """The secret that signs cookies: the configured one, else the key every console on
    this database shares (made once, by whichever console needs it first)."""
    if configured:
        return configured
    with engine.begin() as connection:
        insert_ignoring_conflicts(
            connection,
            t.keys,
            [{"name": KEY_NAME, "value": secrets.token_urlsafe(48), "created_at": now}],
        )
        return str(
            connection.execute(
                sa.select(t.keys.c.value).where(t.keys.c.name == KEY_NAME)
            ).scalar_one()
        )


def signer_for(
    engine: sa.Engine, *, configured: str | None, hours: float, now: datetime
) -> SessionSigner:
    """The signer of sessions lasting ``hours``, keyed as :func:`signing_secret` says."""
    return SessionSigner(signing_secret(engine, configured, now=now), timedelta(hours=hours))


def open_session(engine: sa.Engine, username: str, *, now: datetime, lifetime: timedelta) -> str:
    """Record a new sign-in of ``username`` ending after ``lifetime``; return its id."""
    session_id = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at < now - _KEEP_ENDED))
        connection.execute(sa.delete(t.sessions).where(t.sessions.c.revoked_at < now - _KEEP_ENDED))
        connection.execute(
            sa.insert(t.sessions).values(
                id_hash=_hash(session_id),
                username=username,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return session_id


def live_session(engine: sa.Engine, session_id: str, *, now: datetime) -> Session | None:
    """The session if it is neither expired nor revoked."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(t.sessions.c.username, t.sessions.c.expires_at).where(
                t.sessions.c.id_hash == _hash(session_id),
                t.sessions.c.revoked_at.is_(None),
                t.sessions.c.expires_at > now,
            )
        ).first()
    return None if row is None else Session(username=row.username, expires_at=row.expires_at)


def hand_off(engine: sa.Engine, session_id: str, *, now: datetime) -> Session | None:
    """Mark the session's hand-off used (it works once) and return the live session;
    ``None`` if it was used already, or the session ended."""
    with engine.begin() as connection:
        claimed = connection.execute(
            sa.update(t.sessions)
            .where(
                t.sessions.c.id_hash == _hash(session_id),
                t.sessions.c.handed_off_at.is_(None),
                t.sessions.c.revoked_at.is_(None),
                t.sessions.c.expires_at > now,
            )
            .values(handed_off_at=now)
        ).rowcount
    return live_session(engine, session_id, now=now) if claimed == 1 else None


def handed_off(engine: sa.Engine, session_id: str) -> bool:
    """Whether the browser already traded the session's hand-off for its cookie."""
    with engine.connect() as connection:
        at = connection.execute(
            sa.select(t.sessions.c.handed_off_at).where(t.sessions.c.id_hash == _hash(session_id))
        ).scalar_one_or_none()
    return at is not None


def revoke(engine: sa.Engine, session_id: str, *, now: datetime) -> bool:
    """End the session on the server (signing out); whether it was live."""
    with engine.begin() as connection:
        ended = connection.execute(
            sa.update(t.sessions)
            .where(t.sessions.c.id_hash == _hash(session_id), t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    return bool(ended == 1)
