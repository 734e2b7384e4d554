"""``threadline collector serve`` and ``threadline collector rebuild``.

Heavy imports stay inside the commands so ``threadline --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

collector_app = typer.Typer(help="The CloudEvents collector.", no_args_is_help=True)


@collector_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8088,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the collector (uvicorn with uvloop and httptools) until interrupted.

    Reads THREADLINE_DATABASE_URL, THREADLINE_COLLECTOR_TOKENS(_FILE),
    THREADLINE_COLLECTOR_MAX_REQUEST_BYTES and THREADLINE_SLA_FILE.
    """
    import uvicorn

    from collector.auth import load_tokens
    from threadline.db import capabilities
    from threadline.logs import configure
    from threadline.settings import get_settings
    from threadline.sla import sla_policy_or_exit

    settings = get_settings()
    configure(settings.log_level)
    sla_policy_or_exit(settings)
    if workers > 1 and capabilities(settings.database_url).single_writer:
        raise typer.BadParameter("SQLite has one writer: use --workers 1", param_hint="--workers")
    if len(load_tokens(settings)) == 0:
        typer.echo("warning: no producer tokens configured; every POST will be refused", err=True)
    uvicorn.run(
        "collector.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@collector_app.command("rebuild")
def rebuild(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Events read per page.")] = 2000,
) -> None:
    """Rebuild every projection from the stored events (one transaction)."""
    import time

    from collector.app import create_engine_for_collector
    from collector.derived import ConfirmationSla
    from collector.store import EventStore
    from threadline.settings import get_settings
    from threadline.sla import sla_policy

    settings = get_settings()
    engine = create_engine_for_collector(database_url or settings.database_url)
    sla = ConfirmationSla.from_policy(
        sla_policy(settings), qualification_seconds=settings.engine_qualification_sla
    )
    started = time.perf_counter()
    try:
        replayed = EventStore(engine, sla=sla).rebuild(batch_size=batch_size)
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    typer.echo(f"rebuilt the projections from {replayed} events in {elapsed:.1f} s")
