"""The step state machine as data: which transitions are allowed.

States are :class:`contracts.steps.StepState`. :func:`sync_engine.store.transition` is the
only code that changes a step's state; it refuses any pair not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.steps import StepState

S = StepState

TRANSITIONS: Mapping[StepState, frozenset[StepState]] = {
    # Dependencies done (and earlier ECOs on the same items finished): due now.
    S.WAITING: frozenset({S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.PENDING: frozenset({S.RUNNING, S.SKIPPED, S.CANCELLED}),
    # A running step ends one way or another; back to pending only when its lease expired.
    S.RUNNING: frozenset(
        {
            S.SUCCEEDED,
            S.RETRYING,
            S.FAILED,
            S.BLOCKED,
            S.AWAITING_CONFIRMATION,
            S.PENDING,
            S.CANCELLED,
        }
    ),
    S.RETRYING: frozenset({S.RUNNING, S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.AWAITING_CONFIRMATION: frozenset({S.SUCCEEDED, S.BLOCKED, S.FAILED, S.CANCELLED}),
    # Only an operator moves a step out of these: retry (pending), skip, or cancel.
    S.FAILED: frozenset({S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.BLOCKED: frozenset({S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.SKIPPED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Allowed next states of every state."""

RETRYABLE = frozenset({S.FAILED, S.BLOCKED})
"""States an operator's retry moves back to ``pending``."""

QUEUED = frozenset({S.WAITING, S.PENDING, S.RUNNING, S.RETRYING, S.AWAITING_CONFIRMATION})
"""States in which a step is already on its way (a retry click changes nothing)."""

CANCELLABLE = frozenset(
    {S.WAITING, S.PENDING, S.RETRYING, S.AWAITING_CONFIRMATION, S.FAILED, S.BLOCKED}
)
"""States an ECO's cancellation stops at once; a running step is cancelled when it returns."""


def allowed(old: StepState, new: StepState) -> bool:
    """Whether a step may move from ``old`` to ``new``."""
    return new in TRANSITIONS[old]
