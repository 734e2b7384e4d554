"""Ground truth for the console's figures, read only from the reference systems' own APIs.

Nothing here reads the engine's or the collector's tables: PLM's ECOs and world, ERP's and
MES's plant revisions, ERP's production versions, procurement's notices and the ledger of
every change the systems applied. Each function answers one of the console's questions as
a set of keys, so a test compares rows, not counts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from contracts.model import revision_key

Pair = tuple[str, str]


@dataclass(frozen=True)
class Systems:
    """One read of PLM, ERP, MES, procurement and the ledger, taken together."""

    ecos: tuple[dict[str, Any], ...]
    """Every ECO PLM lists, at its newest version (approved, cancelled, superseded)."""
    world: dict[str, Any]
    erp: Mapping[str, Mapping[str, str]]
    """plant -> item -> the revision ERP says the plant uses (its item master only)."""
    mes: Mapping[str, Mapping[str, str]]
    """plant -> item -> the revision MES runs."""
    ledger: tuple[dict[str, Any], ...]
    production_versions: Mapping[str, dict[str, Any]]
    """Every production version the ledger shows requested, as ERP reports it now."""
    notices: tuple[dict[str, Any], ...]

    @property
    def approved(self) -> list[dict[str, Any]]:
        return [eco for eco in self.ecos if eco["status"] == "approved"]

    @property
    def plants(self) -> list[str]:
        return [plant["code"] for plant in self.world["plants"]]


def read_systems(url: str) -> Systems:
    """Everything the comparisons need, read from the simulators at ``url``."""
    with httpx.Client(base_url=url, timeout=30) as client:
        ecos = _all_ecos(client)
        world = client.get("/plm/world").json()
        plants = [plant["code"] for plant in world["plants"]]
        erp = {p: client.get(f"/erp/plants/{p}/revisions").json()["revisions"] for p in plants}
        mes = {p: client.get(f"/mes/plants/{p}/revisions").json()["revisions"] for p in plants}
        body = client.get("/_admin/ledger", params={"limit": 100_000}).json()
        assert body["dropped"] == 0, "the ledger dropped entries: the truth would be partial"
        ledger = tuple(body["entries"])
        versions = {
            entry["production_version"]: client.get(
                f"/erp/production-versions/{entry['production_version']}"
            ).json()
            for entry in ledger
            if entry["operation"] == "production_version.request"
        }
        notices = tuple(client.get("/procurement/notices").json()["items"])
    return Systems(
        ecos=tuple(ecos),
        world=world,
        erp=erp,
        mes=mes,
        ledger=ledger,
        production_versions=versions,
        notices=notices,
    )


def _all_ecos(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/plm/ecos", params=params).json()
        found.extend(entry["eco"] for entry in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return found


def _effective(eco: Mapping[str, Any], today: date) -> bool:
    return date.fromisoformat(eco["effectivity"]) <= today


def newest_effective(systems: Systems, today: date) -> dict[Pair, tuple[str, str]]:
    """(plant, item) -> (revision, ECO): the newest revision PLM approved and made
    effective by ``today`` for each pair an approved ECO names."""
    newest: dict[Pair, tuple[str, str]] = {}
    for eco in systems.approved:
        if not _effective(eco, today):
            continue
        for plant in eco["plants"]:
            for affected in eco["affected_items"]:
                pair, revision = (plant, affected["item"]), affected["new_revision"]
                if pair not in newest or revision_key(revision) > revision_key(newest[pair][0]):
                    newest[pair] = (revision, eco["number"])
    return newest


def behind(systems: Systems, today: date) -> set[Pair]:
    """Plants on a prior revision: pairs the plant uses (ERP lists the item) where ERP or
    MES runs an older revision than the newest one approved and effective by ``today``."""
    found = set()
    for (plant, item), (revision, _) in newest_effective(systems, today).items():
        erp, mes = systems.erp.get(plant, {}), systems.mes.get(plant, {})
        if item not in erp:
            continue  # the plant does not use the item
        running = [erp[item], *([mes[item]] if item in mes else [])]
        if any(revision_key(r) < revision_key(revision) for r in running):
            found.add((plant, item))
    return found


def drifting(systems: Systems, today: date) -> set[Pair]:
    """Pairs where PLM, ERP and MES disagree: ERP runs something else than PLM's newest
    effective approved revision (a revision of an approved ECO effective later, newer
    than that, is ahead of time, not drift), or MES runs something else than ERP."""
    found = set()
    later: dict[Pair, set[str]] = {}
    for eco in systems.approved:
        if _effective(eco, today):
            continue
        for plant in eco["plants"]:
            for affected in eco["affected_items"]:
                later.setdefault((plant, affected["item"]), set()).add(affected["new_revision"])
    approved = newest_effective(systems, today)
    for plant in systems.plants:
        erp, mes = systems.erp.get(plant, {}), systems.mes.get(plant, {})
        for item in set(erp) | set(mes):
            running = erp.get(item)
            target = approved.get((plant, item))
            if target is not None and running != target[0]:
                ahead = running in later.get((plant, item), set()) and revision_key(
                    running or ""
                ) > revision_key(target[0])
                if not ahead:
                    found.add((plant, item))
            if item in mes and mes[item] != running:
                found.add((plant, item))
    return found


def eco_of_revision(systems: Systems) -> dict[tuple[str, str, str], str]:
    """(plant, item, revision) -> the PLM ECO that moves the plant's item to it."""
    owners: dict[tuple[str, str, str], str] = {}
    for eco in systems.ecos:
        for plant in eco["plants"]:
            for affected in eco["affected_items"]:
                key = (plant, affected["item"], affected["new_revision"])
                assert owners.get(key, eco["number"]) == eco["number"], f"two ECOs move {key}"
                owners[key] = eco["number"]
    return owners


def awaiting_confirmation(
    systems: Systems,
    *,
    now: datetime | None = None,
    sla: Mapping[str, float] | None = None,
    default_sla: float = 0.0,
) -> set[tuple[str, str, str]]:
    """(ECO, plant, item) whose production version ERP reports pending. With ``now``, only
    those pending longer than the plant's SLA (seconds; ``default_sla`` elsewhere) since
    ERP received the request."""
    owners = eco_of_revision(systems)
    found = set()
    for version in systems.production_versions.values():
        if version["status"] != "pending":
            continue
        if now is not None:
            seconds = (sla or {}).get(version["plant"], default_sla)
            requested = datetime.fromisoformat(version["requested_at"])
            if requested + timedelta(seconds=seconds) >= now:
                continue
        key = (version["plant"], version["item"], version["revision"])
        found.add((owners[key], version["plant"], version["item"]))
    return found


def inactive_work_centers(systems: Systems) -> set[Pair]:
    """(plant, work center) ERP has inactive: as the world was generated, less every
    activation ERP's ledger shows."""
    inactive = {(w["plant"], w["code"]) for w in systems.world["work_centers"] if not w["active"]}
    activated = {
        (entry["plant"], entry["work_center"])
        for entry in systems.ledger
        if entry["operation"] == "work_center.activate"
    }
    return inactive - activated


def blocked_plants(systems: Systems, stopped: Collection[str] = ()) -> set[Pair]:
    """(ECO, plant) ERP refuses: an approved ECO's routing change at the plant uses a work
    center ERP has inactive (ERP answers 422 ``WORK_CENTER_INACTIVE``) and ERP's ledger
    shows no routing of that revision written there since. ECOs in ``stopped`` (cancelled
    in Threadline) need nobody to act: their plants are cancelled, not blocked."""
    inactive = inactive_work_centers(systems)
    written = {
        (entry["plant"], entry["item"], entry["revision"])
        for entry in systems.ledger
        if entry["operation"] == "routing.create"
    }
    found = set()
    for eco in systems.approved:
        if eco["number"] in stopped:
            continue
        for change in eco["routing_changes"]:
            plant = change["plant"]
            refused = any((plant, op["work_center"]) in inactive for op in change["operations"])
            if refused and (plant, change["item"], change["revision"]) not in written:
                found.add((eco["number"], plant))
    return found


def unnotified(
    systems: Systems,
    stopped: Collection[str] = (),
    approved: Mapping[str, Collection[str]] | None = None,
) -> set[Pair]:
    """(ECO, supplier) of an approved ECO that procurement holds no change notice for:
    PLM's suppliers and those ``approved`` lists for the ECO. ECOs in ``stopped``
    (cancelled in Threadline) owe their suppliers nothing."""
    sent = {(n["eco"], n["supplier"]) for n in systems.notices if n["kind"] == "change"}
    approved = approved or {}
    return {
        (eco["number"], supplier)
        for eco in systems.approved
        if eco["number"] not in stopped
        for supplier in {*eco["suppliers"], *approved.get(eco["number"], ())}
        if (eco["number"], supplier) not in sent
    }


def plants_of(pairs: Iterable[Pair]) -> set[str]:
    return {plant for plant, _ in pairs}


def exposure(url: str, systems: Systems, pairs: Collection[Pair]) -> set[tuple[Any, ...]]:
    """Per (ECO, plant) in ``pairs`` and affected item: ERP's open purchase orders still
    buying an older revision and production orders after the effectivity date on one, as
    ``(eco, plant, item, purchase orders, production orders)`` where either is not zero."""
    ecos = {eco["number"]: eco for eco in systems.ecos}
    found = set()
    with httpx.Client(base_url=url, timeout=10) as client:
        for number, plant in sorted(pairs):
            eco = ecos[number]
            for affected in eco["affected_items"]:
                item, newer = affected["item"], revision_key(affected["new_revision"])
                params = {"plant": plant, "component": item}
                orders = client.get("/erp/purchase-orders", params=params).json()["items"]
                params = {"plant": plant, "item": item, "starts_after": eco["effectivity"]}
                runs = client.get("/erp/production-orders", params=params).json()["items"]
                buying = sum(revision_key(o["revision"]) < newer for o in orders)
                building = sum(revision_key(o["revision"]) < newer for o in runs)
                if buying or building:
                    found.add((number, plant, item, buying, building))
    return found
