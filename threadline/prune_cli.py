"""``threadline db prune``; its work is in :mod:`threadline.prune`, imported when it runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer


def prune_command(
    events_older_than: Annotated[
        float,
        typer.Option(
            "--events-older-than", help="Delete stored events older than DAYS.", metavar="DAYS"
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the action).")] = "",
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete; without it only count what would go.")
    ] = False,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who prunes (default: the login name).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
) -> None:
    """Delete stored events older than DAYS, keeping the read models; report what went.

    Without --yes it counts what would go, warns what a later rebuild would lose, and
    exits 1. With --yes it needs --reason, deletes in batches and records the prune as an
    operator action. Exits 2 for bad arguments.
    """
    import getpass

    from contracts.model import utcnow
    from threadline.db import create_engine
    from threadline.prune import (
        REBUILD_WARNING,
        PruneError,
        count_old_events,
        prune_events,
    )
    from threadline.settings import get_settings

    if events_older_than < 0:
        raise typer.BadParameter("must be 0 days or more", param_hint="--events-older-than")
    if yes and not reason.strip():
        raise typer.BadParameter("say why the history is pruned", param_hint="--reason")
    db = create_engine(database_url or get_settings().database_url)
    try:
        if not yes:
            report = count_old_events(db, utcnow() - timedelta(days=events_older_than))
            typer.echo("\n".join(report.lines()))
            if report.total:
                typer.echo(f"warning: {REBUILD_WARNING}", err=True)
                typer.echo(
                    "nothing deleted: run again with --yes --reason '...' to prune", err=True
                )
                raise typer.Exit(1)
            return
        try:
            report = prune_events(
                db,
                older_than_days=events_older_than,
                actor=actor or getpass.getuser(),
                reason=reason,
            )
        except PruneError as exc:
            raise typer.BadParameter(str(exc)) from None
    finally:
        db.dispose()
    typer.echo("\n".join(report.lines()))
