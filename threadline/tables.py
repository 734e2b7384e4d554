"""Tables shared by every service.

``service_leases`` holds named, time-limited leases: the engine's PLM-poll leader and the
single-engine guard on SQLite. A lease belongs to ``holder`` until ``lease_until``.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.db import UTCDateTime, metadata

service_leases = sa.Table(
    "service_leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("lease_until", UTCDateTime(), nullable=False),
    sa.Column("acquired_at", UTCDateTime(), nullable=False),
)
