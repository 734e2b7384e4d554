"""``threadline engine run``: one sync engine process until SIGTERM or SIGINT.

Heavy imports stay inside the command so ``threadline --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

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
    from threadline.db import create_engine
    from threadline.logs import configure
    from threadline.settings import get_settings

    settings = get_settings()
    configure(settings.log_level)
    # Several jobs run every second; their "running"/"executed" lines would bury the log.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    overrides = {}
    if metrics_port is not None:
        overrides["metrics_port"] = metrics_port or None
    config = EngineConfig.from_settings(settings, **overrides)
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
