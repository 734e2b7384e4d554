"""Fault injection per system: latency, 500/503, timeouts, 429, business rejections, outages.

``Faults`` is the configuration (the body of ``PUT /_admin/faults`` and of the ``--faults``
file). ``decide`` is a pure function from one system's configuration and a random stream to
what happens to one request; ``FaultInjector`` holds one ``random.Random`` per system,
seeded from the world's seed, so a test run draws the same faults every time.

A timed-out request is held *after* the handler ran: the change is applied but the client
gives up waiting, which is exactly the case idempotency keys exist for.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulators.clock import Clock
from simulators.problems import Problem

Rate = Field(default=0.0, ge=0, le=1)


class LatencyDistribution(BaseModel):
    """Random latency in milliseconds: ``uniform`` (low..high), ``normal`` (mean, stddev)
    or ``lognormal`` (median, sigma); never below 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dist: Literal["uniform", "normal", "lognormal"]
    low: float = Field(default=0.0, ge=0)
    high: float = Field(default=0.0, ge=0)
    mean: float = Field(default=0.0, ge=0)
    stddev: float = Field(default=0.0, ge=0)
    median: float = Field(default=0.0, ge=0)
    sigma: float = Field(default=0.5, ge=0)

    def draw(self, rng: random.Random) -> float:
        """One latency in milliseconds."""
        if self.dist == "uniform":
            return rng.uniform(self.low, max(self.low, self.high))
        if self.dist == "normal":
            return max(0.0, rng.gauss(self.mean, self.stddev))
        return rng.lognormvariate(math.log(max(self.median, 1e-3)), self.sigma)


class SystemFaults(BaseModel):
    """The faults of one system. Rates are shares of requests (0..1) and must sum to <= 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float | LatencyDistribution = Field(default=0.0)
    error_rate: float = Rate
    timeout_rate: float = Rate
    rate_limit_rate: float = Rate
    retry_after_seconds: int = Field(default=1, ge=0, description="Retry-After of a 429")
    business_rate: float = Field(
        default=0.0, ge=0, le=1, description="share of writes rejected with a coded 422"
    )
    business_code: str | None = Field(default=None, description="code of those rejections")
    outage_seconds: float = Field(default=0.0, ge=0, description="down for N seconds from now")
    timeout_seconds: float = Field(
        default=30.0, ge=0, description="how long a timed-out request is held"
    )

    @model_validator(mode="after")
    def _rates_fit(self) -> SystemFaults:
        total = self.error_rate + self.timeout_rate + self.rate_limit_rate + self.business_rate
        if total > 1.0 + 1e-9:
            raise ValueError(f"rates sum to {total:.3f}, more than 1")
        return self


class ErpFaults(SystemFaults):
    """ERP's faults, and how it confirms production versions."""

    confirmation_delay_seconds: float = Field(
        default=2.0, ge=0, description="a production version is active this long after request"
    )
    confirmation_reject_rate: float = Field(
        default=0.0, ge=0, le=1, description="share of production versions ERP rejects"
    )


class ProcurementFaults(SystemFaults):
    """Procurement's faults, how often the unreliable supplier portals fail, and how
    qualifications are decided."""

    unreliable_portal_rate: float = Field(
        default=0.3, ge=0, le=1, description="share of notices to unreliable suppliers that fail"
    )
    qualification_delay_seconds: float = Field(
        default=180.0,
        ge=0,
        description="median time a qualification's sourcing and quality tasks take",
    )
    qualification_reject_rate: float = Field(
        default=0.15, ge=0, le=1, description="share of requested qualifications rejected"
    )


class Faults(BaseModel):
    """Faults of every system (the shape of ``PUT /_admin/faults``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plm: SystemFaults = SystemFaults()
    erp: ErpFaults = ErpFaults()
    mes: SystemFaults = SystemFaults()
    procurement: ProcurementFaults = ProcurementFaults()

    def of(self, system: str) -> SystemFaults:
        """One system's faults."""
        faults: SystemFaults = getattr(self, system)
        return faults


DEFAULT_BUSINESS_CODES = {
    "plm": "ECO_LOCKED",
    "erp": "POSTING_PERIOD_CLOSED",
    "mes": "LINE_LOCKED",
    "procurement": "SUPPLIER_BLOCKED",
}


class FaultKind(StrEnum):
    """What an injected fault does to one request."""

    NONE = "none"  # served normally (perhaps late)
    OUTAGE = "outage"  # 503 during an outage window
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    ERROR = "error"  # 500 or 503
    BUSINESS = "business"  # 422 with a business code (writes only)
    TIMEOUT = "timeout"  # served, then held longer than any client waits


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request."""

    kind: FaultKind
    latency_seconds: float = 0.0
    status: int = 200


def decide(
    faults: SystemFaults, rng: random.Random, *, write: bool, in_outage: bool
) -> FaultDecision:
    """The fault for one request: one draw picks the kind, more draw latency and status."""
    latency = faults.latency_ms
    latency_ms = latency.draw(rng) if isinstance(latency, LatencyDistribution) else latency
    seconds = latency_ms / 1000.0
    if in_outage:
        return FaultDecision(FaultKind.OUTAGE, seconds, 503)
    draw = rng.random()
    edge = faults.rate_limit_rate
    if draw < edge:
        return FaultDecision(FaultKind.RATE_LIMITED, seconds, 429)
    edge += faults.error_rate
    if draw < edge:
        return FaultDecision(FaultKind.ERROR, seconds, rng.choice((500, 503)))
    edge += faults.business_rate
    if draw < edge:
        if write:
            return FaultDecision(FaultKind.BUSINESS, seconds, 422)
        return FaultDecision(FaultKind.NONE, seconds)
    edge += faults.timeout_rate
    if draw < edge:
        return FaultDecision(FaultKind.TIMEOUT, seconds)
    return FaultDecision(FaultKind.NONE, seconds)


SYSTEMS = ("plm", "erp", "mes", "procurement")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DOC_SUFFIXES = ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect")

Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


class FaultInjector:
    """The current faults of every system, their random streams and outage windows."""

    def __init__(self, faults: Faults, *, seed: int, clock: Clock) -> None:
        self._clock = clock
        self._rngs = {s: random.Random(f"{seed}:faults:{s}") for s in SYSTEMS}
        self._outage_until: dict[str, datetime] = {}
        self._faults = faults
        self.configure(faults)

    @property
    def faults(self) -> Faults:
        """The configuration as set (outage_seconds as given when set)."""
        return self._faults

    def configure(self, faults: Faults) -> None:
        """Replace every system's faults; an ``outage_seconds`` starts its window now."""
        now = self._clock()
        self._faults = faults
        self._outage_until = {
            s: now + timedelta(seconds=faults.of(s).outage_seconds)
            for s in SYSTEMS
            if faults.of(s).outage_seconds > 0
        }

    def current(self) -> Faults:
        """The configuration with ``outage_seconds`` counting down to the end of the window."""
        now = self._clock()
        update = {
            s: self._faults.of(s).model_copy(update={"outage_seconds": self._outage_left(s, now)})
            for s in SYSTEMS
        }
        return self._faults.model_copy(update=update)

    def _outage_left(self, system: str, now: datetime) -> float:
        until = self._outage_until.get(system)
        return max(0.0, (until - now).total_seconds()) if until is not None else 0.0

    def decide(self, system: str, *, write: bool) -> FaultDecision:
        """The fault for the next request to ``system``."""
        in_outage = self._outage_left(system, self._clock()) > 0
        return decide(self._faults.of(system), self._rngs[system], write=write, in_outage=in_outage)

    def middleware(self, system: str) -> Middleware:
        """An HTTP middleware injecting ``system``'s faults into every call but the docs."""

        async def inject(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if request.url.path.endswith(DOC_SUFFIXES):
                return await call_next(request)
            decision = self.decide(system, write=request.method not in READ_METHODS)
            if decision.latency_seconds > 0:
                await asyncio.sleep(decision.latency_seconds)
            problem = self._problem(system, decision)
            if problem is not None:
                return problem.response(request.url.path)
            response = await call_next(request)
            if decision.kind is FaultKind.TIMEOUT:
                await asyncio.sleep(self._faults.of(system).timeout_seconds)
            return response

        return inject

    def _problem(self, system: str, decision: FaultDecision) -> Problem | None:
        faults = self._faults.of(system)
        if decision.kind is FaultKind.OUTAGE:
            left = math.ceil(self._outage_left(system, self._clock()))
            return Problem(
                503,
                "SERVICE_UNAVAILABLE",
                f"{system} is down for maintenance",
                headers={"Retry-After": str(max(1, left))},
            )
        if decision.kind is FaultKind.RATE_LIMITED:
            return Problem(
                429,
                "RATE_LIMITED",
                f"too many requests to {system}",
                headers={"Retry-After": str(faults.retry_after_seconds)},
            )
        if decision.kind is FaultKind.ERROR:
            if decision.status == 500:
                return Problem(500, "INTERNAL_ERROR", f"{system} failed unexpectedly")
            return Problem(503, "SERVICE_UNAVAILABLE", f"{system} is temporarily unavailable")
        if decision.kind is FaultKind.BUSINESS:
            code = faults.business_code or DEFAULT_BUSINESS_CODES[system]
            return Problem(422, code, f"{system} refused the change: {code}")
        return None
