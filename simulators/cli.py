"""``threadline simulators serve`` and ``threadline simulators history``.

``simulators_app`` declares the commands; :func:`serve` and :func:`backfill` do the work.
Heavy imports stay inside the functions so ``threadline --help`` stays fast. The commands
are the one place in the simulators that reads Threadline's settings (log level, the
collector's URL and token), because they run as part of the ``threadline`` command.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from simulators.errors import SimulatorError

logger = logging.getLogger(__name__)

simulators_app = typer.Typer(
    help="The reference PLM, ERP, MES and procurement simulators.", no_args_is_help=True
)


@simulators_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    seed: Annotated[int, typer.Option(help="Seed of the world, the ECO stream and faults.")] = 7,
    eco_rate: Annotated[
        float, typer.Option("--eco-rate", help="Approved ECOs per minute (0: only on demand).")
    ] = 0.0,
    faults: Annotated[
        Path | None,
        typer.Option(help="JSON file of faults, in the shape of PUT /_admin/faults.", exists=True),
    ] = None,
    confirmation_delay: Annotated[
        float | None,
        typer.Option("--confirmation-delay", help="Seconds until ERP confirms a version."),
    ] = None,
    history_days: Annotated[
        int,
        typer.Option(
            "--history-days",
            help="Continue item revisions after this many days of backfilled history.",
        ),
    ] = 0,
    history_ecos_per_day: Annotated[
        float,
        typer.Option("--history-ecos-per-day", help="The ECO rate of that history."),
    ] = 6.0,
    history_end: Annotated[
        datetime | None,
        typer.Option(
            "--history-end",
            help="When that history ended, UTC (give the backfill the same); default now.",
        ),
    ] = None,
    inactive_work_center_share: Annotated[
        float | None,
        typer.Option(
            "--inactive-work-center-share",
            min=0.0,
            max=1.0,
            help="Share of new ECOs whose routing uses an inactive work center (default 0.05).",
        ),
    ] = None,
    collector_url: Annotated[
        str | None,
        typer.Option(
            "--collector-url",
            help="Procurement announces its qualification decisions to this collector "
            "(with THREADLINE_SIMULATORS_COLLECTOR_TOKEN); default: it does not.",
        ),
    ] = None,
) -> None:
    """Serve PLM, ERP, MES and procurement on one port, over one seeded plant world."""
    from threadline.settings import get_settings

    settings = get_settings()
    serve(
        host=host,
        port=port,
        seed=seed,
        eco_rate=eco_rate,
        faults_file=faults,
        confirmation_delay=confirmation_delay,
        history_days=history_days,
        history_ecos_per_day=history_ecos_per_day,
        history_end=_utc(history_end),
        inactive_work_center_share=inactive_work_center_share,
        collector_url=collector_url,
        collector_token=settings.simulators_collector_token,
        log_level=settings.log_level,
    )


@simulators_app.command("history")
def history_command(
    days: Annotated[int, typer.Option(help="Days of history before now.")] = 365,
    seed: Annotated[int, typer.Option(help="Seed of the simulated plant world.")] = 7,
    ecos_per_day: Annotated[
        float, typer.Option("--ecos-per-day", help="Approved ECOs per day in the past.")
    ] = 6.0,
    collector_url: Annotated[
        str | None, typer.Option("--collector-url", help="Overrides THREADLINE_COLLECTOR_URL.")
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--end", help="When the history ends, UTC (as the simulators were told)."),
    ] = None,
) -> None:
    """Post past ECO propagations to the collector as CloudEvents (safe to repeat)."""
    from threadline.settings import get_settings

    settings = get_settings()
    token = settings.collector_token.get_secret_value() if settings.collector_token else None
    try:
        ecos, events = backfill(
            collector_url=collector_url or settings.collector_url,
            token=token,
            days=days,
            seed=seed,
            ecos_per_day=ecos_per_day,
            end=_utc(end),
        )
    except BackfillError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"posted {events} events of {ecos} ECOs over {days} days")


def _utc(moment: datetime | None) -> datetime | None:
    """A command-line time: naive means UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8090,
    seed: int = 7,
    eco_rate: float = 0.0,
    faults_file: Path | None = None,
    confirmation_delay: float | None = None,
    history_days: int = 0,
    history_ecos_per_day: float = 6.0,
    history_end: datetime | None = None,
    inactive_work_center_share: float | None = None,
    collector_url: str | None = None,
    collector_token: SecretStr | None = None,
    log_level: str = "info",
) -> None:
    """Serve PLM, ERP, MES, procurement and the admin API until interrupted."""
    import uvicorn

    from simulators.app import SimulatorConfig, create_app
    from simulators.faults import Faults
    from simulators.generator import GeneratorConfig
    from threadline.logs import configure
    from threadline.settings import get_settings

    faults = Faults()
    if faults_file is not None:
        faults = Faults.model_validate_json(faults_file.read_text(encoding="utf-8"))
    generator = GeneratorConfig()
    if inactive_work_center_share is not None:
        generator = generator.model_copy(
            update={"inactive_work_center_share": inactive_work_center_share}
        )
    config = SimulatorConfig(
        generator=generator,
        seed=seed,
        eco_rate=eco_rate,
        faults=faults,
        confirmation_delay=confirmation_delay,
        history_days=history_days,
        history_ecos_per_day=history_ecos_per_day,
        history_end=history_end,
        collector_url=collector_url,
        collector_token=collector_token,
    )
    configure(log_level, get_settings().log_format)
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level.lower(),
        log_config=None,  # through configure()'s handler, access lines at DEBUG
        timeout_graceful_shutdown=3,
    )


class BackfillError(SimulatorError):
    """The collector refused the history for good (not a transient failure)."""


def backfill(
    *,
    collector_url: str,
    token: str | None,
    days: int,
    seed: int = 7,
    ecos_per_day: float = 6.0,
    end: datetime | None = None,
    batch_bytes: int = 512 * 1024,
    attempts: int = 8,
) -> tuple[int, int]:
    """Post ``days`` of history to the collector in batches; returns (ECOs, events).

    Transient answers (429, 5xx, connection errors) are retried with the same events,
    which the collector de-duplicates, so running the backfill twice stores it once.
    """
    import httpx

    from simulators.history import history_events
    from simulators.world import build_world

    headers = {"Content-Type": "application/cloudevents-batch+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    ecos = sent = 0
    batch: list[bytes] = []
    size = 0
    stream = history_events(
        build_world(seed),
        days=days,
        end=end or datetime.now(UTC),
        ecos_per_day=ecos_per_day,
        seed=seed,
    )
    with httpx.Client(base_url=collector_url, timeout=httpx.Timeout(60.0)) as client:
        for events in stream:
            ecos += 1
            for event in events:
                encoded = json.dumps(event, separators=(",", ":")).encode()
                if batch and size + len(encoded) > batch_bytes:
                    _post(client, batch, headers, attempts)
                    sent += len(batch)
                    batch, size = [], 0
                batch.append(encoded)
                size += len(encoded) + 1
        if batch:
            _post(client, batch, headers, attempts)
            sent += len(batch)
    return ecos, sent


def _post(client: Any, batch: list[bytes], headers: dict[str, str], attempts: int) -> None:
    import httpx

    body = b"[" + b",".join(batch) + b"]"
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            response = client.post("/events", content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == attempts:
                raise BackfillError(f"collector unreachable: {exc}") from exc
            logger.warning("collector unreachable (%s); retrying", exc)
        else:
            if response.status_code < 300:
                return
            if response.status_code != 429 and response.status_code < 500:
                raise BackfillError(
                    f"collector refused the history: {response.status_code} {response.text[:500]}"
                )
            if attempt == attempts:
                raise BackfillError(f"collector kept answering {response.status_code}")
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                delay = max(delay, float(retry_after))
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
