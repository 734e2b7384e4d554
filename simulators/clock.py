"""Where the simulators read the time: a callable, so tests and benchmarks can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
