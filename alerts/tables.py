"""Alert state (SQLAlchemy Core). Only :mod:`alerts.store` queries these tables.

- ``alerts``: one row per firing episode of a rule's group (``rule``, ``key``): when it
  fired, was last seen and resolved, what it says and links to, when it was last
  notified, the message still owed to which targets (a failed delivery is retried), and
  who acknowledged or silenced it until when, and why.
- ``alert_targets``: each configured notification target by a digest of its URL (the URL
  itself carries secrets and is never stored), with a printable label and its last
  delivery result, so the Alerts page shows a failing target.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.db import JSONDoc, UTCDateTime, metadata

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("lines", JSONDoc, nullable=False),
    sa.Column("link", sa.String(1000), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("last_notified_at", UTCDateTime(), nullable=True),
    sa.Column("notifications", sa.Integer(), nullable=False, server_default="0"),
    # The message still to deliver (fired, reminder, resolved) and to which target ids.
    sa.Column("owed", sa.String(20), nullable=True),
    sa.Column("owed_targets", JSONDoc, nullable=True),
    sa.Column("next_delivery_at", UTCDateTime(), nullable=True),
    sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
    sa.Column("acknowledged_by", sa.String(200), nullable=True),
    sa.Column("acknowledge_reason", sa.Text(), nullable=True),
    sa.Column("silenced_until", UTCDateTime(), nullable=True),
    sa.Column("silenced_by", sa.String(200), nullable=True),
    sa.Column("silence_reason", sa.Text(), nullable=True),
    sa.Index("ix_alerts_rule_key_state", "rule", "key", "state"),
    sa.Index("ix_alerts_owed", "owed", "next_delivery_at"),
)

alert_targets = sa.Table(
    "alert_targets",
    metadata,
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("label", sa.String(300), nullable=False),
    sa.Column("last_ok_at", UTCDateTime(), nullable=True),
    sa.Column("last_failed_at", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
)
