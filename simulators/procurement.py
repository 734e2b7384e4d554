"""The reference procurement portal: change notices to suppliers.

A few suppliers in the world have unreliable portals (a seeded share of their notices
fails with 502 or 504, transient) and a few have contacts that bounce (422
``INVALID_SUPPLIER_CONTACT``, a business error a buyer must fix).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response

from contracts.api import Notice, NoticeList, NoticeRequest
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
        self._serial = 0

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
        if supplier.code in self.world.unreliable_suppliers:
            rate = self._faults.faults.procurement.unreliable_portal_rate
            if self._rng.random() < rate:
                status = self._rng.choice((502, 504))
                code = "SUPPLIER_PORTAL_UNREACHABLE" if status == 502 else "SUPPLIER_PORTAL_TIMEOUT"
                raise Problem(status, code, f"the portal of {supplier.code} did not answer")
        now = self._clock()
        self._serial += 1
        notice_id = f"N-{self._serial:06d}"
        notice = Notice(
            id=notice_id,
            supplier=supplier.code,
            eco=body.eco,
            items=body.items,
            message=body.message,
            status="sent",
            sent_at=now,
        )
        self._notices[notice_id] = notice
        while len(self._notices) > self._cap:
            self._notices.popitem(last=False)
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
