"""Realistic CloudEvent streams of whole ECO propagations, as the engine emits them.

Used by the tests, the benchmark and anyone who needs plausible collector input without
running the engine: :func:`propagation_events` returns the events of one ECO from receipt
to production readiness, in emission order, built with :func:`contracts.events.new_event`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.events import (
    ConfirmationOverdue,
    EcoProductionReady,
    EcoReceived,
    EventData,
    PlantRevisionChanged,
    ProductionVersionConfirmed,
    StepError,
    SupplierNoticeFailed,
    SupplierNoticeSent,
    new_event,
    step_transition,
)
from contracts.operator_events import OperatorActionTaken
from contracts.steps import ErrorCategory, OperatorAction, StepKind, StepState, step_id

ENGINE_SOURCE = "/threadline/engine"
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

PLANT_KINDS = (
    StepKind.ERP_BOM,
    StepKind.ERP_ROUTING,
    StepKind.ERP_PRODUCTION_VERSION,
    StepKind.ERP_CONFIRMATION,
    StepKind.MES_ROUTING,
)


@dataclass(kw_only=True)
class Emitter:
    """Builds one ECO's events in time order, as the engine emits them.

    Each event is ``tick`` after the one before; ``sequence`` counts up behind an optional
    ``sequence_prefix`` (zero-padded to 20 characters in all).
    """

    eco: str
    source: str = ENGINE_SOURCE
    clock: datetime = START
    sequence: int = 0
    tick: timedelta = timedelta(milliseconds=250)
    sequence_prefix: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, data: EventData, subject: str | None = None) -> None:
        self.clock += self.tick
        self.sequence += 1
        width = 20 - len(self.sequence_prefix)
        self.events.append(
            new_event(
                data,
                source=self.source,
                time=self.clock,
                subject=subject,
                correlationid=self.eco,
                sequence=f"{self.sequence_prefix}{self.sequence:0{width}d}",
            )
        )

    def step(
        self,
        kind: StepKind,
        to_state: StepState,
        *,
        plant: str | None = None,
        item: str | None = None,
        supplier: str | None = None,
        revision: str | None = None,
        attempt: int = 0,
        **extra: Any,
    ) -> str:
        """Emit the step's arrival in ``to_state``; return its step id."""
        ident = step_id(self.eco, kind, plant, item or supplier)
        data = step_transition(
            to_state,
            eco=self.eco,
            step_id=ident,
            kind=kind,
            system=kind.system,
            plant=plant,
            item=item,
            supplier=supplier,
            revision=revision,
            attempt=attempt,
            idempotency_key=f"{ident}/{revision or '-'}",
            **extra,
        )
        self.emit(data)
        return ident


def _error(kind: StepKind, category: ErrorCategory, code: str, message: str) -> StepError:
    return StepError(
        category=category,
        code=code,
        message=message,
        fingerprint=f"{kind.system}:{kind}:{code}",
    )


def propagation_events(
    eco: str = "ECO-2026-00042",
    *,
    plants: Sequence[str] = ("P100", "P200"),
    items: Sequence[str] = ("ASM-1001",),
    revision: str = "C",
    suppliers: Sequence[str] = ("S010",),
    start: datetime = START,
    source: str = ENGINE_SOURCE,
    blocked_plant: str | None = None,
    sequence_start: int = 0,
) -> list[dict[str, Any]]:
    """The events of one ECO's whole propagation, in the order the engine emits them.

    Every plant and item gets BOM, routing, production version, ERP confirmation and MES
    routing steps; every supplier a notice that fails once before it is sent. With
    ``blocked_plant`` that plant's routing is first rejected (``WORK_CENTER_INACTIVE``)
    and then retried by an operator; its confirmation is also reported overdue.
    """
    out = Emitter(eco=eco, source=source, clock=start, sequence=sequence_start)
    step_count = len(items) * (1 + len(plants) * len(PLANT_KINDS)) + len(suppliers)
    out.emit(
        EcoReceived(
            eco=eco,
            title=f"Change {eco}",
            approved_at=start,
            effectivity=date(2026, 3, 16),
            items=list(items),
            revisions=dict.fromkeys(items, revision),
            product_families=["PUMPS"] * len(items),
            plants=list(plants),
            suppliers=list(suppliers),
            steps=step_count,
        ),
    )
    for item in items:
        out.step(StepKind.ERP_ITEM_REVISION, StepState.WAITING, item=item, revision=revision)
        for plant in plants:
            for kind in PLANT_KINDS:
                out.step(kind, StepState.WAITING, plant=plant, item=item, revision=revision)
    for supplier in suppliers:
        out.step(StepKind.SUPPLIER_NOTICE, StepState.WAITING, supplier=supplier)
    for item in items:
        for state in (StepState.PENDING, StepState.RUNNING, StepState.SUCCEEDED):
            out.step(StepKind.ERP_ITEM_REVISION, state, item=item, revision=revision)
    for supplier in suppliers:
        _supplier_notice(out, supplier, list(items))
    for item in items:
        for plant in plants:
            _plant(out, plant, item, revision, blocked=plant == blocked_plant)
    ready_at = out.clock + timedelta(milliseconds=250)
    out.emit(
        EcoProductionReady(
            eco=eco,
            approved_at=start,
            erp_confirmed_at=start + timedelta(seconds=1),
            production_ready_at=ready_at,
            cycle_time_seconds=(ready_at - start).total_seconds(),
            plants=list(plants),
        ),
    )
    return out.events


def _supplier_notice(out: Emitter, supplier: str, items: list[str]) -> None:
    kind = StepKind.SUPPLIER_NOTICE
    out.step(kind, StepState.PENDING, supplier=supplier)
    out.step(kind, StepState.RUNNING, supplier=supplier, attempt=1)
    error = _error(kind, ErrorCategory.TRANSIENT, "HTTP_502", "procurement portal unreachable")
    retry_at = out.clock + timedelta(seconds=30)
    out.step(
        kind,
        StepState.RETRYING,
        supplier=supplier,
        attempt=1,
        error=error,
        next_attempt_at=retry_at,
    )
    out.emit(
        SupplierNoticeFailed(
            eco=out.eco,
            supplier=supplier,
            attempt=1,
            error=error,
            final=False,
            next_attempt_at=retry_at,
        ),
    )
    out.step(kind, StepState.RUNNING, supplier=supplier, attempt=2)
    out.emit(
        SupplierNoticeSent(
            eco=out.eco, supplier=supplier, notice_id=f"N-{supplier}", items=items, attempt=2
        ),
    )
    out.step(kind, StepState.SUCCEEDED, supplier=supplier, attempt=2)


def _plant(out: Emitter, plant: str, item: str, revision: str, *, blocked: bool) -> None:
    where: dict[str, Any] = {"plant": plant, "item": item, "revision": revision}
    for kind in (StepKind.ERP_BOM, StepKind.ERP_ROUTING):
        out.step(kind, StepState.PENDING, **where)
        out.step(kind, StepState.RUNNING, attempt=1, **where)
        if blocked and kind == StepKind.ERP_ROUTING:
            error = _error(
                kind,
                ErrorCategory.BUSINESS,
                "WORK_CENTER_INACTIVE",
                f"work center WC-{plant}-01 is inactive",
            )
            out.step(kind, StepState.BLOCKED, attempt=1, error=error, **where)
            out.emit(
                OperatorActionTaken(
                    actor="sam",
                    role="support",
                    action=OperatorAction.RETRY,
                    eco=out.eco,
                    step_ids=[f"{out.eco}/{kind}/{plant}/{item}"],
                    reason="work center activated",
                    outcome="queued",
                    affected=1,
                ),
            )
            out.step(kind, StepState.PENDING, attempt=1, **where)
            out.step(kind, StepState.RUNNING, attempt=2, **where)
        out.step(kind, StepState.SUCCEEDED, attempt=2 if blocked else 1, **where)
    kind = StepKind.ERP_PRODUCTION_VERSION
    for state in (StepState.PENDING, StepState.RUNNING, StepState.SUCCEEDED):
        out.step(kind, state, attempt=1, **where)
    kind = StepKind.ERP_CONFIRMATION
    out.step(kind, StepState.PENDING, **where)
    out.step(
        kind, StepState.AWAITING_CONFIRMATION, attempt=1, production_version=f"PV-{plant}", **where
    )
    requested_at = out.clock
    if blocked:
        out.emit(
            ConfirmationOverdue(
                eco=out.eco,
                plant=plant,
                item=item,
                revision=revision,
                requested_at=requested_at,
                sla_seconds=600,
            ),
        )
    out.emit(
        ProductionVersionConfirmed(
            eco=out.eco,
            plant=plant,
            item=item,
            revision=revision,
            production_version=f"PV-{plant}",
            requested_at=requested_at,
            confirmed_at=out.clock + timedelta(milliseconds=100),
        ),
    )
    out.step(kind, StepState.SUCCEEDED, attempt=1, **where)
    out.emit(
        PlantRevisionChanged(
            plant=plant,
            item=item,
            old_revision="B",
            new_revision=revision,
            eco=out.eco,
            effective_from=date(2026, 3, 16),
        ),
        subject=f"{plant}/{item}",
    )
    kind = StepKind.MES_ROUTING
    for state in (StepState.PENDING, StepState.RUNNING, StepState.SUCCEEDED):
        out.step(kind, state, attempt=1, **where)


def eco_number(index: int, year: int = 2026) -> str:
    """The ``index``-th ECO number of ``year`` (``ECO-2026-00042``)."""
    return f"ECO-{year}-{index:05d}"


def many_propagations(count: int, *, first: int = 1, **options: Any) -> Iterator[dict[str, Any]]:
    """The events of ``count`` ECO propagations, one ECO after another."""
    for index in range(first, first + count):
        start = START + timedelta(minutes=index)
        yield from propagation_events(
            eco_number(index), start=start, sequence_start=index * 1000, **options
        )
