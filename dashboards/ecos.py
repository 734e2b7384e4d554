"""One ECO: where it stands, its steps over time, its raw events, who acted on it and, once
cancelled, what it left effective."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_plants, eco_status, events, operator_actions, step_status
from contracts.events import STEP_EVENT_TYPES
from contracts.readmodel import EcoState
from contracts.steps import WITHDRAWAL_OF, StepKind, StepState, step_id
from dashboards.paging import DEFAULT_LIMIT, Page, frame, paginate

SEARCH_LIMIT = 20
# Every step transition's event type, from the catalog.
STEP_TYPES = sorted(set(STEP_EVENT_TYPES.values()))
# A cap on the timeline's input: an ECO's steps emit a few hundred transitions at most.
TIMELINE_EVENT_LIMIT = 5_000


@dataclass(frozen=True)
class EcoSearch:
    """What a search found: the ECO (or correlation id) to show, else close matches."""

    eco: str | None
    correlationid: str | None
    matches: tuple[str, ...]


def find_eco(engine: sa.Engine, text: str) -> EcoSearch:
    """Find an ECO by its number, by a correlation id, or by the start of its number."""
    text = text.strip()
    if not text:
        return EcoSearch(eco=None, correlationid=None, matches=())
    with engine.connect() as connection:
        if connection.execute(sa.select(eco_status.c.eco).where(eco_status.c.eco == text)).first():
            return EcoSearch(eco=text, correlationid=text, matches=())
        correlated = connection.execute(
            sa.select(events.c.subject)
            .where(events.c.correlationid == text)
            .order_by(events.c.seq)
            .limit(1)
        ).first()
        if correlated is not None:
            linked = connection.execute(
                sa.select(eco_status.c.eco).where(eco_status.c.eco == correlated.subject)
            ).scalar_one_or_none()
            return EcoSearch(eco=linked, correlationid=text, matches=())
        prefix = text.upper()
        matches = (
            connection.execute(
                sa.select(eco_status.c.eco)
                .where(
                    # The range lets the primary key's index find the prefix; LIKE decides.
                    eco_status.c.eco >= prefix,
                    eco_status.c.eco < prefix + "\uffff",
                    eco_status.c.eco.startswith(prefix, autoescape=True),
                )
                .order_by(eco_status.c.eco.desc())
                .limit(SEARCH_LIMIT)
            )
            .scalars()
            .all()
        )
    return EcoSearch(eco=None, correlationid=None, matches=tuple(matches))


def eco_summary(engine: sa.Engine, eco: str) -> dict[str, Any] | None:
    """The ECO's status row (every column of ``eco_status`` but the ordering keys)."""
    columns = [column for column in eco_status.c if not column.name.endswith("_key")]
    with engine.connect() as connection:
        row = connection.execute(sa.select(*columns).where(eco_status.c.eco == eco)).first()
    return dict(row._mapping) if row is not None else None


def eco_plant_rows(engine: sa.Engine, eco: str) -> pd.DataFrame:
    """The ECO's plants: plant, state, steps_done, steps_total, erp_confirmed_at,
    production_ready_at, blocked_reason."""
    with engine.connect() as connection:
        result = connection.execute(
            sa.select(
                eco_plants.c.plant,
                eco_plants.c.state,
                eco_plants.c.steps_done,
                eco_plants.c.steps_total,
                eco_plants.c.erp_confirmed_at,
                eco_plants.c.production_ready_at,
                eco_plants.c.blocked_reason,
            )
            .where(eco_plants.c.eco == eco)
            .order_by(eco_plants.c.plant)
        )
        return frame(result, list(result.keys()))


def eco_steps(engine: sa.Engine, eco: str) -> pd.DataFrame:
    """The ECO's steps as the collector last saw them, by system, plant and kind, with why
    each is in its state (``reason``: skipped by hand or as superseded, cancelled) and, for a
    waiting step the approval order holds, the ECO it waits behind (``waits_behind``)."""
    with engine.connect() as connection:
        result = connection.execute(
            sa.select(
                step_status.c.step_id,
                step_status.c.system,
                step_status.c.plant,
                step_status.c.kind,
                step_status.c.item,
                step_status.c.supplier,
                step_status.c.state,
                step_status.c.attempt,
                step_status.c.error_code,
                step_status.c.error_message,
                step_status.c.reason,
                step_status.c.state_since,
            )
            .where(step_status.c.eco == eco)
            .order_by(step_status.c.system, step_status.c.plant, step_status.c.kind)
        )
        steps = frame(result, list(result.keys()))
    behind = waiting_behind(engine, eco)
    steps.insert(
        steps.columns.get_loc("state") + 1,
        "waits_behind",
        [behind.get(step_id) for step_id in steps["step_id"]],
    )
    return steps


def step_timeline(
    engine: sa.Engine, correlationid: str, *, now: datetime | None = None
) -> pd.DataFrame:
    """Each step's states as intervals: step_id, system, plant, kind, item, state, start, end.

    Read from the step events of the correlation (the ECO number); a step's last state runs
    to ``now`` unless it is final, in which case it is drawn as a short mark.
    """
    now = now or datetime.now(UTC)
    order = sa.func.coalesce(events.c.time, events.c.received_at)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.type, order.label("at"), events.c.data)
            .where(
                events.c.correlationid == correlationid,
                events.c.type.in_(STEP_TYPES),
            )
            .order_by(order, events.c.sequence, events.c.seq)
            .limit(TIMELINE_EVENT_LIMIT)
        ).all()
    transitions: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for row in rows:
        data = row.data if isinstance(row.data, dict) else {}
        step_id = data.get("step_id")
        if isinstance(step_id, str) and isinstance(data.get("to_state"), str):
            transitions.setdefault(step_id, []).append((row.at, data))
    intervals: list[dict[str, Any]] = []
    for step_id, changes in transitions.items():
        for index, (start, data) in enumerate(changes):
            if index + 1 < len(changes):
                end = changes[index + 1][0]
            elif data["to_state"] in _FINAL_STATES:
                end = start
            else:
                end = max(start, now)
            intervals.append(
                {
                    "step_id": step_id,
                    "system": data.get("system", ""),
                    "plant": data.get("plant") or "-",
                    "kind": data.get("kind", ""),
                    "item": data.get("item") or data.get("supplier") or "",
                    "state": data["to_state"],
                    "start": start,
                    "end": end,
                }
            )
    return pd.DataFrame(
        intervals, columns=["step_id", "system", "plant", "kind", "item", "state", "start", "end"]
    )


_FINAL_STATES = frozenset(
    {
        StepState.SUCCEEDED,
        StepState.FAILED,
        StepState.SKIPPED,
        StepState.CANCELLED,
        StepState.BLOCKED,
    }
)


def raw_events(
    engine: sa.Engine, correlationid: str, *, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page:
    """One page of the correlation's stored events, in the order they were stored.

    Columns: seq, time, type, source, id, subject, producer, event (the structured-mode
    CloudEvent as a dict).
    """
    select = sa.select(events).where(events.c.correlationid == correlationid).order_by(events.c.seq)
    with engine.connect() as connection:
        page = paginate(connection, select, limit=limit, offset=offset)
    rows = page.rows
    structured = [structured_event(row) for row in rows.to_dict("records")]
    shown = rows[["seq", "time", "type", "source", "id", "subject", "producer"]].copy()
    shown["event"] = structured
    return Page(rows=shown, total=page.total, offset=page.offset, limit=page.limit)


def structured_event(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the structured-mode CloudEvent it was received as."""
    event: dict[str, Any] = {"specversion": "1.0"}
    for name in (
        "id",
        "source",
        "type",
        "subject",
        "datacontenttype",
        "dataschema",
        "correlationid",
        "causationid",
        "traceparent",
        "sequence",
    ):
        value = row.get(name)
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            event[name] = value
    time = row.get("time")
    if isinstance(time, datetime):
        event["time"] = time.isoformat().replace("+00:00", "Z")
    extensions = row.get("extensions")
    if isinstance(extensions, dict):
        event.update(extensions)
    if row.get("data_base64") is not None:
        event["data_base64"] = row["data_base64"]
    elif row.get("data") is not None:
        event["data"] = row["data"]
    return event


def eco_operator_actions(engine: sa.Engine, eco: str) -> pd.DataFrame:
    """The operator actions on the ECO, the latest first: at, actor, role, action, reason,
    outcome, affected, step_ids."""
    with engine.connect() as connection:
        result = connection.execute(
            sa.select(
                operator_actions.c.at,
                operator_actions.c.actor,
                operator_actions.c.role,
                operator_actions.c.action,
                operator_actions.c.reason,
                operator_actions.c.outcome,
                operator_actions.c.affected,
                operator_actions.c.step_ids,
            )
            .where(
                sa.or_(
                    operator_actions.c.eco == eco,
                    # Bulk actions across ECOs name no ECO; their step ids start with it.
                    sa.and_(
                        operator_actions.c.eco.is_(None),
                        sa.cast(operator_actions.c.step_ids, sa.Text).contains(
                            f'"{eco}/', autoescape=True
                        ),
                    ),
                )
            )
            .order_by(operator_actions.c.at.desc(), operator_actions.c.event_seq.desc())
            .limit(200)
        )
        return frame(result, list(result.keys()))


# Writes a cancelled ECO may leave effective, and the one that makes a plant's routing and
# production version effective (ERP confirmed the version active).
EFFECTIVE_KINDS = (
    StepKind.ERP_BOM,
    StepKind.ERP_ROUTING,
    StepKind.ERP_PRODUCTION_VERSION,
    StepKind.MES_ROUTING,
)
LEFT_EFFECTIVE_COLUMNS = ["kind", "plant", "item", "revision", "since", "how"]


def left_effective(engine: sa.Engine, eco: str) -> pd.DataFrame:
    """What a cancelled ECO applied that was already effective, so it stays until a new ECO
    reverts it: kind (of write), plant, item, revision, since, how.

    Read from the step read model. A write is effective if the engine knew it when the
    ECO stopped (so it planned no withdrawal: a BOM version effective when written, a
    routing or production version of a plant whose version ERP confirmed active, a routing
    MES released), or if its withdrawal found it effective (``effective_since``). Empty for
    an ECO that is not cancelled.
    """
    with engine.connect() as connection:
        state = connection.execute(
            sa.select(eco_status.c.state).where(eco_status.c.eco == eco)
        ).scalar_one_or_none()
        if state != EcoState.CANCELLED:
            return pd.DataFrame(columns=LEFT_EFFECTIVE_COLUMNS)
        rows = connection.execute(
            sa.select(
                step_status.c.step_id,
                step_status.c.kind,
                step_status.c.plant,
                step_status.c.item,
                step_status.c.revision,
                step_status.c.state,
                step_status.c.state_since,
                step_status.c.effective_since,
            ).where(step_status.c.eco == eco)
        ).all()
    by_id = {row.step_id: row for row in rows}
    confirmed = {
        (row.plant, row.item): row.state_since
        for row in rows
        if row.kind == StepKind.ERP_CONFIRMATION and row.state == StepState.SUCCEEDED
    }
    found: list[dict[str, Any]] = []
    for row in rows:
        if row.kind not in EFFECTIVE_KINDS or row.state != StepState.SUCCEEDED:
            continue
        kind = StepKind(row.kind)
        withdrawal = WITHDRAWAL_OF.get(kind)
        compensation = (
            None if withdrawal is None else by_id.get(step_id(eco, withdrawal, row.plant, row.item))
        )
        if compensation is None:
            how = "effective when the ECO stopped"
            since = row.state_since
            if kind in (StepKind.ERP_ROUTING, StepKind.ERP_PRODUCTION_VERSION):
                since = confirmed.get((row.plant, row.item), since)
        elif compensation.state == StepState.SUCCEEDED and compensation.effective_since:
            how = "ERP refused the withdrawal: already effective"
            since = compensation.effective_since
        else:
            continue
        found.append(
            {
                "kind": kind.value,
                "plant": row.plant,
                "item": row.item,
                "revision": row.revision,
                "since": since,
                "how": how,
            }
        )
    found.sort(key=lambda r: (r["plant"] or "", r["item"] or "", EFFECTIVE_KINDS.index(r["kind"])))
    return pd.DataFrame(found, columns=LEFT_EFFECTIVE_COLUMNS)


# The states in which an earlier ECO's step no longer holds a later ECO's step of its target.
_SETTLED = frozenset({StepState.SUCCEEDED, StepState.SKIPPED, StepState.CANCELLED})


def waiting_behind(engine: sa.Engine, eco: str) -> dict[str, str]:
    """The ECO's waiting steps held by the approval order, each with the ECO it waits
    behind: the earliest-approved other ECO whose step of the same kind on the same item
    (at the same plant) has not succeeded, been skipped or been cancelled (a failed or
    blocked one included), as the engine's ordering rule holds it.
    """
    step, prior = step_status, step_status.alias("prior")
    mine, theirs = eco_status.alias("mine"), eco_status.alias("theirs")
    same_target = sa.and_(
        prior.c.item == step.c.item,
        prior.c.kind == step.c.kind,
        prior.c.eco != step.c.eco,
        sa.or_(
            prior.c.plant == step.c.plant,
            sa.and_(prior.c.plant.is_(None), step.c.plant.is_(None)),
        ),
    )
    earlier = sa.or_(
        theirs.c.approved_at < mine.c.approved_at,
        sa.and_(theirs.c.approved_at == mine.c.approved_at, theirs.c.eco < mine.c.eco),
    )
    query = (
        sa.select(step.c.step_id, prior.c.eco)
        .select_from(
            step.join(mine, mine.c.eco == step.c.eco)
            .join(prior, same_target)
            .join(theirs, theirs.c.eco == prior.c.eco)
        )
        .where(step.c.eco == eco, step.c.state == StepState.WAITING)
        # Open steps are few: the state index finds them.
        .where(prior.c.state.in_(sorted(set(StepState) - _SETTLED)))
        .where(earlier)
        .order_by(step.c.step_id, theirs.c.approved_at, theirs.c.eco)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    behind: dict[str, str] = {}
    for row in rows:
        behind.setdefault(str(row.step_id), str(row.eco))
    return behind
