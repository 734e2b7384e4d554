"""The reference PLM: approved ECOs, their cancellations and supersessions, and the items.

ECOs appear at the configured rate (a Poisson process with a seeded stream) and in bursts
from the admin API. Time moves lazily: every request first ``advance``s PLM to now, which
approves every ECO and applies every fate due by then, each at its own due time. So the
feed is the same whether it is read every second or once an hour.

The feed is ordered by (updated_at, number), and every change gets an ``updated_at``
strictly after the previous one, so a client's cursor never skips a change.

With a history (``threadline up --history``), PLM lists the history's ECOs too, as they
were approved (and cancelled, where PLM cancelled them), before the live ones: ground truth
covers the past. The engine starts reading the feed where the history ended
(``THREADLINE_ENGINE_PLM_START``), so it does not propagate them again.

PLM keeps the newest ``ECO_CAP`` ECOs (20,000, stored as JSON, about 2 KB each); older
ones drop out of the listing.
"""

from __future__ import annotations

import base64
import heapq
import json
import random
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import Response
from pydantic import ValidationError

from contracts.api import EcoEntry, EcoPage, ItemRevisionList
from contracts.model import Compliance, Eco, EcoStatus, Item, ItemRevision
from simulators.clock import Clock, rfc3339
from simulators.compliance import released_revisions
from simulators.generator import (
    EcoGenerator,
    EcoNumbersExhausted,
    EcoShape,
    Fate,
    ScheduledFate,
    seconds_between,
)
from simulators.problems import Problem, install_problem_handlers
from simulators.world import World

ECO_CAP = 20_000
MAX_CATCH_UP = 10_000
"""At most this many rate-driven ECOs are approved in one catch-up after a long pause."""
TICK = timedelta(milliseconds=1)


@dataclass(slots=True)
class EcoRecord:
    """One ECO as PLM stores it: its newest version, serialised."""

    number: str
    updated_at: datetime
    status: EcoStatus
    json: str

    def eco(self) -> Eco:
        """The ECO as a model."""
        return Eco.model_validate_json(self.json)

    def to_json(self) -> str:
        """The listing entry ``{"updated_at": ..., "eco": ...}`` as JSON text."""
        return f'{{"updated_at":"{rfc3339(self.updated_at)}","eco":{self.json}}}'


class Plm:
    """PLM's state: the ECO feed, its pending fates and the generator behind it."""

    def __init__(
        self,
        world: World,
        generator: EcoGenerator,
        *,
        clock: Clock,
        rate_per_minute: float = 0.0,
        cap: int = ECO_CAP,
    ) -> None:
        self.world = world
        self.generator = generator
        self._clock = clock
        self._cap = cap
        self._rate = rate_per_minute
        self._gap_rng = random.Random(f"{world.seed}:gap")
        self._records: dict[str, EcoRecord] = {}
        self._log: list[tuple[datetime, str]] = []
        self._fates: list[tuple[datetime, str, Fate]] = []
        self._routing_index: dict[tuple[str, str, str], str] = {}
        # The revisions live ECOs released lacking compliance attributes (the rest are
        # complete): what the item revisions answer, bounded like the ECOs.
        self._lacking: OrderedDict[tuple[str, str], Compliance] = OrderedDict()
        self._next_due = self._gap(clock()) if rate_per_minute > 0 else None
        self.skipped = 0
        """Rate-driven ECOs not approved because the year's numbers ran out."""
        self.pruned = 0

    def __len__(self) -> int:
        return len(self._records)

    def _gap(self, after: datetime) -> datetime:
        return after + timedelta(seconds=seconds_between(self._gap_rng, self._rate))

    def _stamp(self, at: datetime) -> datetime:
        at = at.astimezone(UTC)
        if self._log and at <= self._log[-1][0]:
            return self._log[-1][0] + TICK
        return at

    def advance(self, now: datetime | None = None) -> None:
        """Approve every rate-driven ECO and apply every fate due by ``now``."""
        now = now or self._clock()
        approved = 0
        while True:
            fate_due = self._fates[0][0] if self._fates else None
            eco_due = self._next_due
            due = min((d for d in (fate_due, eco_due) if d is not None), default=None)
            if due is None or due > now:
                return
            if due == fate_due:
                _, number, fate = heapq.heappop(self._fates)
                self._apply_fate(number, fate, due)
                continue
            assert self._next_due is not None
            if approved >= MAX_CATCH_UP:
                self._next_due = self._gap(now)
                continue
            self._next_due = self._gap(self._next_due)
            try:
                eco, scheduled = self.generator.generate(self._stamp(due))
            except EcoNumbersExhausted:
                self.skipped += 1
                continue
            self._add(eco, scheduled)
            approved += 1

    def _apply_fate(self, number: str, fate: Fate, at: datetime) -> None:
        record = self._records.get(number)
        if record is None or record.status is not EcoStatus.APPROVED:
            return
        if fate is Fate.SUPERSEDE and not self.generator.numbers_left(at):
            fate = Fate.CANCEL
        if fate is Fate.CANCEL:
            self.cancel(number, at)
        else:
            self.supersede(number, at)

    def _add(self, eco: Eco, fate: ScheduledFate | None = None) -> EcoRecord:
        record = EcoRecord(eco.number, eco.approved_at, eco.status, eco.model_dump_json())
        self._records[eco.number] = record
        self._log.append((record.updated_at, record.number))
        for change in eco.routing_changes:
            self._routing_index[(change.plant, change.item, change.revision)] = eco.number
        for affected in eco.affected_items:
            if affected.compliance is not None and affected.compliance.missing():
                self._lacking[(affected.item, affected.new_revision)] = affected.compliance
                if len(self._lacking) > self._cap:
                    self._lacking.popitem(last=False)
        if fate is not None:
            heapq.heappush(self._fates, (fate.due, fate.eco, fate.fate))
        self._prune()
        return record

    def add_history(self, ecos: Iterable[tuple[Eco, datetime | None]]) -> int:
        """List past ECOs (each with when PLM cancelled it, if it did) before any live one;
        return how many. Call before the feed is first read."""
        added = 0
        for eco, cancelled_at in ecos:
            record = self._add(eco)
            if cancelled_at is not None:
                cancelled = eco.model_copy(update={"status": EcoStatus.CANCELLED})
                record.status = cancelled.status
                record.json = cancelled.model_dump_json()
                record.updated_at = cancelled_at.astimezone(UTC)
                self._log.append((record.updated_at, eco.number))
            added += 1
        self._log.sort()
        return added

    def _update(self, eco: Eco, at: datetime) -> EcoRecord:
        record = self._records[eco.number]
        record.updated_at = at
        record.status = eco.status
        record.json = eco.model_dump_json()
        self._log.append((at, eco.number))
        return record

    def _prune(self) -> None:
        while len(self._records) > self._cap:
            oldest = next(iter(self._records))
            eco = self._valid(self._records.pop(oldest))
            for change in eco.routing_changes if eco is not None else ():
                key = (change.plant, change.item, change.revision)
                if self._routing_index.get(key) == oldest:
                    del self._routing_index[key]
            self.pruned += 1
        if len(self._log) > 2 * self._cap:
            self._log = [entry for entry in self._log if self._is_current(entry)]

    def _is_current(self, entry: tuple[datetime, str]) -> bool:
        record = self._records.get(entry[1])
        return record is not None and record.updated_at == entry[0]

    def burst(self, count: int, shape: EcoShape | None = None) -> list[Eco]:
        """``count`` approved ECOs now (no fates), in approval order."""
        self.advance()
        shape = shape or EcoShape()  # forced: complete compliance unless asked otherwise
        ecos = []
        for _ in range(count):
            try:
                eco, _fate = self.generator.generate(self._stamp(self._clock()), shape, fates=False)
            except EcoNumbersExhausted as exc:
                raise Problem(409, "ECO_NUMBERS_EXHAUSTED", str(exc)) from exc
            self._add(eco)
            ecos.append(eco)
        return ecos

    def publish(self, number: str, document: dict[str, Any]) -> EcoRecord:
        """Store ``document`` as the newest version of ECO ``number``, exactly as given:
        a correction of an ECO, or one that breaks the contract (to exercise governance).

        Raises ``Problem`` 422 if the document names another number or an unknown status.
        """
        if document.get("number") != number:
            raise Problem(422, "NUMBER_MISMATCH", f"the document's number is not {number}")
        try:
            status = EcoStatus(document.get("status", EcoStatus.APPROVED))
        except ValueError as exc:
            raise Problem(422, "INVALID_STATUS", f"unknown status {document['status']!r}") from exc
        self.advance()
        at = self._stamp(self._clock())
        text = json.dumps({"status": status.value, **document}, separators=(",", ":"))
        record = self._records.get(number)
        if record is None:
            record = self._records[number] = EcoRecord(number, at, status, text)
        else:
            record.updated_at, record.status, record.json = at, status, text
        self._log.append((at, number))
        eco = self._valid(record)
        for change in eco.routing_changes if eco is not None else ():
            self._routing_index[(change.plant, change.item, change.revision)] = number
        self._prune()
        return record

    @staticmethod
    def _valid(record: EcoRecord) -> Eco | None:
        try:
            return record.eco()
        except ValidationError:
            return None

    def get(self, number: str) -> EcoRecord | None:
        """The ECO's newest version, if PLM still holds it."""
        return self._records.get(number)

    def cancel(self, number: str, at: datetime | None = None) -> EcoRecord:
        """Cancel an approved ECO (raises ``Problem`` if unknown or not approved)."""
        eco = self._approved(number)
        cancelled = eco.model_copy(update={"status": EcoStatus.CANCELLED})
        return self._update(cancelled, self._stamp(at or self._clock()))

    def supersede(self, number: str, at: datetime | None = None) -> tuple[EcoRecord, EcoRecord]:
        """Replace an approved ECO by a new one on the same items: (old, new)."""
        eco = self._approved(number)
        try:
            replacement = self.generator.supersede(eco, self._stamp(at or self._clock()))
        except EcoNumbersExhausted as exc:
            raise Problem(409, "ECO_NUMBERS_EXHAUSTED", str(exc)) from exc
        new = self._add(replacement)
        old = eco.model_copy(
            update={"status": EcoStatus.SUPERSEDED, "superseded_by": replacement.number}
        )
        return self._update(old, self._stamp(replacement.approved_at)), new

    def _approved(self, number: str) -> Eco:
        record = self._records.get(number)
        if record is None:
            raise Problem(404, "ECO_NOT_FOUND", f"no ECO {number}")
        if record.status is not EcoStatus.APPROVED:
            raise Problem(409, "ECO_NOT_APPROVED", f"{number} is already {record.status}")
        eco = self._valid(record)
        if eco is None:
            raise Problem(409, "ECO_MALFORMED", f"{number} breaks the contract; publish a fix")
        return eco

    def item_revisions(self, number: str) -> list[ItemRevision]:
        """The item's released revisions, oldest first, with their compliance attributes
        (404 ``ITEM_NOT_FOUND``)."""
        item = self.world.items.get(number)
        if item is None:
            raise Problem(404, "ITEM_NOT_FOUND", f"no item {number}")
        latest = self.generator.revision_of(number)
        return released_revisions(self.world, item, latest, self._lacking)

    def routing_required(self, plant: str, item: str, revision: str) -> bool:
        """Whether an ECO defines a routing change for this item revision at this plant."""
        return (plant, item, revision) in self._routing_index

    def page(
        self,
        *,
        status: EcoStatus | None = None,
        updated_since: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> tuple[list[EcoRecord], tuple[datetime, str] | None]:
        """A page of the feed and the position after it if more follow now."""
        start = 0
        if updated_since is not None:
            start = bisect_left(self._log, (updated_since.astimezone(UTC), ""))
        if after is not None:
            start = max(start, bisect_right(self._log, after))
        found: list[EcoRecord] = []
        for entry in self._log[start:]:
            if not self._is_current(entry):
                continue
            record = self._records[entry[1]]
            if status is not None and record.status is not status:
                continue
            if len(found) == limit:
                last = found[-1]
                return found, (last.updated_at, last.number)
            found.append(record)
        return found, None


def encode_cursor(position: tuple[datetime, str]) -> str:
    """An opaque cursor for a feed position."""
    text = f"{rfc3339(position[0])}|{position[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The feed position of a cursor (raises ``Problem`` 400 ``INVALID_CURSOR``)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, number = text.split("|", 1)
        return datetime.fromisoformat(moment.replace("Z", "+00:00")), number
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "INVALID_CURSOR", "the cursor is not one this feed issued") from exc


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


def create_plm_app(plm: Plm, *, advance: Callable[[], None]) -> FastAPI:
    """The PLM sub-application; ``advance()`` brings every system up to now first."""
    app = FastAPI(
        title="Reference PLM",
        version="1.0",
        description="Approved engineering change orders and the items they change.",
    )
    install_problem_handlers(app)

    # The feed's answers are spliced from the stored JSON text: validating up to 500 ECOs
    # a page only to serialise them again would dominate PLM's time.
    @app.get("/ecos", response_model=EcoPage, summary="List ECOs ordered by (updated_at, number)")
    async def list_ecos(
        status: EcoStatus | None = None,
        updated_since: Annotated[datetime | None, Query(description="RFC 3339; inclusive")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        advance()
        since = updated_since
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        after = decode_cursor(cursor) if cursor else None
        records, more = plm.page(status=status, updated_since=since, after=after, limit=limit)
        next_cursor = f'"{encode_cursor(more)}"' if more else "null"
        items = ",".join(r.to_json() for r in records)
        return _json(f'{{"items":[{items}],"next_cursor":{next_cursor}}}')

    @app.get("/ecos/{number}", response_model=EcoEntry, summary="One ECO in full")
    async def get_eco(number: str) -> Response:
        advance()
        record = plm.get(number)
        if record is None:
            raise Problem(404, "ECO_NOT_FOUND", f"no ECO {number}")
        return _json(record.to_json())

    @app.get("/items/{number}", summary="One item", response_model=Item)
    async def get_item(number: str) -> Item:
        item = plm.world.items.get(number)
        if item is None:
            raise Problem(404, "ITEM_NOT_FOUND", f"no item {number}")
        return item

    @app.get(
        "/items/{number}/revisions",
        summary="An item's released revisions with their compliance attributes",
        response_model=ItemRevisionList,
    )
    async def get_revisions(number: str) -> ItemRevisionList:
        advance()
        return ItemRevisionList(item=number, revisions=plm.item_revisions(number))

    @app.get(
        "/items/{number}/revisions/{revision}",
        summary="One item revision with its compliance attributes",
        response_model=ItemRevision,
    )
    async def get_revision(number: str, revision: str) -> ItemRevision:
        advance()
        for released in plm.item_revisions(number):
            if released.revision == revision:
                return released
        raise Problem(404, "REVISION_NOT_FOUND", f"{number} has no released revision {revision}")

    @app.get("/world", summary="Plants, work centers, suppliers and items as generated")
    async def world() -> dict[str, Any]:
        w = plm.world
        return {
            "seed": w.seed,
            "plants": [p.model_dump(mode="json") for p in w.plants],
            "work_centers": [wc.model_dump(mode="json") for wc in w.work_centers],
            "suppliers": [
                {
                    **s.model_dump(mode="json", exclude={"components"}),
                    "components": len(s.components),
                    "unreliable_portal": s.code in w.unreliable_suppliers,
                    "invalid_contact": s.code in w.invalid_contact_suppliers,
                }
                for s in w.suppliers
            ],
            "items": [
                {**i.model_dump(mode="json"), "revision": plm.generator.revision_of(n)}
                for n, i in w.items.items()
            ],
        }

    return app
