"""All configuration, read once from the environment (prefix ``THREADLINE_``).

No other module reads ``os.environ``: services receive a :class:`Settings` (or the
values they need from it) as arguments.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+pysqlite:///threadline.db"


class Settings(BaseSettings):
    """Every setting Threadline reads, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="THREADLINE_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )

    # The one database every service shares.
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description=(
            "SQLAlchemy URL; by default the SQLite file threadline.db in the working directory."
        ),
    )

    # The four systems Threadline keeps in step (the reference simulators by default).
    plm_url: str = Field(default="http://127.0.0.1:8090/plm", description="PLM base URL.")
    erp_url: str = Field(default="http://127.0.0.1:8090/erp", description="ERP base URL.")
    mes_url: str = Field(default="http://127.0.0.1:8090/mes", description="MES base URL.")
    procurement_url: str = Field(
        default="http://127.0.0.1:8090/procurement", description="Procurement base URL."
    )

    # The collector, and how producers authenticate to it.
    collector_url: str = Field(default="http://127.0.0.1:8088", description="Collector base URL.")
    collector_token: SecretStr | None = Field(
        default=None, description="Bearer token the engine presents to the collector."
    )
    simulators_collector_token: SecretStr | None = Field(
        default=None,
        description="Bearer token the reference procurement presents to the collector when "
        "it announces qualification decisions (threadline simulators serve --collector-url).",
    )
    collector_tokens: SecretStr | None = Field(
        default=None,
        description=(
            "Producer tokens the collector accepts, as JSON: "
            '{"<token>": {"producer": "<name>", "sources": ["<prefix>", ...], '
            '"types": ["<type prefix>", ...]}}.'
        ),
    )
    collector_tokens_file: Path | None = Field(
        default=None, description="A JSON file in the same shape as THREADLINE_COLLECTOR_TOKENS."
    )
    collector_max_request_bytes: int = Field(
        default=1024 * 1024, description="Largest request body the collector accepts."
    )

    # Event subscribers: the collector forwards every stored event to NATS JetStream.
    nats_url: str | None = Field(
        default=None,
        description="NATS server the collector forwards every stored event to "
        "(nats://127.0.0.1:4222); unset: no forwarding.",
    )
    nats_stream: str = Field(
        default="THREADLINE",
        description="JetStream stream the events go to (created if missing).",
    )
    nats_subject_prefix: str = Field(
        default="threadline",
        description="First token of every subject (<prefix>.<area>.<event>); the stream is "
        "created with the subjects <prefix>.>.",
    )

    # Engine timing (seconds).
    engine_plm_poll_interval: float = Field(default=2.0, description="How often PLM is polled.")
    engine_plm_start: AwareDatetime | None = Field(
        default=None,
        description="Where the engine starts reading PLM's feed while it has no cursor (unset: "
        "from the start); `threadline up` sets it to the end of the backfilled history.",
    )
    engine_dispatch_interval: float = Field(
        default=0.2, description="How often due steps are claimed."
    )
    engine_confirmation_interval: float = Field(
        default=1.0, description="How often pending ERP production versions are polled."
    )
    engine_relay_interval: float = Field(
        default=0.5, description="How often the outbox is relayed."
    )
    engine_reconcile_interval: float = Field(
        default=600.0, description="How often plant revisions are reconciled with ERP and MES."
    )
    engine_lease_seconds: float = Field(
        default=30.0, description="How long a claimed step is held."
    )
    sla_file: Path | None = Field(
        default=None,
        description="TOML file of the SLA of every stage, with overrides per plant, supplier "
        "and product family (unset: the shipped threadline/sla.toml).",
    )
    engine_qualification_interval: float = Field(
        default=5.0, description="How often procurement is asked about pending qualifications."
    )
    engine_qualification_sla: float = Field(
        default=14400.0,
        description="How long an info record may wait for its supplier's qualification, seconds.",
    )
    engine_impact_interval: float = Field(
        default=300.0,
        description="How often the open orders stuck ECOs put at risk are read from ERP, seconds.",
    )
    engine_metrics_port: int = Field(default=9464, description="Port of the engine's /metrics.")
    engine_reap_interval: float = Field(
        default=5.0, description="How often expired step leases are reaped, seconds."
    )
    engine_heartbeat_interval: float = Field(
        default=5.0, description="How often each engine records that it is alive, seconds."
    )
    engine_http_timeout: float = Field(
        default=10.0, description="Timeout of one call to ERP, MES, PLM or procurement, seconds."
    )
    engine_http_transport: Literal["aiohttp", "httpcore"] = Field(
        default="aiohttp",
        description="Transport under the engine's httpx clients: aiohttp (httpx-aiohttp) or "
        "httpx's own httpcore pool.",
    )
    engine_bulkheads: dict[str, int] = Field(
        default_factory=lambda: {"plm": 4, "erp": 16, "mes": 8, "procurement": 8},
        description='Calls in flight at once per system, as JSON: {"erp": 64}.',
    )
    engine_claim_batch: int = Field(
        default=200, description="Most steps one engine claims in one dispatch."
    )
    engine_retry_policies: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description=(
            'Retry policy overrides per system as JSON: {"erp": {"max_attempts": 8, '
            '"base_delay": 1, "max_delay": 60}}.'
        ),
    )
    engine_relay_batch: int = Field(
        default=500, description="Most events the outbox relay sends in one request."
    )
    engine_relay_max_backoff: float = Field(
        default=30.0, description="Longest pause of the relay while the collector is down."
    )

    # Console.
    console_port: int = Field(default=8501, description="Port of the Streamlit console.")
    console_users_file: Path | None = Field(
        default=None, description="TOML/JSON file of console users with argon2-hashed passwords."
    )
    console_oidc_role_claim: str = Field(
        default="threadline_role",
        description="OpenID Connect claim holding a console role (a string or a list of roles).",
    )
    console_oidc_roles: dict[str, str] = Field(
        default_factory=dict,
        description='OpenID Connect users\' roles by e-mail, JSON: {"ada@example.com": "admin"}.',
    )
    console_oidc_default_role: str | None = Field(
        default=None,
        description="Role of an OpenID Connect user with no claim or mapping; unset: refused.",
    )
    console_outbox_stale_after: float = Field(
        default=30.0,
        description="Pages warn when the oldest undelivered engine event is older, seconds.",
    )
    console_heartbeat_timeout: float = Field(
        default=60.0,
        description="Pages warn when no engine has recorded a heartbeat for this long, seconds.",
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        description="How long a password sign-in lasts (its cookie survives reloads), hours.",
    )
    console_session_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the session cookie; unset: a key kept in the database, "
        "shared by every console on it.",
    )

    # Who owns each problem in the exception inbox (engine and console read it at start).
    ownership_file: Path | None = Field(
        default=None,
        description=(
            "TOML file of ownership rules (team, runbook, severity, fix hint per system, step"
            " kind, error code, plant, supplier); unset: the commented default shipped."
        ),
    )

    # Alerts (evaluated by the engine, listed on the console's Alerts page).
    alert_rules_file: Path | None = Field(
        default=None,
        description="TOML file of alert rules (unset: the shipped alerts/defaults.toml).",
    )
    alert_urls: SecretStr | None = Field(
        default=None,
        description="Apprise URLs alerts are sent to, separated by commas or spaces "
        "(unset: the Alerts page only).",
    )
    console_url: str = Field(
        default="http://127.0.0.1:8501",
        description="The console's address as people open it; alert messages link to it.",
    )

    log_level: str = Field(default="INFO", description="Log level for every service.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record; json: one JSON object per line.",
    )

    # Tracing (W3C trace context, OpenTelemetry).
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="The standard OpenTelemetry variable: OTLP/HTTP base URL spans are "
        "exported to (e.g. http://jaeger:4318); unset: spans are not exported.",
    )
    trace_url_template: str | None = Field(
        default=None,
        description="Link from the ECO page to its trace, {trace_id} replaced: "
        "http://jaeger:16686/trace/{trace_id}; unset: the trace id is shown unlinked.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
