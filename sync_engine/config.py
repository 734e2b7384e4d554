"""The engine's configuration: built once from :mod:`threadline.settings`, then passed down."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alerts.setup import AlertSetup
from contracts.sla import SlaPolicy
from contracts.steps import System
from sync_engine.retry import DEFAULT_POLICIES, RetryPolicy, policies
from threadline.settings import Settings
from threadline.sla import sla_policy

DEFAULT_BULKHEADS: Mapping[System, int] = {
    System.PLM: 4,
    System.ERP: 16,
    System.MES: 8,
    System.PROCUREMENT: 8,
}


class EngineConfig(BaseModel):
    """Everything one engine process needs besides its database and HTTP client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plm_url: str = "http://127.0.0.1:8090/plm"
    erp_url: str = "http://127.0.0.1:8090/erp"
    mes_url: str = "http://127.0.0.1:8090/mes"
    procurement_url: str = "http://127.0.0.1:8090/procurement"
    collector_url: str | None = Field(
        default=None, description="None: events stay in the outbox (no relay)"
    )
    collector_token: SecretStr | None = None

    plm_poll_interval: float = 2.0
    plm_start: datetime | None = Field(
        default=None,
        description="where the PLM feed is first read from (None: from the start); PLM also "
        "lists the backfilled history's ECOs, which are not propagated again",
    )
    dispatch_interval: float = 0.2
    confirmation_interval: float = 1.0
    relay_interval: float = 0.5
    reconcile_interval: float = 600.0
    reap_interval: float = 5.0
    heartbeat_interval: float = 5.0
    follow_interval: float = Field(
        default=1.0, description="how often operator operations are followed to their end"
    )
    lease_seconds: float = 30.0
    sla: SlaPolicy = Field(default_factory=SlaPolicy, description="every stage's SLA")
    sla_interval: float = Field(default=5.0, description="how often work is checked against it")
    qualification_interval: float = 5.0
    qualification_sla: float = 14400.0
    impact_interval: float = 300.0

    http_timeout: float = 10.0
    http_transport: Literal["aiohttp", "httpcore"] = "aiohttp"
    bulkheads: dict[System, int] = Field(default_factory=lambda: dict(DEFAULT_BULKHEADS))
    retry: dict[System, RetryPolicy] = Field(default_factory=lambda: dict(DEFAULT_POLICIES))
    claim_batch: int = 200
    relay_batch: int = 500
    relay_max_backoff: float = 30.0
    metrics_port: int | None = Field(default=None, description="None: no /metrics server")
    alerts: AlertSetup = Field(
        default_factory=AlertSetup, description="rules, targets, console address"
    )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EngineConfig:
        """The configuration the settings describe, with keyword overrides."""
        bulkheads = dict(DEFAULT_BULKHEADS)
        bulkheads.update({System(k): v for k, v in settings.engine_bulkheads.items()})
        values: dict[str, Any] = {
            "plm_url": settings.plm_url,
            "erp_url": settings.erp_url,
            "mes_url": settings.mes_url,
            "procurement_url": settings.procurement_url,
            "collector_url": settings.collector_url or None,
            "collector_token": settings.collector_token,
            "plm_poll_interval": settings.engine_plm_poll_interval,
            "plm_start": settings.engine_plm_start,
            "dispatch_interval": settings.engine_dispatch_interval,
            "confirmation_interval": settings.engine_confirmation_interval,
            "relay_interval": settings.engine_relay_interval,
            "reconcile_interval": settings.engine_reconcile_interval,
            "reap_interval": settings.engine_reap_interval,
            "heartbeat_interval": settings.engine_heartbeat_interval,
            "lease_seconds": settings.engine_lease_seconds,
            "sla": sla_policy(settings),
            "qualification_interval": settings.engine_qualification_interval,
            "qualification_sla": settings.engine_qualification_sla,
            "impact_interval": settings.engine_impact_interval,
            "http_timeout": settings.engine_http_timeout,
            "http_transport": settings.engine_http_transport,
            "bulkheads": bulkheads,
            "retry": policies(settings.engine_retry_policies),
            "claim_batch": settings.engine_claim_batch,
            "relay_batch": settings.engine_relay_batch,
            "relay_max_backoff": settings.engine_relay_max_backoff,
            "metrics_port": settings.engine_metrics_port,
            "alerts": AlertSetup.from_settings(settings),
        }
        values.update(overrides)
        return cls.model_validate(values)

    def with_simulators(self, base_url: str, **overrides: Any) -> EngineConfig:
        """This configuration pointed at the reference simulators at ``base_url``."""
        base = base_url.rstrip("/")
        return self.model_copy(
            update={
                "plm_url": f"{base}/plm",
                "erp_url": f"{base}/erp",
                "mes_url": f"{base}/mes",
                "procurement_url": f"{base}/procurement",
                **overrides,
            }
        )
