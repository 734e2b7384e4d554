"""The reference procurement portal: change notices to suppliers.

A few suppliers in the world have unreliable portals (a seeded share of their notices
fails with 502 or 504, transient) and a few have contacts that bounce (422
``INVALID_SUPPLIER_CONTACT``, a business error a buyer must fix).

A notice sent can be withdrawn (``POST /notices/{id}/withdrawal``): the supplier gets a
second notice saying the change was withdrawn, through the same portal, once per notice.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response

from contracts.api import Notice, NoticeList, NoticeRequest, NoticeWithdrawalRequest
from simulators.clock import Clock
from simulators.faults import FaultInjector
from simulators.idempotency import IdempotencyKey, IdempotencyStore
from simulators.ledger import Ledger
from simulators.problems import Problem, install_problem_handlers
from simulators.world import World

NOTICE_CAP = 20_000
SYSTEM = "procurement"


class Procurement:
    """Procurement's state."""

    def __init__(
        self,
        world: World,
        ledger: Ledger,
        faults: FaultInjector,
        *,
        clock: Clock,
        cap: int = NOTICE_CAP,
    ) -> None:
        self.world = world
        self._ledger = ledger
        self._faults = faults
        self._clock = clock
        self._cap = cap
        self._rng = random.Random(f"{world.seed}:procurement:portals")
        self._suppliers = {s.code: s for s in world.suppliers}
        self._notices: OrderedDict[str, Notice] = OrderedDict()
        self._withdrawals: dict[str, str] = {}
        self._serial = 0

    def _portal(self, code: str) -> None:
        """The supplier's portal answers, or fails transiently as unreliable ones do."""
        if code in self.world.unreliable_suppliers:
            rate = self._faults.faults.procurement.unreliable_portal_rate
            if self._rng.random() < rate:
                status = self._rng.choice((502, 504))
                problem = (
                    "SUPPLIER_PORTAL_UNREACHABLE" if status == 502 else "SUPPLIER_PORTAL_TIMEOUT"
                )
                raise Problem(status, problem, f"the portal of {code} did not answer")

    def _store(self, notice: Notice) -> None:
        self._notices[notice.id] = notice
        while len(self._notices) > self._cap:
            dropped, _ = self._notices.popitem(last=False)
            self._withdrawals.pop(dropped, None)

    def _next_id(self) -> str:
        self._serial += 1
        return f"N-{self._serial:06d}"

    def withdraw(
        self, notice_id: str, body: NoticeWithdrawalRequest, key: str | None
    ) -> tuple[int, Notice]:
        """Tell the supplier of a sent notice that its change was withdrawn (once)."""
        original = self._notices.get(notice_id)
        if original is None or original.kind != "change":
            raise Problem(404, "NOTICE_NOT_FOUND", f"no change notice {notice_id}")
        done = self._withdrawals.get(notice_id)
        if done is not None and done in self._notices:
            return 200, self._notices[done]
        self._portal(original.supplier)
        now = self._clock()
        notice = Notice(
            id=self._next_id(),
            supplier=original.supplier,
            eco=original.eco,
            items=original.items,
            message=body.message or f"{original.eco} was withdrawn",
            status="sent",
            sent_at=now,
            kind="withdrawal",
            withdraws=notice_id,
        )
        self._store(notice)
        self._withdrawals[notice_id] = notice.id
        self._ledger.append(
            SYSTEM,
            "notice.withdraw",
            key,
            now,
            supplier=notice.supplier,
            eco=notice.eco,
            notice_id=notice.id,
            withdraws=notice_id,
        )
        return 201, notice

    def send(self, body: NoticeRequest, key: str | None) -> tuple[int, Notice]:
        """Deliver a notice through the supplier's portal."""
        supplier = self._suppliers.get(body.supplier)
        if supplier is None:
            raise Problem(422, "SUPPLIER_NOT_FOUND", f"no supplier {body.supplier}")
        if supplier.code in self.world.invalid_contact_suppliers:
            raise Problem(
                422,
                "INVALID_SUPPLIER_CONTACT",
                f"the contact address {supplier.contact_email} of {supplier.code} bounces",
                supplier=supplier.code,
            )
        self._portal(supplier.code)
        now = self._clock()
        notice_id = self._next_id()
        notice = Notice(
            id=notice_id,
            supplier=supplier.code,
            eco=body.eco,
            items=body.items,
            message=body.message,
            status="sent",
            sent_at=now,
        )
        self._store(notice)
        self._ledger.append(
            SYSTEM,
            "notice.send",
            key,
            now,
            supplier=supplier.code,
            eco=body.eco,
            notice_id=notice_id,
            items=list(body.items),
        )
        return 201, notice

    def notices(self, supplier: str | None, eco: str | None) -> list[Notice]:
        """Notices, oldest first, optionally of one supplier and/or one ECO."""
        return [
            n
            for n in self._notices.values()
            if (supplier is None or n.supplier == supplier) and (eco is None or n.eco == eco)
        ]

    def notice(self, notice_id: str) -> Notice | None:
        """One notice."""
        return self._notices.get(notice_id)


def create_procurement_app(
    procurement: Procurement, idempotency: IdempotencyStore, *, advance: Callable[[], None]
) -> FastAPI:
    """The procurement sub-application."""
    app = FastAPI(
        title="Reference procurement portal",
        version="1.0",
        description="Engineering-change notices to suppliers.",
    )
    install_problem_handlers(app)

    @app.post(
        "/notices",
        status_code=201,
        response_model=Notice,
        summary="Send a notice to a supplier",
    )
    async def post_notice(body: NoticeRequest, key: IdempotencyKey = None) -> Response:
        advance()
        return idempotency.run(SYSTEM, key, lambda: procurement.send(body, key))

    @app.post(
        "/notices/{notice_id}/withdrawal",
        status_code=201,
        response_model=Notice,
        summary="Tell the supplier that a notice's change was withdrawn",
    )
    async def post_withdrawal(
        notice_id: str, body: NoticeWithdrawalRequest, key: IdempotencyKey = None
    ) -> Response:
        advance()
        return idempotency.run(SYSTEM, key, lambda: procurement.withdraw(notice_id, body, key))

    @app.get(
        "/notices",
        response_model=NoticeList,
        summary="Notices sent, optionally by supplier and ECO",
    )
    async def list_notices(supplier: str | None = None, eco: str | None = None) -> NoticeList:
        return NoticeList(items=procurement.notices(supplier, eco))

    @app.get("/notices/{notice_id}", response_model=Notice, summary="One notice")
    async def get_notice(notice_id: str) -> Notice:
        notice = procurement.notice(notice_id)
        if notice is None:
            raise Problem(404, "NOTICE_NOT_FOUND", f"no notice {notice_id}")
        return notice

    return app
