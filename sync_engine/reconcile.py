"""Reconciliation: per plant, compare what PLM approved, what ERP and MES report and what
Threadline expects, and report every (plant, item) pair where they disagree as drift.

- *PLM*: the newest revision an approved ECO naming the plant made effective by today;
  a newer revision an approved ECO makes effective later is not drift where ERP or MES
  already runs it.
- *ERP* and *MES*: what each reports of the plant (``GET /plants/{plant}/revisions``);
  the pairs ERP or MES report are the pairs that exist (a plant uses the item). MES runs
  only what it was given a routing for, so an item MES does not report is not compared.
- *Threadline*: the revision of the latest ECO it holds (in progress or production-ready)
  that names the plant and is effective by today.

A pair drifts when ERP or MES runs something else than PLM approved, when MES and ERP run
different revisions, or when Threadline expects something else than PLM. Each drift names
the responsible ECO and why the pair is not there (:class:`contracts.readmodel.DriftCause`)
or "changed outside Threadline". It is reported once (``plant.drift_detected``, again only
when what it says changes) and its end once (``plant.drift_resolved``); every run ends with
``plant.reconciled`` naming the plants compared. ERP and MES reads also still record what
each system runs (``plant.revision_observed``), as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from contracts import events as ev
from contracts.model import revision_key, utcnow
from contracts.readmodel import DriftCause
from contracts.steps import StepState, System
from sync_engine import store
from sync_engine.config import EngineConfig
from sync_engine.connectors import ErpConnector, MesConnector, PlmConnector, new_client
from sync_engine.errors import CallError
from sync_engine.states import EcoProgress
from sync_engine.store import DriftRecord, EcoScope

log = logging.getLogger(__name__)

DbCall = Callable[..., Awaitable[Any]]

EXPECTING = frozenset({EcoProgress.IN_PROGRESS, EcoProgress.PRODUCTION_READY})
"""Threadline's ECOs whose revisions it expects at their plants."""


@dataclass(frozen=True)
class Reconciliation:
    """What one run compared and found."""

    plants: tuple[str, ...]
    skipped: tuple[str, ...]
    drift: tuple[DriftRecord, ...]
    emitted: int


@dataclass(frozen=True)
class _Target:
    revision: str
    eco: str
    effectivity: date


def _newest(ecos: Iterable[EcoScope], plant: str, today: date) -> dict[str, _Target]:
    """Per item, the highest revision the ECOs make effective at ``plant`` by ``today``."""
    newest: dict[str, _Target] = {}
    for eco in ecos:
        if plant not in eco.plants or eco.effectivity > today:
            continue
        for item, revision in eco.revisions.items():
            held = newest.get(item)
            if held is None or revision_key(revision) > revision_key(held.revision):
                newest[item] = _Target(revision, eco.number, eco.effectivity)
    return newest


def _latest(ecos: Iterable[EcoScope], plant: str, today: date) -> dict[str, _Target]:
    """Per item, the revision of the latest-approved ECO in effect at ``plant``."""
    latest: dict[str, tuple[tuple[datetime, str], _Target]] = {}
    for eco in ecos:
        if plant not in eco.plants or eco.effectivity > today or eco.state not in EXPECTING:
            continue
        order = (eco.approved_at, eco.number)
        for item, revision in eco.revisions.items():
            held = latest.get(item)
            if held is None or order > held[0]:
                latest[item] = (order, _Target(revision, eco.number, eco.effectivity))
    return {item: target for item, (_, target) in latest.items()}


def _upcoming(ecos: Iterable[EcoScope], plant: str, today: date) -> dict[str, dict[str, str]]:
    """Per item, revision -> ECO of approved ECOs effective at ``plant`` after ``today``."""
    upcoming: dict[str, dict[str, str]] = {}
    for eco in ecos:
        if plant in eco.plants and eco.effectivity > today:
            for item, revision in eco.revisions.items():
                upcoming.setdefault(item, {})[revision] = eco.number
    return upcoming


def _cause(
    eco: EcoScope | None, states: Mapping[str, set[StepState]], item: str
) -> tuple[DriftCause, str]:
    """Why Threadline's ECO has not brought the pair to its revision, and how to say so."""
    if eco is None:
        return DriftCause.NOT_RECEIVED, "approved in PLM, not propagated by Threadline"
    if eco.state is EcoProgress.REJECTED:
        return DriftCause.REJECTED, "rejected by Threadline's governance rules"
    if eco.state is EcoProgress.CANCELLED:
        return DriftCause.CANCELLED, "cancelled in Threadline"
    at_plant = set().union(*states.values()) if states else set()
    of_item = states.get(item, set())
    for state, cause in ((StepState.FAILED, DriftCause.FAILED), (StepState.BLOCKED, None)):
        if state in of_item or state in at_plant:
            where = "a step of the item" if state in of_item else "a step at the plant"
            return cause or DriftCause.BLOCKED, f"{where} is {state.value}"
    if any(not s.is_final for s in at_plant):
        waiting = sorted(s.value for s in of_item or at_plant if not s.is_final)
        return DriftCause.IN_FLIGHT, f"steps {', '.join(waiting)}"
    return DriftCause.OUTSIDE, "changed outside Threadline: its steps here are done"


def _fits(observed: str | None, plm: _Target | None, ahead: Mapping[str, str]) -> bool:
    """Whether a system's revision is the one PLM approved, or one an approved ECO makes
    effective later (ERP and MES may run it ahead of its date)."""
    if plm is None or observed == plm.revision:
        return True
    return (
        observed is not None
        and observed in ahead
        and revision_key(observed) > revision_key(plm.revision)
    )


def find_drift(
    plant: str,
    erp: Mapping[str, str],
    mes: Mapping[str, str],
    plm_ecos: Collection[EcoScope],
    known: Mapping[str, EcoScope],
    step_states: Mapping[str, Mapping[str, set[StepState]]],
    today: date,
) -> list[DriftRecord]:
    """Every drifting pair of ``plant`` (a pure function of what was read)."""
    approved = _newest(plm_ecos, plant, today)
    upcoming = _upcoming(plm_ecos, plant, today)
    expected = _latest(known.values(), plant, today)
    found = []
    for item in sorted(set(erp) | set(mes)):
        plm, ahead = approved.get(item), upcoming.get(item, {})
        erp_rev, mes_rev, tl = erp.get(item), mes.get(item), expected.get(item)
        problems = []
        if not _fits(erp_rev, plm, ahead):
            problems.append(f"ERP runs {erp_rev or 'nothing'}")
        if mes_rev is not None and mes_rev != erp_rev:
            problems.append(f"MES runs {mes_rev}, ERP {erp_rev or 'nothing'}")
        if tl is not None and plm is not None and tl.revision != plm.revision:
            problems.append(f"Threadline expects {tl.revision} ({tl.eco})")
        elif tl is not None and plm is None and erp_rev != tl.revision:
            problems.append(f"Threadline expects {tl.revision} ({tl.eco}), PLM approves none")
        if not problems:
            continue
        responsible = _responsible(plm, tl, ahead, erp_rev, mes_rev, step_states, item)
        if responsible is None:
            cause, why, state = DriftCause.OUTSIDE, "changed outside Threadline", None
        else:
            eco = known.get(responsible)
            cause, why = _cause(eco, step_states.get(responsible, {}), item)
            state = eco.state.value if eco is not None and eco.state is not None else None
        head = f"PLM approved {plm.revision} ({plm.eco})" if plm else "PLM approved none"
        found.append(
            DriftRecord(
                plant=plant,
                item=item,
                plm_revision=plm.revision if plm else None,
                erp_revision=erp_rev,
                mes_revision=mes_rev,
                expected_revision=tl.revision if tl else None,
                eco=responsible,
                eco_state=state,
                cause=cause,
                detail=f"{head}; {'; '.join(problems)}; {why}",
            )
        )
    return found


def _responsible(
    plm: _Target | None,
    tl: _Target | None,
    ahead: Mapping[str, str],
    erp_rev: str | None,
    mes_rev: str | None,
    step_states: Mapping[str, Mapping[str, set[StepState]]],
    item: str,
) -> str | None:
    """The ECO a drift is about: one whose work on the item is still open (an upcoming ECO
    ERP already runs while MES waits), else PLM's newest effective one, else Threadline's."""
    for revision in (erp_rev, mes_rev):
        eco = ahead.get(revision or "")
        if eco is not None and any(not s.is_final for s in step_states.get(eco, {}).get(item, ())):
            return eco
    if plm is not None:
        return plm.eco
    return tl.eco if tl is not None else None


def record_plant(
    connection: sa.Connection,
    plant: str,
    erp: dict[str, str],
    mes: dict[str, str],
    plm_ecos: Collection[EcoScope],
    *,
    now: datetime,
    today: date,
) -> tuple[list[DriftRecord], int]:
    """Compare one plant's reads with the records, report drift changes; return the plant's
    drift and how many events were emitted."""
    emitted = _observe(connection, plant, erp, mes, now=now)
    known = store.threadline_ecos(connection)
    drift = find_drift(
        plant, erp, mes, plm_ecos, known, store.step_states_at(connection, plant), today
    )
    for record in drift:
        emitted += store.report_drift(connection, record, now=now) is not None
    drifting = {(r.plant, r.item) for r in drift}
    for plant_item in sorted(set(store.open_drift(connection, [plant])) - drifting):
        emitted += store.resolve_drift(connection, *plant_item, erp.get(plant_item[1]), now=now)
    store.mark_reconciled(connection, plant, now=now)
    return list(store.open_drift(connection, [plant]).values()), emitted


def _observe(
    connection: sa.Connection, plant: str, erp: dict[str, str], mes: dict[str, str], *, now: Any
) -> int:
    """Record what ERP and MES run where it differs from what the engine last recorded
    (``plant.revision_observed``): every pair the plant uses (ERP lists exactly those, MES
    what it runs) and those the engine manages there; the unchanged ones are stamped
    confirmed without an event."""
    emitted = 0
    recorded = store.recorded_revisions(connection, plant)
    expected = store.expected_revisions(connection, plant, now.date())
    managed = set(recorded) | set(expected) | store.items_at(connection, plant)
    for item in sorted(managed | set(erp) | set(mes)):
        row = recorded.get(item)
        for system, observed in ((System.ERP, erp.get(item)), (System.MES, mes.get(item))):
            last = None if row is None else getattr(row, f"{system.value}_revision")
            if observed != last:
                store.emit(
                    connection,
                    ev.PlantRevisionObserved(
                        plant=plant,
                        item=item,
                        system=system,
                        observed_revision=observed,
                        expected_revision=last,
                        eco=expected.get(item, (None, None))[1],
                    ),
                    now=now,
                )
                store.observe_revision(connection, plant, item, system, observed, now=now)
                emitted += 1
    store.confirm_revisions(connection, plant, System.ERP, erp, now=now)
    store.confirm_revisions(connection, plant, System.MES, mes, now=now)
    return emitted


async def approved_ecos(plm: PlmConnector) -> list[EcoScope]:
    """Every ECO PLM lists as approved (malformed ones left out)."""
    found: list[EcoScope] = []
    cursor: str | None = None
    while True:
        page = await plm.ecos("approved", cursor=cursor)
        for entry in page.items:
            try:
                found.append(EcoScope.of_document(entry.eco, None))
            except (KeyError, TypeError, ValueError):
                log.warning("reconciliation ignores a malformed PLM ECO: %.200s", entry.eco)
        cursor = page.next_cursor
        if not cursor:
            return found


def _plants(
    plm_ecos: Iterable[EcoScope], known: Mapping[str, EcoScope], drifting: Iterable[str]
) -> list[str]:
    plants = {p for eco in plm_ecos for p in eco.plants}
    plants |= {p for eco in known.values() for p in eco.plants}
    return sorted(plants | set(drifting))


async def reconcile(
    db: DbCall,
    plm: PlmConnector,
    erp: ErpConnector,
    mes: MesConnector,
    *,
    now: datetime | None = None,
    plants: Collection[str] | None = None,
) -> Reconciliation:
    """Reconcile ``plants`` (default: every plant PLM's or Threadline's ECOs name, or that
    drifts) with PLM, ERP and MES. A plant ERP or MES cannot answer for is skipped: its
    drift stays as last reported. Raises :class:`CallError` if PLM cannot be read."""
    started = now or utcnow()
    plm_ecos = await approved_ecos(plm)
    if plants is None:
        known = await db(store.threadline_ecos)
        drifting = {plant for plant, _ in await db(store.open_drift)}
        plants = _plants(plm_ecos, known, drifting)
    compared: list[str] = []
    skipped: list[str] = []
    drift: list[DriftRecord] = []
    emitted = 0
    for plant in sorted(plants):
        try:
            erp_revisions = await erp.revisions(plant)
            mes_revisions = await mes.revisions(plant)
        except CallError as exc:
            log.warning("reconciliation of %s skipped: %s", plant, exc)
            skipped.append(plant)
            continue
        at = now or utcnow()
        found, count = await db(
            record_plant, plant, erp_revisions, mes_revisions, plm_ecos, now=at, today=at.date()
        )
        compared.append(plant)
        drift.extend(found)
        emitted += count
    finished = now or utcnow()
    await db(
        store.emit,
        ev.ReconciliationCompleted(
            plants=compared,
            skipped=skipped,
            drift=len(drift),
            started_at=started,
            finished_at=finished,
        ),
        now=finished,
    )
    return Reconciliation(tuple(compared), tuple(skipped), tuple(drift), emitted + 1)


def reconcile_once(
    db: sa.Engine,
    config: EngineConfig,
    *,
    plants: Collection[str] | None = None,
    client: httpx.AsyncClient | None = None,
) -> Reconciliation:
    """One reconciliation now against the systems ``config`` names (the command line's
    and the console's on-demand run). Raises :class:`CallError` if PLM cannot be read."""

    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with store.writing(db) as connection:
            return fn(connection, *args, **kwargs)

    async def run() -> Reconciliation:
        http = client or new_client(
            timeout=config.http_timeout, max_connections=4, http_transport=config.http_transport
        )
        try:
            return await reconcile(
                call,
                PlmConnector(http, config.plm_url),
                ErpConnector(http, config.erp_url),
                MesConnector(http, config.mes_url),
                plants=plants,
            )
        finally:
            if client is None:
                await http.aclose()

    return asyncio.run(run())
