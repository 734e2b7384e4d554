"""The console's own tables (SQLAlchemy Core). Only :mod:`console.sessions` queries them.

- ``console_sessions``: one row per password sign-in, keyed by a hash of its session id
  (the id itself lives only in the signed cookie), with when it ends and when it was
  signed out; the cookie is accepted only while its row is neither expired nor revoked.
- ``console_keys``: the key that signs session cookies when
  ``THREADLINE_CONSOLE_SESSION_SECRET`` is unset, made by the first console that needs
  it, so every console on the database (and the next start) accepts the same cookies.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.db import UTCDateTime, metadata

sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    # When the browser exchanged the one-time hand-off for its cookie (once only).
    sa.Column("handed_off_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

keys = sa.Table(
    "console_keys",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
