"""``threadline engine run``: one sync engine process until SIGTERM or SIGINT; and
``threadline reconcile`` (:func:`reconcile`), one reconciliation now.

Heavy imports stay inside the command so ``threadline --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sync_engine.store import DriftRecord

engine_app = typer.Typer(help="The sync engine.", no_args_is_help=True)


@engine_app.command("run")
def run(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of /metrics (0: none). Overrides THREADLINE_ENGINE_METRICS_PORT."),
    ] = None,
) -> None:
    """Run the sync engine: poll PLM, propagate ECOs, relay events, until stopped.

    Reads every THREADLINE_* setting (database, the four systems' URLs, the collector's URL
    and token, THREADLINE_ENGINE_* timings). On SQLite only one engine may run.
    """
    import asyncio
    import logging
    import signal

    from sync_engine.config import EngineConfig
    from sync_engine.errors import EngineAlreadyRunning
    from sync_engine.scheduler import run_engine
    from threadline import tracing
    from threadline.db import create_engine
    from threadline.logs import configure
    from threadline.settings import get_settings

    settings = get_settings()
    configure(settings.log_level, settings.log_format)
    tracing.configure("threadline-engine", settings.otel_exporter_otlp_endpoint)
    ownership_or_exit(settings.ownership_file)
    # Several jobs run every second; their "running"/"executed" lines would bury the log.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    overrides = {}
    if metrics_port is not None:
        overrides["metrics_port"] = metrics_port or None
    try:
        config = EngineConfig.from_settings(settings, **overrides)
    except ValueError as exc:  # a bad SLA or alert rules file, an alert URL: say where; stop
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    db = create_engine(database_url or settings.database_url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_engine(config, db, stop)

    try:
        asyncio.run(main())
    except EngineAlreadyRunning as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()


def ownership_or_exit(path: Path | None) -> None:
    """Load the ownership rules, or stop with the file, line and problem named (exit 2)."""
    from sync_engine.ownership import OwnershipError, load

    try:
        load(path)
    except OwnershipError as exc:
        typer.echo(f"error: ownership rules: {exc}", err=True)
        raise typer.Exit(2) from None


def reconcile(
    plant: Annotated[
        list[str] | None,
        typer.Option("--plant", help="Reconcile only this plant (repeatable)."),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when any pair drifts.")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
) -> None:
    """Reconcile now: compare each plant's revisions in PLM, ERP, MES and Threadline, record
    the drift (the engine relays the events) and print it.

    Reads THREADLINE_DATABASE_URL and the systems' URLs. Exits 2 if PLM cannot be read.
    """
    from sync_engine.config import EngineConfig
    from sync_engine.errors import CallError
    from sync_engine.reconcile import reconcile_once
    from threadline.db import create_engine
    from threadline.settings import get_settings

    settings = get_settings()
    db = create_engine(database_url or settings.database_url)
    try:
        done = reconcile_once(db, EngineConfig.from_settings(settings), plants=plant or None)
    except CallError as exc:
        typer.echo(f"error: PLM could not be read: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(drift_table(done.drift))
    summary = f"{len(done.drift)} drifting in {len(done.plants)} plants reconciled"
    if done.skipped:
        summary += f"; skipped (ERP or MES did not answer): {', '.join(done.skipped)}"
    typer.echo(summary)
    if exit_code and done.drift:
        raise typer.Exit(1)


HEADERS = ("plant", "item", "PLM", "ERP", "MES", "expected", "ECO", "state", "cause", "since")


def drift_table(drift: Sequence[DriftRecord]) -> str:
    """The drift as an aligned text table, one pair a line."""
    rows = [
        (
            d.plant,
            d.item,
            d.plm_revision or "-",
            d.erp_revision or "-",
            d.mes_revision or "-",
            d.expected_revision or "-",
            d.eco or "-",
            d.eco_state or "-",
            d.cause.value,
            d.since.strftime("%Y-%m-%d %H:%M:%S") if d.since else "-",
        )
        for d in drift
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [HEADERS, *rows]
    )
