"""One process serving PLM, ERP, MES, procurement and the admin API over one world.

Each system is its own FastAPI sub-application mounted under its prefix, so each has its
own ``/<system>/openapi.json`` and its own fault-injection middleware. State is in memory
and bounded; see the modules for each cap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.admin import create_admin_app
from simulators.announce import Announcer
from simulators.clock import Clock, system_clock
from simulators.erp import Erp
from simulators.erp_app import create_erp_app
from simulators.erp_orders import Orders
from simulators.erp_purchasing import Purchasing
from simulators.faults import FaultInjector, Faults
from simulators.generator import EcoGenerator, GeneratorConfig
from simulators.governance_app import add_admin_routes, add_erp_routes, add_procurement_routes
from simulators.history import HistoryLeft, history_left
from simulators.idempotency import IdempotencyStore
from simulators.ledger import Ledger, caused_by
from simulators.mes import Mes, create_mes_app
from simulators.plm import Plm, create_plm_app
from simulators.procurement import Procurement, create_procurement_app
from simulators.qualifications import Qualifications
from simulators.sourcing import Sourcing, build_sourcing
from simulators.world import World, advance_world, build_world


class SimulatorConfig(BaseModel):
    """How the simulators start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=7, description="seeds the world, the ECO stream and the faults")
    eco_rate: float = Field(default=0.0, ge=0, description="approved ECOs per minute")
    faults: Faults = Faults()
    confirmation_delay: float | None = Field(
        default=None, ge=0, description="overrides faults.erp.confirmation_delay_seconds"
    )
    generator: GeneratorConfig = GeneratorConfig()
    history_days: int = Field(
        default=0, ge=0, description="start where this many days of history left PLM"
    )
    history_ecos_per_day: float = Field(
        default=6.0, ge=0, description="the ECO rate of that history (as backfilled)"
    )
    history_end: AwareDatetime | None = Field(
        default=None,
        description="when that history ended (as backfilled); now if unset. The backfill "
        "must use the same end: an ECO unfinished at the end is left out of the history",
    )
    tick_seconds: float = Field(
        default=1.0, gt=0, description="how often PLM catches up with the rate when unread"
    )
    collector_url: str | None = Field(
        default=None, description="where procurement announces its qualification decisions"
    )
    collector_token: SecretStr | None = Field(
        default=None, description="the bearer token of procurement's producer at the collector"
    )


@dataclass
class Simulators:
    """Every simulated system over one world."""

    world: World
    clock: Clock
    ledger: Ledger
    idempotency: IdempotencyStore
    faults: FaultInjector
    generator: EcoGenerator
    plm: Plm
    erp: Erp
    mes: Mes
    procurement: Procurement
    sourcing: Sourcing
    qualifications: Qualifications
    purchasing: Purchasing
    orders: Orders

    def advance(self) -> None:
        """Bring PLM's feed, ERP's confirmations, procurement's qualifications and ERP's
        open orders up to now."""
        now = self.clock()
        self.plm.advance(now)
        self.erp.settle(now)
        self.qualifications.settle(now)
        self.orders.settle(now)


def build_simulators(config: SimulatorConfig, *, clock: Clock = system_clock) -> Simulators:
    """The systems' state for ``config`` (no HTTP)."""
    world = build_world(config.seed)
    now = clock()
    history: HistoryLeft | None = None
    if config.history_days:
        history = history_left(
            world,
            days=config.history_days,
            end=config.history_end or now,
            ecos_per_day=config.history_ecos_per_day,
            seed=config.seed,
        )
        # The plants run what the history's ECOs left at each (plant, item), as of now.
        world = advance_world(
            world, history.revisions, erp=history.plants.erp(now), mes=history.plants.mes
        )
    faults = config.faults
    if config.confirmation_delay is not None:
        erp_faults = faults.erp.model_copy(
            update={"confirmation_delay_seconds": config.confirmation_delay}
        )
        faults = faults.model_copy(update={"erp": erp_faults})
    ledger = Ledger()
    injector = FaultInjector(faults, seed=config.seed, clock=clock)
    generator = EcoGenerator(
        world, config=config.generator.model_copy(update={"rate_per_minute": config.eco_rate})
    )
    plm = Plm(world, generator, clock=clock, rate_per_minute=config.eco_rate)
    if history is not None:
        plm.add_history(history.ecos)
    erp = Erp(world, plm, ledger, injector, clock=clock)
    sourcing = build_sourcing(world, now.date())
    qualifications = Qualifications(world, sourcing, ledger, injector, clock=clock)
    purchasing = Purchasing(
        world, sourcing, qualifications, ledger, require_released=erp.require_released, clock=clock
    )
    orders = Orders(world, sourcing, revisions=lambda p: erp.revisions(p).revisions, clock=clock)
    return Simulators(
        world=world,
        clock=clock,
        ledger=ledger,
        idempotency=IdempotencyStore(),
        faults=injector,
        generator=generator,
        plm=plm,
        erp=erp,
        mes=Mes(world, erp, ledger, clock=clock),
        procurement=Procurement(world, ledger, injector, clock=clock),
        sourcing=sourcing,
        qualifications=qualifications,
        purchasing=purchasing,
        orders=orders,
    )


def create_app(config: SimulatorConfig | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The simulators as one ASGI application (``app.state.simulators`` holds the state)."""
    config = config or SimulatorConfig()
    sims = build_simulators(config, clock=clock)

    announcer = None
    if config.collector_url:
        token = config.collector_token.get_secret_value() if config.collector_token else None
        announcer = Announcer(config.collector_url, token)
        sims.qualifications.on_decision(announcer.decided)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Time moves for decisions to be announced even while nobody asks.
        ticking = config.eco_rate or announcer is not None
        tasks = [asyncio.create_task(_tick(sims, config.tick_seconds))] if ticking else []
        if announcer is not None:
            tasks.append(asyncio.create_task(announcer.run()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    root = FastAPI(
        title="Threadline reference simulators",
        description="PLM, ERP, MES and procurement; each documents itself at /<system>/docs.",
        lifespan=lifespan,
    )
    root.state.simulators = sims
    advance = sims.advance
    systems = {
        "plm": create_plm_app(sims.plm, advance=advance),
        "erp": create_erp_app(sims.erp, sims.idempotency, advance=advance),
        "mes": create_mes_app(sims.mes, sims.idempotency, advance=advance),
        "procurement": create_procurement_app(sims.procurement, sims.idempotency, advance=advance),
    }
    add_procurement_routes(
        systems["procurement"],
        sims.qualifications,
        sims.sourcing,
        sims.idempotency,
        advance=advance,
    )
    add_erp_routes(systems["erp"], sims.purchasing, sims.orders, sims.idempotency, advance=advance)
    for name, sub in systems.items():
        sub.middleware("http")(sims.faults.middleware(name))
        root.mount(f"/{name}", sub)
    admin = create_admin_app(sims.plm, sims.ledger, sims.faults, advance=advance)
    add_admin_routes(admin, sims.qualifications, advance=advance)
    root.mount("/_admin", admin)
    root.add_middleware(RecordTraceparent)

    @root.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return root


class RecordTraceparent:
    """ASGI middleware: the request's ``traceparent`` header, for the ledger's entries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v for k, v in scope["headers"] if k == b"traceparent"), None)
        with caused_by(value.decode("latin-1")[:55] if value else None):
            await self.app(scope, receive, send)


async def _tick(sims: Simulators, seconds: float) -> None:
    while True:
        sims.advance()
        await asyncio.sleep(seconds)
