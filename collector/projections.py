"""The read models' logic: how each stored event changes the projection rows.

Pure functions over plain row ``dict``s (shaped like :mod:`collector.tables`); the store
loads the rows a batch touches, calls :meth:`Projector.apply` for each new event and
:meth:`Projector.derive` once, and writes back what changed.

Order independence. A projection must end the same whatever order events arrive in, so
every field is merged by a commutative rule:

- *latest wins*: a group of fields is overwritten only by an event with a greater
  :func:`order_key` than the one that set it (the key is stored next to the fields);
- *min* / *max*: first confirmation, latest request time, highest attempt;
- *derived*: counts and states recomputed from the merged rows (an ECO's state from its
  steps, a plant's state from its steps) every time an ECO is touched.

Only catalog types feed projections (their handlers are keyed by the catalog's models);
other events are stored only. Events are assumed valid (the receiver validated them against
the catalog models), so no handler validates them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from collector.derived import ConfirmationSla, derive
from collector.rows import (
    Needs,
    Row,
    Working,
    new_drift_row,
    new_eco_row,
    new_notice_row,
    new_plant_row,
    new_revision_row,
    new_step_row,
)
from contracts.events import (
    CATALOG,
    STEP_EVENT_TYPES,
    ConfirmationOverdue,
    DriftDetected,
    DriftResolved,
    EcoCancelled,
    EcoProductionReady,
    EcoReceived,
    EcoRejected,
    PlantRevisionChanged,
    PlantRevisionObserved,
    ProductionVersionConfirmed,
    ReconciliationCompleted,
    SupplierNoticeFailed,
    SupplierNoticeSent,
    type_of,
)
from contracts.operator_events import OperatorActionTaken, WorkOverdue, WorkResolved
from contracts.readmodel import EcoState, NoticeStatus
from contracts.sla import Stage
from contracts.steps import StepKind, StepState

SEQUENCE_WIDTH = 64

NOTICE_STATUS: dict[str, NoticeStatus] = {
    StepState.WAITING: NoticeStatus.PENDING,
    StepState.PENDING: NoticeStatus.PENDING,
    StepState.RUNNING: NoticeStatus.PENDING,
    StepState.AWAITING_CONFIRMATION: NoticeStatus.PENDING,
    StepState.AWAITING_QUALIFICATION: NoticeStatus.PENDING,
    StepState.RETRYING: NoticeStatus.RETRYING,
    StepState.SUCCEEDED: NoticeStatus.SENT,
    StepState.FAILED: NoticeStatus.FAILED,
    StepState.BLOCKED: NoticeStatus.FAILED,
    StepState.SKIPPED: NoticeStatus.SKIPPED,
    StepState.CANCELLED: NoticeStatus.CANCELLED,
}
"""A supplier notice's status for each state of its step."""

STEP_TYPES = frozenset(STEP_EVENT_TYPES.values())
"""Every step transition's event type."""
RECEIVED_TYPE = type_of(EcoReceived)
DRIFT_TYPES = frozenset({type_of(DriftDetected), type_of(DriftResolved)})
RECONCILED_TYPE = type_of(ReconciliationCompleted)
OVERDUE_TYPE = type_of(WorkOverdue)
# Plant facts that name a (plant, item) pair whose revision row they change.
REVISION_TYPES = frozenset({type_of(PlantRevisionChanged), type_of(PlantRevisionObserved)})


def order_key(time: datetime, sequence: str | None, seq: int) -> str:
    """A string sorting like ``(time, sequence, seq)``: which of two events is later.

    ``sequence`` is right-aligned so numeric sequences of different widths still sort;
    ``seq`` (the global store order) only breaks exact ties.
    """
    stamp = time.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{stamp}|{(sequence or '')[:SEQUENCE_WIDTH]:>{SEQUENCE_WIDTH}}|{seq:020d}"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """The parts of a stored event the projections read."""

    seq: int
    type: str
    time: datetime  # the event's time, or when it was received if it carried none
    sequence: str | None
    data: Any
    key: str = field(default="", compare=False)  # this event's order_key, filled in

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", order_key(self.time, self.sequence, self.seq))


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _later(key: str, stored: str | None) -> bool:
    return stored is None or key > stored


def eco_of(event_type: str, data: Any) -> str | None:
    """The ECO a catalog event concerns, if any."""
    if event_type not in CATALOG or not isinstance(data, dict):
        return None
    eco = data.get("eco")
    return eco if isinstance(eco, str) else None


class Projector:
    """Applies events to the rows of a :class:`Working` set."""

    def __init__(self, sla: ConfirmationSla | None = None) -> None:
        self.sla = sla or ConfirmationSla()

    def needs(self, events: Iterable[tuple[str, Any]]) -> Needs:
        """Which ECOs, plants and items events (``(type, data)`` pairs) touch."""
        ecos: set[str] = set()
        plants: set[str] = set()
        items: set[str] = set()
        reconciled: set[str] = set()
        for event_type, data in events:
            eco = eco_of(event_type, data)
            if eco is not None:
                ecos.add(eco)
            if event_type == RECEIVED_TYPE:
                plants.update(data["plants"])
                items.update(data["items"])
            elif event_type in REVISION_TYPES or event_type in DRIFT_TYPES:
                plants.add(data["plant"])
                items.add(data["item"])
            elif event_type == RECONCILED_TYPE:
                reconciled.update(data["plants"])
        return Needs(frozenset(ecos), frozenset(plants), frozenset(items), frozenset(reconciled))

    def apply(self, work: Working, event: StoredEvent) -> None:
        """Merge one event into the working rows (any order gives the same result)."""
        data = event.data
        eco = eco_of(event.type, data)
        if eco is not None:
            self._touch_eco(work, eco, event)
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(self, work, event)

    def _touch_eco(self, work: Working, eco: str, event: StoredEvent) -> None:
        row = work.ecos.get(eco)
        if row is None:
            row = work.ecos[eco] = new_eco_row(eco)
        key = event.key
        if _later(key, row["last_event_key"]):
            row["last_event_key"] = key
            row["last_event_at"] = event.time
            row["last_event_seq"] = event.seq

    def _received(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        eco = data["eco"]
        row = work.ecos[eco]
        key = event.key
        families: list[str] = data.get("product_families") or []
        items: list[str] = data["items"]
        if _later(key, row["received_key"]):
            row.update(
                received_key=key,
                title=data["title"],
                approved_at=_time(data["approved_at"]),
                effectivity=_date(data["effectivity"]),
                product_family=families[0] if families else None,
                plants_total=len(data["plants"]),
                steps_total=data["steps"],
            )
            if row["terminal_state"] == EcoState.REJECTED and _later(key, row["terminal_key"]):
                # PLM corrected a refused ECO and it was planned: no longer rejected.
                row.update(terminal_key=None, terminal_state=None, state_reason=None)
        for plant in data["plants"]:
            work.plants.setdefault((eco, plant), new_plant_row(eco, plant))
        revisions: dict[str, str] = data.get("revisions") or {}
        for index, item in enumerate(items):
            revision = revisions.get(item)
            if revision is None:
                continue
            family = families[index] if len(families) == len(items) else None
            for plant in data["plants"]:
                rev = work.revisions.setdefault((plant, item), new_revision_row(plant, item))
                # A union keyed by ECO: the same ECO always names the same target.
                targets = dict(rev["targets"] or {})
                targets[eco] = [revision, data["effectivity"]]
                rev["targets"] = targets
                if _later(key, rev["target_key"]):
                    rev.update(
                        target_key=key,
                        target_revision=revision,
                        target_eco=eco,
                        target_effective=_date(data["effectivity"]),
                        product_family=family or (families[0] if families else None),
                    )
                rev["updated_at"] = _max(rev["updated_at"], event.time)

    def _terminal(self, row: Row, event: StoredEvent, state: EcoState, reason: str | None) -> None:
        key = event.key
        if _later(key, row["terminal_key"]):
            row.update(terminal_key=key, terminal_state=state.value, state_reason=reason)

    def _rejected(self, work: Working, event: StoredEvent) -> None:
        row = work.ecos[event.data["eco"]]
        row["rejected_at"] = _min(row["rejected_at"], event.time)
        reason = "; ".join(f"{v['path']}: {v['message']}" for v in event.data["violations"])
        # A version refused before the one that was planned does not make it rejected.
        if _later(event.key, row["received_key"]):
            if _later(event.key, row["terminal_key"]):
                row["title"] = event.data.get("title")
            self._terminal(row, event, EcoState.REJECTED, reason)

    def _cancelled(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        row = work.ecos[data["eco"]]
        row["cancelled_at"] = _min(row["cancelled_at"], event.time)
        reason = f"{data['cause']}: {data['reason']}" if data["reason"] else data["cause"]
        self._terminal(row, event, EcoState.CANCELLED, reason)

    def _production_ready(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        row = work.ecos[data["eco"]]
        ready_at = _time(data["production_ready_at"])
        stored = row["production_ready_at"]
        if stored is None or (ready_at, data["cycle_time_seconds"]) < (
            stored,
            row["cycle_time_seconds"],
        ):
            row["production_ready_at"] = ready_at
            row["cycle_time_seconds"] = float(data["cycle_time_seconds"])
        row["erp_confirmed_at"] = _min(row["erp_confirmed_at"], _time(data.get("erp_confirmed_at")))
        if row["approved_at"] is None:
            row["approved_at"] = _time(data["approved_at"])
        self._terminal(row, event, EcoState.PRODUCTION_READY, None)

    def _step(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        step_id = data["step_id"]
        row = work.steps.get(step_id)
        if row is None:
            row = work.steps[step_id] = new_step_row(step_id, data["eco"], data["kind"])
        key = event.key
        to_state = data["to_state"]
        if to_state == StepState.AWAITING_CONFIRMATION:
            row["requested_at"] = _max(row["requested_at"], event.time)
        elif to_state == StepState.AWAITING_QUALIFICATION:
            # A qualification's wait counts from the first time the step found it pending.
            row["requested_at"] = _min(row["requested_at"], event.time)
        if _later(key, row["last_event_key"]):
            error = data.get("error") or {}
            row.update(
                eco=data["eco"],
                kind=data["kind"],
                system=data["system"],
                plant=data.get("plant"),
                item=data.get("item"),
                revision=data.get("revision"),
                supplier=data.get("supplier"),
                state=to_state,
                attempt=data.get("attempt", 0),
                error_code=error.get("code"),
                error_message=error.get("message"),
                error_category=error.get("category"),
                fingerprint=error.get("fingerprint"),
                next_attempt_at=_time(data.get("next_attempt_at")),
                effective_since=_time(data.get("effective_since")),
                reason=data.get("reason"),
                state_since=event.time,
                last_event_at=event.time,
                last_event_seq=event.seq,
                last_event_key=key,
            )
        if data["kind"] == StepKind.SUPPLIER_NOTICE and data.get("supplier"):
            notice = self._notice(work, data["eco"], data["supplier"])
            notice["step_id"] = _max(notice["step_id"], step_id)
            notice["attempts"] = max(notice["attempts"], data.get("attempt", 0))
            error = data.get("error") or {}
            self._notice_state(
                notice,
                event,
                NOTICE_STATUS[to_state],
                error.get("message"),
                _time(data.get("next_attempt_at")),
            )

    def _notice(self, work: Working, eco: str, supplier: str) -> Row:
        return work.notices.setdefault((eco, supplier), new_notice_row(eco, supplier))

    def _notice_state(
        self,
        notice: Row,
        event: StoredEvent,
        status: NoticeStatus,
        error: str | None,
        next_retry_at: datetime | None,
    ) -> None:
        key = event.key
        if _later(key, notice["last_event_key"]):
            notice.update(
                last_event_key=key,
                status=status.value,
                last_error=error,
                next_retry_at=next_retry_at,
                updated_at=event.time,
            )

    def _notice_sent(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        notice = self._notice(work, data["eco"], data["supplier"])
        notice["notice_id"] = _max(notice["notice_id"], data["notice_id"])
        notice["attempts"] = max(notice["attempts"], data["attempt"])
        self._notice_state(notice, event, NoticeStatus.SENT, None, None)

    def _notice_failed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        notice = self._notice(work, data["eco"], data["supplier"])
        notice["attempts"] = max(notice["attempts"], data["attempt"])
        status = NoticeStatus.FAILED if data["final"] else NoticeStatus.RETRYING
        next_retry_at = _time(data.get("next_attempt_at"))
        self._notice_state(notice, event, status, data["error"]["message"], next_retry_at)

    def _confirmed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        eco, plant = data["eco"], data["plant"]
        confirmed_at = _time(data["confirmed_at"])
        row = work.ecos[eco]
        row["erp_confirmed_at"] = _min(row["erp_confirmed_at"], confirmed_at)
        plant_row = work.plants.setdefault((eco, plant), new_plant_row(eco, plant))
        plant_row["erp_confirmed_at"] = _min(plant_row["erp_confirmed_at"], confirmed_at)

    def _overdue(self, work: Working, event: StoredEvent) -> None:
        """The engine's former confirmation report: an erp_confirmation stage overdue."""
        data = event.data
        step_id = f"{data['eco']}/{StepKind.ERP_CONFIRMATION}/{data['plant']}/{data['item']}"
        row = self._step_row(work, step_id, data["eco"], StepKind.ERP_CONFIRMATION)
        if row["plant"] is None:
            row.update(plant=data["plant"], item=data["item"], revision=data["revision"])
        requested_at = _time(data["requested_at"])
        assert requested_at is not None
        due_at = requested_at + timedelta(seconds=data["sla_seconds"])
        self._report(row, event, Stage.ERP_CONFIRMATION, requested_at, due_at, is_open=True)

    def _sla_report(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        step_id = data.get("step_id")
        if step_id is None:
            row = work.ecos[data["eco"]]
        else:
            row = self._step_row(work, step_id, data["eco"], data["kind"])
            if row["plant"] is None and row["last_event_key"] is None:
                row.update(
                    plant=data.get("plant"), item=data.get("item"), supplier=data.get("supplier")
                )
        is_open = event.type == OVERDUE_TYPE
        since, due_at = _time(data["since"]), _time(data["due_at"])
        self._report(row, event, Stage(data["stage"]), since, due_at, is_open=is_open)

    def _step_row(self, work: Working, step_id: str, eco: str, kind: str) -> Row:
        row = work.steps.get(step_id)
        if row is None:
            row = work.steps[step_id] = new_step_row(step_id, eco, kind)
        return row

    def _report(
        self,
        row: Row,
        event: StoredEvent,
        stage: Stage,
        since: datetime | None,
        due_at: datetime | None,
        *,
        is_open: bool,
    ) -> None:
        if is_open:
            row["overdue_reported_at"] = _max(row["overdue_reported_at"], event.time)
        if _later(event.key, row["overdue_key"]):
            row.update(
                sla_stage=stage.value,
                overdue_since=since,
                overdue_due_at=due_at,
                overdue_open=is_open,
                overdue_key=event.key,
            )

    def _revision_changed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        part = "mes" if data.get("system") == "mes" else "current"
        self._current(work, event, data["plant"], data["item"], data["new_revision"], part)

    def _revision_observed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        part = "mes" if data["system"] == "mes" else "current"
        revision = data.get("observed_revision")
        self._current(work, event, data["plant"], data["item"], revision, part)

    def _current(
        self, work: Working, event: StoredEvent, plant: str, item: str, revision: Any, part: str
    ) -> None:
        row = work.revisions.setdefault((plant, item), new_revision_row(plant, item))
        key = event.key
        column = "current_revision" if part == "current" else "mes_revision"
        if _later(key, row[f"{part}_key"]):
            row[f"{part}_key"] = key
            row[column] = revision
            row["erp_confirmed_at" if part == "current" else "mes_confirmed_at"] = event.time
        row["updated_at"] = _max(row["updated_at"], event.time)

    def _drift_detected(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        row = work.drift.setdefault(
            (data["plant"], data["item"]), new_drift_row(data["plant"], data["item"])
        )
        if _later(event.key, row["last_key"]):
            row.update(
                open=True,
                plm_revision=data.get("plm_revision"),
                erp_revision=data.get("erp_revision"),
                mes_revision=data.get("mes_revision"),
                expected_revision=data.get("expected_revision"),
                eco=data.get("responsible_eco"),
                eco_state=data.get("eco_state"),
                cause=data["cause"],
                detail=data["detail"],
                since=_time(data["since"]),
                detected_at=event.time,
                resolved_at=None,
                last_key=event.key,
            )

    def _drift_resolved(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        row = work.drift.setdefault(
            (data["plant"], data["item"]), new_drift_row(data["plant"], data["item"])
        )
        if _later(event.key, row["last_key"]):
            row.update(
                open=False, since=_time(data["since"]), resolved_at=event.time, last_key=event.key
            )

    def _reconciled(self, work: Working, event: StoredEvent) -> None:
        finished = _time(event.data["finished_at"])
        for plant in event.data["plants"]:
            row = work.reconciliations.setdefault(plant, {"plant": plant, "reconciled_at": None})
            row["reconciled_at"] = _max(row["reconciled_at"], finished)

    def _operator_action(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        work.actions.append(
            {
                "event_seq": event.seq,
                "actor": data["actor"],
                "role": data.get("role"),
                "action": data["action"],
                "eco": data.get("eco"),
                "step_ids": list(data.get("step_ids") or []),
                "filter": data.get("filter"),
                "reason": data.get("reason") or "",
                "outcome": data["outcome"],
                "affected": data.get("affected", 0),
                "at": event.time,
            }
        )

    # Keyed by the catalog's type of each data model: one dict lookup per event.
    _handlers: Mapping[str, Callable[[Projector, Working, StoredEvent], None]] = {
        type_of(EcoReceived): _received,
        type_of(EcoRejected): _rejected,
        type_of(EcoCancelled): _cancelled,
        type_of(EcoProductionReady): _production_ready,
        type_of(ProductionVersionConfirmed): _confirmed,
        type_of(ConfirmationOverdue): _overdue,
        type_of(PlantRevisionChanged): _revision_changed,
        type_of(PlantRevisionObserved): _revision_observed,
        type_of(DriftDetected): _drift_detected,
        type_of(DriftResolved): _drift_resolved,
        type_of(ReconciliationCompleted): _reconciled,
        type_of(SupplierNoticeSent): _notice_sent,
        type_of(SupplierNoticeFailed): _notice_failed,
        type_of(OperatorActionTaken): _operator_action,
        type_of(WorkOverdue): _sla_report,
        type_of(WorkResolved): _sla_report,
        **dict.fromkeys(STEP_TYPES, _step),
    }

    def derive(self, work: Working, ecos: Iterable[str]) -> None:
        """Recompute the derived columns of ``ecos`` and of every row they own.

        ``work`` must hold every step and plant row of those ECOs.
        """
        derive(work, ecos, self.sla)
