"""The state names the collector's read models store and the console reads.

The collector derives them from events (:mod:`collector.projections`); the dashboards and
the console filter and count by them. A step's own state is :class:`contracts.steps.StepState`.
"""

from __future__ import annotations

from enum import StrEnum


class EcoState(StrEnum):
    """Where an ECO stands, as the console shows it (``eco_status.state``)."""

    RECEIVED = "received"  # planned; no step has started
    IN_PROGRESS = "in_progress"  # steps are running or due
    BLOCKED = "blocked"  # a step is blocked or failed: a person must act
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # only ERP confirmations outstanding
    PRODUCTION_READY = "production_ready"  # every plant's last step succeeded
    CANCELLED = "cancelled"  # cancelled or superseded
    REJECTED = "rejected"  # broke governance rules


class PlantState(StrEnum):
    """Where one plant of an ECO stands (``eco_plants.state``)."""

    WAITING = "waiting"  # no step of the plant has started
    IN_PROGRESS = "in_progress"  # steps running or due
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # waiting for ERP only
    BLOCKED = "blocked"  # a business rejection stopped the plant
    FAILED = "failed"  # a step is dead-lettered
    PRODUCTION_READY = "production_ready"  # every step of the plant succeeded or was skipped
    CANCELLED = "cancelled"  # the plant's remaining steps were cancelled


class NoticeStatus(StrEnum):
    """Whether a supplier has been told of an ECO (``supplier_notices.status``)."""

    PENDING = "pending"  # not attempted yet, or an attempt is under way
    SENT = "sent"  # the supplier acknowledged the notice
    RETRYING = "retrying"  # an attempt failed transiently; another follows
    FAILED = "failed"  # attempts exhausted or rejected: a person must act
    SKIPPED = "skipped"  # resolved by hand, with a reason
    CANCELLED = "cancelled"  # the ECO was cancelled before the notice went out


class DriftCause(StrEnum):
    """Why a (plant, item) pair drifts: PLM, ERP, MES and Threadline disagree (``drift.cause``)."""

    IN_FLIGHT = "in_flight"  # the responsible ECO's steps are on their way
    BLOCKED = "blocked"  # a business rejection holds the ECO at the plant
    FAILED = "failed"  # a step of the ECO is dead-lettered
    CANCELLED = "cancelled"  # Threadline cancelled the ECO PLM still approves
    REJECTED = "rejected"  # the ECO broke governance rules and was never planned
    NOT_RECEIVED = "not_received"  # PLM approved an ECO Threadline has not propagated
    OUTSIDE = "outside"  # changed outside Threadline: no ECO of Threadline's explains it

    @property
    def threadline_owned(self) -> bool:
        """Whether Threadline's own work explains the drift (an operator may re-sync it)."""
        return self in THREADLINE_OWNED


THREADLINE_OWNED = frozenset({DriftCause.IN_FLIGHT, DriftCause.BLOCKED, DriftCause.FAILED})
"""Drift Threadline's own steps explain: a re-sync queues the ECO's stopped steps again."""
