"""``threadline alerts``: what is firing and what resolved lately, and a test message to
every configured target. Heavy imports stay inside the commands so ``threadline --help``
stays fast."""

from __future__ import annotations

from typing import Annotated

import typer

alerts_app = typer.Typer(help="Alerts: what fires, and where it is sent.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
]


@alerts_app.command("list")
def list_alerts(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of alerts.")] = False,
    hours: Annotated[
        float, typer.Option("--hours", help="Also list alerts resolved in these last hours.")
    ] = 24.0,
    database_url: DatabaseUrl = None,
) -> None:
    """List firing alerts and those resolved lately, firing first."""
    import json
    from datetime import timedelta

    from alerts import store
    from contracts.model import utcnow
    from threadline.db import create_engine
    from threadline.settings import get_settings

    engine = create_engine(database_url or get_settings().database_url)
    try:
        with engine.connect() as connection:
            found = store.recent(connection, since=utcnow() - timedelta(hours=hours))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([alert.to_json() for alert in found], indent=2))
        return
    if not found:
        typer.echo(f"No alert is firing and none resolved in the last {hours:g} h.")
        return
    for alert in found:
        when = f"since {alert.fired_at:%Y-%m-%d %H:%M}"
        if alert.resolved_at is not None:
            when = f"{alert.fired_at:%m-%d %H:%M} to {alert.resolved_at:%m-%d %H:%M}"
        notes = []
        if alert.acknowledged_by:
            notes.append(f"acknowledged by {alert.acknowledged_by}")
        if alert.silenced_until and alert.silenced_until > utcnow():
            notes.append(f"silenced until {alert.silenced_until:%m-%d %H:%M}")
        if alert.owed is not None:
            notes.append(f"{alert.owed.value} message owed")
        said = f" ({'; '.join(notes)})" if notes else ""
        typer.echo(f"{alert.state.value:8} {alert.id:>5} {when} UTC  {alert.title}{said}")


@alerts_app.command("test")
def test(
    title: Annotated[str, typer.Option(help="The test message's title.")] = (
        "Threadline alert test"
    ),
) -> None:
    """Send one test message to every THREADLINE_ALERT_URLS target; print each result."""
    from alerts.notify import send
    from alerts.setup import AlertSetup
    from threadline.settings import get_settings

    try:
        setup = AlertSetup.from_settings(get_settings())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not setup.targets:
        typer.echo("No THREADLINE_ALERT_URLS configured: alerts show on the Alerts page only.")
        return
    body = (
        "A test of Threadline's alert notifications: nothing needs doing.\n\n"
        f"Alerts page: {setup.console_url.rstrip('/')}/alerts"
    )
    failed = 0
    for target in setup.targets:
        error = send(target, f"[TEST] {title}", body)
        if error is None:
            typer.echo(f"ok      {target.label}")
        else:
            failed += 1
            typer.echo(f"FAILED  {target.label}: {error}")
    if failed:
        raise typer.Exit(1)
