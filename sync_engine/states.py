"""The engine's state machines as data: which transitions of a step and of an ECO are
allowed.

Step states are :class:`contracts.steps.StepState`; :func:`sync_engine.store.transition`
is the only code that changes a step's state. An ECO's own lifecycle is
:class:`EcoProgress`; :func:`sync_engine.store.ecos.move_eco` is the only code that
changes it. Both refuse any pair not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from contracts import events as ev
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
            S.AWAITING_QUALIFICATION,
            S.PENDING,
            S.CANCELLED,
        }
    ),
    S.RETRYING: frozenset({S.RUNNING, S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.AWAITING_CONFIRMATION: frozenset({S.SUCCEEDED, S.BLOCKED, S.FAILED, S.CANCELLED}),
    # Procurement approved the qualification (due again), rejected it, or a person acted.
    S.AWAITING_QUALIFICATION: frozenset({S.PENDING, S.BLOCKED, S.SKIPPED, S.CANCELLED}),
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

QUEUED = frozenset(
    {
        S.WAITING,
        S.PENDING,
        S.RUNNING,
        S.RETRYING,
        S.AWAITING_CONFIRMATION,
        S.AWAITING_QUALIFICATION,
    }
)
"""States in which a step is already on its way (a retry click changes nothing)."""

CANCELLABLE = frozenset(
    {
        S.WAITING,
        S.PENDING,
        S.RETRYING,
        S.AWAITING_CONFIRMATION,
        S.AWAITING_QUALIFICATION,
        S.FAILED,
        S.BLOCKED,
    }
)
"""States an ECO's cancellation stops at once; a running step is cancelled when it returns."""


def allowed(old: StepState, new: StepState) -> bool:
    """Whether a step may move from ``old`` to ``new``."""
    return new in TRANSITIONS[old]


class EcoProgress(StrEnum):
    """Where an ECO stands in the engine (``sync_ecos.state``).

    Not the collector's read model of an ECO: this is the engine's own bookkeeping.
    """

    # Planned from PLM's approval; its steps are on their way.
    IN_PROGRESS = "in_progress"
    # Every plant's work succeeded or was skipped: the plants build the new revision.
    PRODUCTION_READY = "production_ready"
    # Stopped by an operator or by PLM (cancelled, superseded); unapplied BOMs withdrawn.
    CANCELLED = "cancelled"
    # Broke the contract when read from PLM, so it was never planned; a corrected version
    # from PLM is planned (or refused again).
    REJECTED = "rejected"


E = EcoProgress

ECO_TRANSITIONS: Mapping[EcoProgress | None, frozenset[EcoProgress]] = {
    # ``None``: not stored yet. An ECO read from PLM is planned or refused.
    None: frozenset({E.IN_PROGRESS, E.REJECTED}),
    E.IN_PROGRESS: frozenset({E.PRODUCTION_READY, E.CANCELLED}),
    # Cancelling a production-ready ECO still withdraws what ERP has not made effective.
    E.PRODUCTION_READY: frozenset({E.CANCELLED}),
    E.CANCELLED: frozenset(),
    # PLM corrected the ECO: planned now, or refused again with the new violations.
    E.REJECTED: frozenset({E.IN_PROGRESS, E.REJECTED}),
}
"""Allowed next states of an ECO in every state."""

ECO_EVENTS: Mapping[EcoProgress, type[ev.EventData]] = {
    E.IN_PROGRESS: ev.EcoReceived,
    E.PRODUCTION_READY: ev.EcoProductionReady,
    E.CANCELLED: ev.EcoCancelled,
    E.REJECTED: ev.EcoRejected,
}
"""The event that records an ECO's arrival in each state."""


def eco_allowed(old: EcoProgress | None, new: EcoProgress) -> bool:
    """Whether an ECO may move from ``old`` (``None``: not stored yet) to ``new``."""
    return new in ECO_TRANSITIONS[old]
