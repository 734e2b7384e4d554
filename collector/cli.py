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
    configure(settings.log_level, settings.log_format)
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
        log_config=None,  # uvicorn's records go through configure()'s handler
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


@collector_app.command("replay")
def replay(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="First event to publish again: its seq (1200) or when it was stored "
            "(2026-12-01T08:00:00Z).",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail).")],
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who asks (default: the login name).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
) -> None:
    """Publish stored events to the NATS JetStream stream again, in store order.

    Reads THREADLINE_NATS_URL, THREADLINE_NATS_STREAM and THREADLINE_NATS_SUBJECT_PREFIX.
    The replay is audited as an operator action. Exits 1 if NATS stops answering.
    """
    import asyncio
    import getpass

    from collector.app import create_engine_for_collector, forwarder_config
    from collector.replay import BadRange, first_seq
    from collector.replay import replay as replay_range
    from sync_engine.commands import record_replay
    from threadline.settings import get_settings

    settings = get_settings()
    config = forwarder_config(settings)
    if config is None:
        raise typer.BadParameter("set THREADLINE_NATS_URL to the NATS server to publish to")
    if not reason.strip():
        raise typer.BadParameter("say why the events are published again", param_hint="--reason")
    who = actor or getpass.getuser()
    engine = create_engine_for_collector(database_url or settings.database_url)
    try:
        try:
            start = first_seq(engine, since)
        except BadRange as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
        if start is None:
            typer.echo(f"no event was stored at or after {since}; nothing to publish")
            return
        done = asyncio.run(replay_range(engine, config, start))
        record_replay(
            engine,
            actor=who,
            reason=reason,
            stream=config.stream,
            since=since,
            published=done.published,
            finished=done.error is None,
        )
    finally:
        engine.dispose()
    if done.published == 0 and done.error is None:
        typer.echo(f"no event from seq {start} on; nothing to publish")
        return
    typer.echo(
        f"replay {done.replay}: published {done.published} events "
        f"(seq {done.first_seq}..{done.last_seq}) to {config.stream}"
    )
    if done.error is not None:
        typer.echo(f"stopped: {done.error}", err=True)
        raise typer.Exit(1)
