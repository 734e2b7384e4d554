"""The ``threadline`` command line.

Each service registers its own sub-command here; a command appears only once it works.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from threadline.settings import get_settings

app = typer.Typer(
    name="threadline",
    help="Keeps ERP, PLM, MES and procurement in step when engineering changes.",
    no_args_is_help=True,
    add_completion=False,
)

db_app = typer.Typer(help="The database.", no_args_is_help=True)
contracts_app = typer.Typer(help="The canonical model and the event catalog.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(contracts_app, name="contracts")

# The collector's module imports only typer; its commands import the rest when run.
from collector.cli import collector_app  # noqa: E402

app.add_typer(collector_app, name="collector")
# Like the collector's, the engine's module imports only typer until a command runs.
from sync_engine.cli import engine_app  # noqa: E402

app.add_typer(engine_app, name="engine")
simulators_app = typer.Typer(
    help="The reference PLM, ERP, MES and procurement simulators.", no_args_is_help=True
)
app.add_typer(simulators_app, name="simulators")
console_app = typer.Typer(
    help="The Streamlit console (runs it when no sub-command is given).",
    invoke_without_command=True,
)
app.add_typer(console_app, name="console")


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
) -> None:
    """Create or upgrade the schema to the newest revision (safe to run again)."""
    from sqlalchemy.engine import make_url

    from threadline.migrate import upgrade

    url = database_url or get_settings().database_url
    heads = upgrade(url)
    typer.echo(f"{make_url(url).render_as_string(hide_password=True)} is at {', '.join(heads)}")


@contracts_app.command("export")
def contracts_export(
    directory: Annotated[Path, typer.Argument(help="Folder for the schemas (created if missing).")],
) -> None:
    """Write the JSON Schema of every event type and an index.json."""
    from contracts.schemas import export

    written = export(directory)
    typer.echo(f"wrote {len(written) - 1} schemas and {written[-1]}")


@simulators_app.command("serve")
def simulators_serve(
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
) -> None:
    """Serve PLM, ERP, MES and procurement on one port, over one seeded plant world."""
    from simulators.cli import serve

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
        log_level=get_settings().log_level,
    )


@console_app.callback()
def console(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port to serve on (default THREADLINE_CONSOLE_PORT).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: all).")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
) -> None:
    """Serve the console, headless, until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    import os

    from console.server import run

    env = dict(os.environ)
    if database_url is not None:
        env["THREADLINE_DATABASE_URL"] = database_url
    run(port=port or get_settings().console_port, host=host, env=env)


@console_app.command("add-user")
def console_add_user(
    username: Annotated[str, typer.Argument(help="The name to sign in with.")],
    role: Annotated[str, typer.Option(help="viewer, operator, executive or admin.")] = "viewer",
    display_name: Annotated[str, typer.Option(help="The name the console shows.")] = "",
    users_file: Annotated[
        Path | None,
        typer.Option(
            "--users-file", help="Overrides THREADLINE_CONSOLE_USERS_FILE (.toml or .json)."
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a console user (or replace one of the same name) with an argon2-hashed password."""
    import sys

    from console.auth import Account, ConsoleError, hash_password, save_account

    path = users_file or get_settings().console_users_file
    if path is None:
        raise typer.BadParameter("give --users-file or set THREADLINE_CONSOLE_USERS_FILE")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = Account.model_validate(
            {
                "username": username,
                "display_name": display_name,
                "role": role,
                "password_hash": hash_password(password),
            }
        )
        save_account(path, account)
    except (ValueError, ConsoleError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{username} ({role}) saved to {path}")


@console_app.command("hash-password")
def console_hash_password() -> None:
    """Print the argon2 hash of a password read from standard input, for a users file."""
    import sys

    from console.auth import hash_password

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        typer.echo("error: no password on standard input", err=True)
        raise typer.Exit(2)
    typer.echo(hash_password(password))


@simulators_app.command("history")
def simulators_history(
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
    from simulators.cli import BackfillError, backfill

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


def main() -> None:
    """Entry point for ``python -m threadline``."""
    app()


@app.command("up")
def up(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
    ] = None,
    history: Annotated[
        int, typer.Option("--history", help="Days of history to backfill before going live.")
    ] = 365,
    host: Annotated[str, typer.Option(help="Interface every service listens on.")] = "127.0.0.1",
    simulators_port: Annotated[int, typer.Option(help="Port of the simulators.")] = 8090,
    collector_port: Annotated[int, typer.Option(help="Port of the collector.")] = 8088,
    console_port: Annotated[int, typer.Option(help="Port of the console.")] = 8501,
    metrics_port: Annotated[int, typer.Option(help="Port of the engine's /metrics.")] = 9464,
    seed: Annotated[int, typer.Option(help="Seed of the simulated plant world.")] = 7,
    eco_rate: Annotated[float, typer.Option(help="New ECOs approved per minute.")] = 4.0,
) -> None:
    """Run the whole product on this machine: simulators, collector, engine and console."""
    from threadline.up import Up, UpOptions

    options = UpOptions(
        database_url=database_url or get_settings().database_url,
        host=host,
        simulators_port=simulators_port,
        collector_port=collector_port,
        console_port=console_port,
        metrics_port=metrics_port,
        history_days=history,
        seed=seed,
        eco_rate=eco_rate,
    )
    runner = Up(options, Path.cwd())
    restore = runner.install_signal_handlers()
    try:
        code = runner.run()
    finally:
        restore()
    raise typer.Exit(code)
