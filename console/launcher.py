"""The console as an ASGI app: Streamlit's ``st.App`` serving ``app.py``, plus the server's
own routes that set and clear the session cookie (:mod:`console.sessions`).

- ``POST /_threadline/session`` trades the one-time hand-off token the sign-in gave the page
  for the session cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS);
- ``POST /_threadline/sign-out`` revokes the session the cookie names and clears it;
- a middleware clears a session cookie that no longer verifies (tampered or too old) on
  whatever the browser asks for next.

Requests from another origin are refused. ``streamlit run`` finds ``app`` here and serves
it with uvicorn (:mod:`console.server`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit.runtime.pages_manager import PagesManager

from console import sessions
from threadline.db import create_engine
from threadline.settings import get_settings

SCRIPT = Path(__file__).parent / "app.py"
SESSION_PATH = "/_threadline/session"
SIGN_OUT_PATH = "/_threadline/sign-out"


@cache
def _engine() -> sa.Engine:
    return create_engine(get_settings().database_url)


@cache
def signer() -> sessions.SessionSigner:
    """The signer of this console's cookies (its key read once)."""
    settings = get_settings()
    configured = settings.console_session_secret
    return sessions.signer_for(
        _engine(),
        configured=configured.get_secret_value() if configured else None,
        hours=settings.console_session_hours,
        now=datetime.now(UTC),
    )


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _refused(detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=403)


async def trade_handoff(request: Request) -> Response:
    """Set the session cookie for a valid, unused hand-off token."""
    if not _same_origin(request):
        return _refused("cross-origin request")
    form = await request.form()
    token = form.get("handoff")
    session_id = signer().from_handoff(token if isinstance(token, str) else None)
    now = datetime.now(UTC)
    session = (
        None
        if session_id is None
        else await run_in_threadpool(sessions.hand_off, _engine(), session_id, now=now)
    )
    if session_id is None or session is None:
        return _refused("the sign-in hand-off is invalid, used or expired")
    response = Response(status_code=204)
    response.set_cookie(
        sessions.COOKIE,
        signer().cookie(session_id),
        max_age=max(1, int((session.expires_at - now).total_seconds())),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


async def sign_out(request: Request) -> Response:
    """Revoke the cookie's session on the server and clear the cookie."""
    if not _same_origin(request):
        return _refused("cross-origin request")
    session_id = signer().session_id(request.cookies.get(sessions.COOKIE))
    if session_id is not None:
        await run_in_threadpool(sessions.revoke, _engine(), session_id, now=datetime.now(UTC))
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")
    return response


class ClearStaleCookie:
    """Clears a session cookie that no longer verifies, on any HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._stale(scope):
            await self.app(scope, receive, send)
            return
        expired = f"{sessions.COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"

        async def clearing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"set-cookie", expired.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, clearing)

    @staticmethod
    def _stale(scope: Scope) -> bool:
        raw = b"; ".join(value for name, value in scope["headers"] if name == b"cookie")
        if sessions.COOKIE.encode() not in raw:
            return False
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw.decode("latin-1"))
        morsel = jar.get(sessions.COOKIE)
        return morsel is not None and signer().session_id(morsel.value) is None


# Every page goes through st.navigation in app.py. Streamlit decides per process, on the
# first session, whether the legacy pages/ directory mode applies, and leaves it only
# once some session has called st.navigation: a fresh server whose first visitor opens a
# shared link (/eco?eco=...) would run that page without app.py.
PagesManager.uses_pages_directory = False

app = st.App(
    SCRIPT,
    routes=[
        Route(SESSION_PATH, trade_handoff, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ],
    middleware=[Middleware(ClearStaleCookie)],
)
