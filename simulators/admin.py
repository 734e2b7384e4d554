"""The admin API (``/_admin``): the ledger, fault configuration, ECOs on demand and ECO
versions published as given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.api import EcoEntry
from simulators.faults import FaultInjector, Faults
from simulators.generator import EcoShape, ShapeError
from simulators.ledger import Ledger
from simulators.plm import Plm
from simulators.problems import Problem, install_problem_handlers


class BurstRequest(EcoShape):
    """Approve ``count`` ECOs now, optionally forcing their shape."""

    count: int = Field(default=1, ge=1, le=1000)


class LedgerPage(BaseModel):
    """Ledger entries after a sequence number (``LedgerEntry.to_json`` each)."""

    model_config = ConfigDict(frozen=True)

    entries: list[dict[str, Any]]
    dropped: int = Field(description="oldest entries dropped to respect the cap")
    last_seq: int


class Burst(BaseModel):
    """The numbers of the ECOs a burst approved, in approval order."""

    model_config = ConfigDict(frozen=True)

    ecos: list[str]


class Supersession(BaseModel):
    """An ECO superseded and the ECO replacing it, each at its newest version."""

    model_config = ConfigDict(frozen=True)

    superseded: EcoEntry
    superseded_by: EcoEntry


def create_admin_app(
    plm: Plm, ledger: Ledger, faults: FaultInjector, *, advance: Callable[[], None]
) -> FastAPI:
    """The admin sub-application."""
    app = FastAPI(
        title="Simulator administration",
        version="1.0",
        description="What each system applied, fault injection, and ECOs on demand.",
    )
    install_problem_handlers(app)

    @app.get("/ledger", response_model=LedgerPage, summary="Changes the systems applied, in order")
    async def get_ledger(
        after: Annotated[int, Query(ge=0, description="only entries with a higher seq")] = 0,
        system: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    ) -> LedgerPage:
        advance()
        entries = ledger.after(after, system=system, limit=limit)
        return LedgerPage(
            entries=[e.to_json() for e in entries],
            dropped=ledger.dropped,
            last_seq=ledger.last_seq,
        )

    @app.get("/faults", summary="Current faults (outage_seconds counts down)")
    async def get_faults() -> Faults:
        return faults.current()

    @app.put("/faults", summary="Replace every system's faults")
    async def put_faults(body: Faults) -> Faults:
        faults.configure(body)
        return faults.current()

    @app.post("/ecos", status_code=201, response_model=Burst, summary="Approve ECOs now (burst)")
    async def post_ecos(body: BurstRequest) -> Burst:
        shape = EcoShape.model_validate(body.model_dump(exclude={"count"}))
        try:
            ecos = plm.burst(body.count, shape)
        except ShapeError as exc:
            raise Problem(422, "INVALID_SHAPE", str(exc)) from exc
        return Burst(ecos=[e.number for e in ecos])

    @app.put(
        "/ecos/{number}",
        response_model=EcoEntry,
        summary="Publish a version of an ECO in PLM exactly as given (a correction, or one "
        "that breaks the contract)",
    )
    async def publish(number: str, document: Annotated[dict[str, Any], Body()]) -> Response:
        record = plm.publish(number, document)
        return Response(record.to_json(), media_type="application/json")

    @app.post(
        "/ecos/{number}/cancel", response_model=EcoEntry, summary="Cancel an approved ECO in PLM"
    )
    async def cancel(number: str) -> Response:
        advance()
        record = plm.cancel(number)
        return Response(record.to_json(), media_type="application/json")

    @app.post(
        "/ecos/{number}/supersede",
        response_model=Supersession,
        summary="Supersede an approved ECO by a new one",
    )
    async def supersede(number: str) -> Response:
        advance()
        old, new = plm.supersede(number)
        body = f'{{"superseded":{old.to_json()},"superseded_by":{new.to_json()}}}'
        return Response(body, media_type="application/json")

    return app
