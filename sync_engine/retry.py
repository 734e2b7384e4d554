"""Retries as data: a frozen policy per system and a pure :func:`decide`.

Only :class:`~sync_engine.errors.TransientError` retries; business and contract errors
never do. The delay grows exponentially from ``base_delay`` up to ``max_delay``, with
jitter so steps that failed together do not come back together; a server's
``Retry-After`` is honoured as a lower bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.steps import System
from sync_engine.errors import CallError, TransientError


class RetryPolicy(BaseModel):
    """How one system's transient failures are retried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=8, ge=1, description="attempts in all, the first included")
    base_delay: float = Field(default=1.0, ge=0, description="seconds before the first retry")
    max_delay: float = Field(default=60.0, ge=0, description="cap on one delay, seconds")
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(
        default=0.5, ge=0, le=1, description="share of each delay that is randomised"
    )
    max_retry_after: float = Field(
        default=300.0, ge=0, description="a server's Retry-After is honoured up to this"
    )


DEFAULT_POLICIES: Mapping[System, RetryPolicy] = {
    System.PLM: RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0),
    System.ERP: RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=60.0),
    System.MES: RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=60.0),
    # Supplier portals stay down for longer; fewer, slower attempts, then a person decides.
    System.PROCUREMENT: RetryPolicy(max_attempts=5, base_delay=5.0, max_delay=300.0),
}


def policies(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[System, RetryPolicy]:
    """The default policies with per-system overrides: ``{"erp": {"max_attempts": 3}}``."""
    result = dict(DEFAULT_POLICIES)
    for system, fields in (overrides or {}).items():
        key = System(system)
        result[key] = RetryPolicy.model_validate({**result[key].model_dump(), **fields})
    return result


def delay(policy: RetryPolicy, attempt: int, draw: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); ``draw`` in [0, 1)."""
    raw = min(policy.max_delay, policy.base_delay * policy.multiplier ** max(0, attempt - 1))
    return raw * (1.0 - policy.jitter + policy.jitter * draw)


def decide(
    policy: RetryPolicy, error: CallError, attempt: int, now: datetime, draw: float
) -> datetime | None:
    """When to try again after ``error`` ended attempt number ``attempt``, or ``None``
    (not transient, or attempts exhausted). ``draw`` is a uniform random number in [0, 1).
    """
    if not isinstance(error, TransientError) or attempt >= policy.max_attempts:
        return None
    seconds = delay(policy, attempt, draw)
    if error.retry_after is not None:
        seconds = max(seconds, min(error.retry_after, policy.max_retry_after))
    return now + timedelta(seconds=seconds)
