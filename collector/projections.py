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

Only catalog types (``io.threadline.*``) feed projections; other events are stored only.
Events are assumed valid (the receiver validated them against the catalog models).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.steps import StepKind, StepState

Row = dict[str, Any]

SEQUENCE_WIDTH = 64


class EcoState(StrEnum):
    """Where an ECO stands, as the console shows it."""

    RECEIVED = "received"  # planned; no step has started
    IN_PROGRESS = "in_progress"  # steps are running or due
    BLOCKED = "blocked"  # a step is blocked or failed: a person must act
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # only ERP confirmations outstanding
    PRODUCTION_READY = "production_ready"  # every plant's last step succeeded
    CANCELLED = "cancelled"  # cancelled or superseded
    REJECTED = "rejected"  # broke governance rules


class PlantState(StrEnum):
    """Where one plant of an ECO stands."""

    WAITING = "waiting"  # no step of the plant has started
    IN_PROGRESS = "in_progress"  # steps running or due
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # waiting for ERP only
    BLOCKED = "blocked"  # a business rejection stopped the plant
    FAILED = "failed"  # a step is dead-lettered
    PRODUCTION_READY = "production_ready"  # every step of the plant succeeded or was skipped
    CANCELLED = "cancelled"  # the plant's remaining steps were cancelled


NOTICE_STATUS: dict[str, str] = {
    StepState.WAITING: "pending",
    StepState.PENDING: "pending",
    StepState.RUNNING: "pending",
    StepState.AWAITING_CONFIRMATION: "pending",
    StepState.RETRYING: "retrying",
    StepState.SUCCEEDED: "sent",
    StepState.FAILED: "failed",
    StepState.BLOCKED: "failed",
    StepState.SKIPPED: "skipped",
    StepState.CANCELLED: "cancelled",
}
"""A supplier notice's status for each state of its step."""

ACTIVE_STATES = frozenset({StepState.PENDING, StepState.RUNNING, StepState.RETRYING})
DONE_STATES = frozenset({StepState.SUCCEEDED, StepState.SKIPPED})

STEP_PREFIX = "io.threadline.step."

# Strings from event data that land in bounded columns; validation refuses longer ones so
# a valid event can never fail at the database.
FIELD_LIMITS: dict[str, int] = {
    "step_id": 512,
    "eco": 100,
    "plant": 100,
    "item": 100,
    "supplier": 100,
    "code": 200,
    "fingerprint": 200,
    "notice_id": 200,
    "actor": 200,
    "role": 100,
    "outcome": 200,
    "production_version": 200,
}
LIST_LIMITS: dict[str, int] = {"plants": 100, "items": 100, "product_families": 100}


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


@dataclass(frozen=True)
class ConfirmationSla:
    """How long an ERP confirmation may take, by plant (seconds)."""

    default_seconds: float = 900.0
    by_plant: Mapping[str, float] = field(default_factory=dict)

    def due(self, plant: str | None, requested_at: datetime) -> datetime | None:
        """When a confirmation requested at ``requested_at`` becomes overdue."""
        seconds = self.by_plant.get(plant or "", self.default_seconds)
        try:
            return requested_at + timedelta(seconds=seconds)
        except OverflowError:
            # A request time at the very end of the calendar has no due time.
            return None


@dataclass(frozen=True)
class Needs:
    """The projection rows a batch of events reads and writes."""

    ecos: frozenset[str]
    plants: frozenset[str]
    items: frozenset[str]


@dataclass
class Working:
    """The rows one batch works on, keyed by primary key."""

    ecos: dict[str, Row] = field(default_factory=dict)
    plants: dict[tuple[str, str], Row] = field(default_factory=dict)
    steps: dict[str, Row] = field(default_factory=dict)
    revisions: dict[tuple[str, str], Row] = field(default_factory=dict)
    notices: dict[tuple[str, str], Row] = field(default_factory=dict)
    actions: list[Row] = field(default_factory=list)


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
    if not event_type.startswith("io.threadline.") or not isinstance(data, dict):
        return None
    eco = data.get("eco")
    return eco if isinstance(eco, str) else None


def limit_problems(data: Any) -> list[tuple[str, str]]:
    """``(field, message)`` for every string of catalog ``data`` too long for its column."""
    if not isinstance(data, dict):
        return []
    problems = []
    for name, value in _bounded_fields(data):
        limit = FIELD_LIMITS.get(name) or LIST_LIMITS[name.split("[", 1)[0]]
        if isinstance(value, str) and len(value) > limit:
            problems.append((name, f"longer than {limit} characters"))
    return problems


def _bounded_fields(data: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for name in FIELD_LIMITS:
        if name in data:
            yield name, data[name]
    error = data.get("error")
    if isinstance(error, dict):
        for name in ("code", "fingerprint"):
            if name in error:
                yield name, error[name]
    for name in LIST_LIMITS:
        values = data.get(name)
        if isinstance(values, list):
            for index, value in enumerate(values):
                yield f"{name}[{index}]", value


class Projector:
    """Applies events to the rows of a :class:`Working` set."""

    def __init__(self, sla: ConfirmationSla | None = None) -> None:
        self.sla = sla or ConfirmationSla()

    def needs(self, events: Iterable[tuple[str, Any]]) -> Needs:
        """Which ECOs, plants and items events (``(type, data)`` pairs) touch."""
        ecos: set[str] = set()
        plants: set[str] = set()
        items: set[str] = set()
        for event_type, data in events:
            eco = eco_of(event_type, data)
            if eco is not None:
                ecos.add(eco)
            if event_type == "io.threadline.eco.received.v1":
                plants.update(data["plants"])
                items.update(data["items"])
            elif event_type in (
                "io.threadline.plant.revision_changed.v1",
                "io.threadline.plant.revision_observed.v1",
            ):
                plants.add(data["plant"])
                items.add(data["item"])
        return Needs(frozenset(ecos), frozenset(plants), frozenset(items))

    def apply(self, work: Working, event: StoredEvent) -> None:
        """Merge one event into the working rows (any order gives the same result)."""
        data = event.data
        eco = eco_of(event.type, data)
        if eco is not None:
            self._touch_eco(work, eco, event)
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(self, work, event)
        elif event.type.startswith(STEP_PREFIX):
            self._step(work, event)

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
        status: str,
        error: str | None,
        next_retry_at: datetime | None,
    ) -> None:
        key = event.key
        if _later(key, notice["last_event_key"]):
            notice.update(
                last_event_key=key,
                status=status,
                last_error=error,
                next_retry_at=next_retry_at,
                updated_at=event.time,
            )

    def _notice_sent(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        notice = self._notice(work, data["eco"], data["supplier"])
        notice["notice_id"] = _max(notice["notice_id"], data["notice_id"])
        notice["attempts"] = max(notice["attempts"], data["attempt"])
        self._notice_state(notice, event, "sent", None, None)

    def _notice_failed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        notice = self._notice(work, data["eco"], data["supplier"])
        notice["attempts"] = max(notice["attempts"], data["attempt"])
        status = "failed" if data["final"] else "retrying"
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
        data = event.data
        step_id = f"{data['eco']}/{StepKind.ERP_CONFIRMATION}/{data['plant']}/{data['item']}"
        row = work.steps.get(step_id)
        if row is None:
            row = work.steps[step_id] = new_step_row(
                step_id, data["eco"], StepKind.ERP_CONFIRMATION
            )
            row.update(plant=data["plant"], item=data["item"], revision=data["revision"])
        row["overdue_reported_at"] = _max(row["overdue_reported_at"], event.time)

    def _revision_changed(self, work: Working, event: StoredEvent) -> None:
        data = event.data
        self._current(work, event, data["plant"], data["item"], data["new_revision"], "current")

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
        row["updated_at"] = _max(row["updated_at"], event.time)

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

    _handlers: Mapping[str, Any] = {
        "io.threadline.eco.received.v1": _received,
        "io.threadline.eco.rejected.v1": _rejected,
        "io.threadline.eco.cancelled.v1": _cancelled,
        "io.threadline.eco.production_ready.v1": _production_ready,
        "io.threadline.erp.production_version_confirmed.v1": _confirmed,
        "io.threadline.erp.confirmation_overdue.v1": _overdue,
        "io.threadline.plant.revision_changed.v1": _revision_changed,
        "io.threadline.plant.revision_observed.v1": _revision_observed,
        "io.threadline.supplier.notice_sent.v1": _notice_sent,
        "io.threadline.supplier.notice_failed.v1": _notice_failed,
        "io.threadline.operator.action.v1": _operator_action,
    }

    def derive(self, work: Working, ecos: Iterable[str]) -> None:
        """Recompute the derived columns of ``ecos`` and of every row they own.

        ``work`` must hold every step and plant row of those ECOs.
        """
        steps_by_eco: dict[str, list[Row]] = {}
        for step in work.steps.values():
            steps_by_eco.setdefault(step["eco"], []).append(step)
        plants_by_eco: dict[str, list[Row]] = {}
        for (eco, _plant), plant_row in work.plants.items():
            plants_by_eco.setdefault(eco, []).append(plant_row)
        for revision in work.revisions.values():
            revision["behind"] = (
                revision["target_revision"] is not None
                and revision["current_revision"] != revision["target_revision"]
            )
        for eco in ecos:
            row = work.ecos[eco]
            steps = steps_by_eco.get(eco, [])
            for step in steps:
                self._derive_step(step)
            for step in steps:
                if step["plant"] is not None and (eco, step["plant"]) not in work.plants:
                    plant_row = new_plant_row(eco, step["plant"])
                    work.plants[(eco, step["plant"])] = plant_row
                    plants_by_eco.setdefault(eco, []).append(plant_row)
            complete = row["steps_total"] > 0 and len(steps) >= row["steps_total"]
            plant_steps: dict[str, list[Row]] = {}
            for step in steps:
                if step["plant"] is not None:
                    plant_steps.setdefault(step["plant"], []).append(step)
            plants = plants_by_eco.get(eco, [])
            for plant_row in plants:
                _derive_plant(plant_row, plant_steps.get(plant_row["plant"], []), complete)
            _derive_eco(row, steps, plants)

    def _derive_step(self, step: Row) -> None:
        requested_at = step["requested_at"]
        if step["kind"] == StepKind.ERP_CONFIRMATION and requested_at is not None:
            step["sla_due_at"] = self.sla.due(step["plant"], requested_at)
        else:
            step["sla_due_at"] = None
        reported = step["overdue_reported_at"]
        step["overdue"] = (
            step["state"] == StepState.AWAITING_CONFIRMATION
            and reported is not None
            and (requested_at is None or reported >= requested_at)
        )


def _derive_plant(row: Row, steps: list[Row], complete: bool) -> None:
    states = [step["state"] for step in steps]
    done = sum(state in DONE_STATES for state in states)
    row["steps_total"] = len(steps)
    row["steps_done"] = done
    row["updated_at"] = max((s["last_event_at"] for s in steps if s["last_event_at"]), default=None)
    problems = sorted(
        (s for s in steps if s["state"] in (StepState.BLOCKED, StepState.FAILED)),
        key=lambda s: str(s["step_id"]),
    )
    row["blocked_reason"] = problems[0]["error_message"] if problems else None
    row["production_ready_at"] = None
    if not steps:
        state = PlantState.WAITING
    elif StepState.BLOCKED in states:
        state = PlantState.BLOCKED
    elif StepState.FAILED in states:
        state = PlantState.FAILED
    elif done == len(states) and complete:
        state = PlantState.PRODUCTION_READY
        row["production_ready_at"] = max(s["state_since"] for s in steps)
    elif all(s in DONE_STATES or s == StepState.CANCELLED for s in states) and (
        StepState.CANCELLED in states
    ):
        state = PlantState.CANCELLED
    elif StepState.AWAITING_CONFIRMATION in states and not ACTIVE_STATES.intersection(states):
        state = PlantState.AWAITING_CONFIRMATION
    elif all(s == StepState.WAITING for s in states):
        state = PlantState.WAITING
    else:
        state = PlantState.IN_PROGRESS
    row["state"] = state.value


def _derive_eco(row: Row, steps: list[Row], plants: list[Row]) -> None:
    states = [step["state"] for step in steps]
    row["blocked_count"] = states.count(StepState.BLOCKED)
    row["failed_count"] = states.count(StepState.FAILED)
    row["plants_done"] = sum(p["state"] == PlantState.PRODUCTION_READY for p in plants)
    if row["received_key"] is None:
        row["plants_total"] = len(plants)
    if row["terminal_state"] is not None:
        state = EcoState(row["terminal_state"])
    elif row["blocked_count"] or row["failed_count"]:
        state = EcoState.BLOCKED
    elif StepState.AWAITING_CONFIRMATION in states and not ACTIVE_STATES.intersection(states):
        state = EcoState.AWAITING_CONFIRMATION
    elif any(s != StepState.WAITING for s in states):
        state = EcoState.IN_PROGRESS
    else:
        state = EcoState.RECEIVED
    row["state"] = state.value


def new_eco_row(eco: str) -> Row:
    """An ``eco_status`` row before any event has filled it."""
    return {
        "eco": eco,
        "title": None,
        "state": EcoState.RECEIVED.value,
        "approved_at": None,
        "effectivity": None,
        "product_family": None,
        "plants_total": 0,
        "plants_done": 0,
        "steps_total": 0,
        "blocked_count": 0,
        "failed_count": 0,
        "erp_confirmed_at": None,
        "production_ready_at": None,
        "cycle_time_seconds": None,
        "cancelled_at": None,
        "rejected_at": None,
        "state_reason": None,
        "last_event_at": None,
        "last_event_seq": None,
        "received_key": None,
        "terminal_key": None,
        "terminal_state": None,
        "last_event_key": None,
    }


def new_plant_row(eco: str, plant: str) -> Row:
    """An ``eco_plants`` row before any step of the plant has reported."""
    return {
        "eco": eco,
        "plant": plant,
        "state": PlantState.WAITING.value,
        "steps_total": 0,
        "steps_done": 0,
        "erp_confirmed_at": None,
        "production_ready_at": None,
        "blocked_reason": None,
        "updated_at": None,
    }


def new_step_row(step_id: str, eco: str, kind: str) -> Row:
    """A ``step_status`` row before its first transition is known."""
    return {
        "step_id": step_id,
        "eco": eco,
        "kind": str(kind),
        "system": StepKind(kind).system.value,
        "plant": None,
        "item": None,
        "revision": None,
        "supplier": None,
        "state": StepState.WAITING.value,
        "attempt": 0,
        "error_code": None,
        "error_message": None,
        "error_category": None,
        "fingerprint": None,
        "next_attempt_at": None,
        "state_since": None,
        "requested_at": None,
        "sla_due_at": None,
        "overdue": False,
        "overdue_reported_at": None,
        "last_event_at": None,
        "last_event_seq": None,
        "last_event_key": None,
    }


def new_revision_row(plant: str, item: str) -> Row:
    """A ``plant_revisions`` row before anything is known of the pair."""
    return {
        "plant": plant,
        "item": item,
        "current_revision": None,
        "mes_revision": None,
        "target_revision": None,
        "target_eco": None,
        "target_effective": None,
        "product_family": None,
        "behind": False,
        "updated_at": None,
        "current_key": None,
        "mes_key": None,
        "target_key": None,
    }


def new_notice_row(eco: str, supplier: str) -> Row:
    """A ``supplier_notices`` row before any attempt is known."""
    return {
        "eco": eco,
        "supplier": supplier,
        "step_id": None,
        "status": "pending",
        "attempts": 0,
        "last_error": None,
        "next_retry_at": None,
        "notice_id": None,
        "updated_at": None,
        "last_event_key": None,
    }
