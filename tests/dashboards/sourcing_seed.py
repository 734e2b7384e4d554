"""Purchasing stories through the collector's store: info records waiting on
qualification (one past its SLA, one central), one rejected, one without a contract, one
activated after its approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.derived import ConfirmationSla
from collector.samples import Emitter
from collector.store import EventStore
from contracts import events as ev
from contracts import sourcing_events as se
from contracts.steps import ErrorCategory, StepKind, StepState, step_id

SLA_SECONDS = 4 * 3600.0


@dataclass(frozen=True)
class Held:
    """One info record step as the page should list it."""

    eco: str
    supplier: str
    plant: str  # "central" for a central record
    component: str
    revision: str


def _record(out: Emitter, to: StepState, plant: str | None, supplier: str, **extra: Any) -> str:
    ident = step_id(out.eco, StepKind.ERP_INFO_RECORD, plant, f"CMP-2001:{supplier}")
    out.emit(
        ev.step_transition(
            to,
            eco=out.eco,
            step_id=ident,
            kind=StepKind.ERP_INFO_RECORD,
            system=StepKind.ERP_INFO_RECORD.system,
            plant=plant,
            item="CMP-2001",
            supplier=supplier,
            revision="C",
            attempt=1,
            idempotency_key=f"{ident}/C",
            **extra,
        )
    )
    return ident


def _blocked(code: str, message: str) -> ev.StepError:
    return ev.StepError(
        category=ErrorCategory.BUSINESS,
        code=code,
        message=message,
        fingerprint=f"erp.purchasing_info_record:{code}",
    )


def seed_purchasing(engine: sa.Engine, now: datetime | None = None) -> dict[str, set[Held]]:
    """Append the stories; return what each list should hold."""
    now = now or datetime.now(UTC)
    events: list[dict[str, Any]] = []
    waiting = [
        ("ECO-2026-00301", "S010", "P100", timedelta(hours=6)),  # past the 4 h SLA
        ("ECO-2026-00302", "S020", None, timedelta(minutes=20)),  # central sourcing
    ]
    for eco, supplier, plant, age in waiting:
        out = Emitter(eco=eco, clock=now - age)
        _record(out, StepState.AWAITING_QUALIFICATION, plant, supplier, qualification_id="Q-1")
        events += out.events
    rejected = Emitter(eco="ECO-2026-00303", clock=now - timedelta(hours=2))
    _record(
        rejected,
        StepState.BLOCKED,
        "P200",
        "S030",
        error=_blocked("QUALIFICATION_REJECTED", "procurement rejected S030: porosity"),
    )
    missing = Emitter(eco="ECO-2026-00304", clock=now - timedelta(hours=1))
    _record(
        missing,
        StepState.BLOCKED,
        "P100",
        "S040",
        error=_blocked("CONTRACT_MISSING", "no contract of S040 covers CMP-2001"),
    )
    done = Emitter(eco="ECO-2026-00305", clock=now - timedelta(hours=3))
    _record(done, StepState.AWAITING_QUALIFICATION, "P100", "S050", qualification_id="Q-5")
    done.emit(
        se.QualificationApproved(
            supplier="S050",
            component="CMP-2001",
            revision="C",
            qualification_id="Q-5",
            eco=done.eco,
            approved_at=done.clock,
        )
    )
    _record(done, StepState.PENDING, "P100", "S050")
    _record(done, StepState.RUNNING, "P100", "S050")
    _record(done, StepState.SUCCEEDED, "P100", "S050")
    done.emit(
        se.InfoRecordActivated(
            eco=done.eco,
            supplier="S050",
            component="CMP-2001",
            revision="C",
            plant="P100",
            plants=["P100"],
            info_record="PIR-000001",
            activated_at=done.clock,
        )
    )
    events += rejected.events + missing.events + done.events
    store = EventStore(engine, sla=ConfirmationSla(qualification_seconds=SLA_SECONDS))
    store.append(events, "engine")
    return {
        "waiting": {
            Held("ECO-2026-00301", "S010", "P100", "CMP-2001", "C"),
            Held("ECO-2026-00302", "S020", "central", "CMP-2001", "C"),
        },
        "past_sla": {Held("ECO-2026-00301", "S010", "P100", "CMP-2001", "C")},
        "rejected": {Held("ECO-2026-00303", "S030", "P200", "CMP-2001", "C")},
        "contracts_missing": {Held("ECO-2026-00304", "S040", "P100", "CMP-2001", "C")},
    }


def seed_impact(engine: sa.Engine, now: datetime | None = None) -> list[se.ImpactAssessed]:
    """Two scopes with orders at risk (one assessed twice: the newer counts) and one that
    ended; return the current ones."""
    now = now or datetime.now(UTC)
    out = Emitter(eco="ECO-2026-00301", clock=now - timedelta(hours=2))

    def assessed(eco: str | None, plant: str, item: str, pos: int, value: float, runs: int) -> Any:
        return se.ImpactAssessed(
            eco=eco,
            plant=plant,
            item=item,
            superseded_revision="B",
            purchase_orders=pos,
            purchase_value=value,
            earliest_due=(now + timedelta(days=3)).date() if pos else None,
            production_orders=runs,
            production_quantity=50.0 * runs,
            earliest_start=(now + timedelta(days=5)).date() if runs else None,
            read_at=out.clock,
        )

    out.emit(assessed("ECO-2026-00301", "P100", "CMP-2001", 1, 100.0, 0))
    out.emit(assessed("ECO-2026-00301", "P100", "CMP-2001", 3, 900.0, 0))
    out.emit(assessed("ECO-2026-00301", "P100", "ASM-1001", 0, 0.0, 2))
    out.emit(assessed(None, "P200", "CMP-2001", 2, 400.0, 0))
    out.emit(assessed(None, "P200", "CMP-2001", 0, 0.0, 0))
    EventStore(engine).append(out.events, "engine")
    return [
        assessed("ECO-2026-00301", "P100", "CMP-2001", 3, 900.0, 0),
        assessed("ECO-2026-00301", "P100", "ASM-1001", 0, 0.0, 2),
    ]
