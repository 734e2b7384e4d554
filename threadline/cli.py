"""The ``threadline`` command line.

It composes each package's commands (``collector``, ``engine``, ``simulators``,
``console``, ``alerts``) and adds the plumbing they share: ``db upgrade``, ``contracts export`` and
``up``; a command appears only once it works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Each package's command module imports only typer; its commands import the rest when run.
from alerts.cli import alerts_app
from collector.cli import collector_app
from console.cli import console_app
from simulators.cli import simulators_app
from sync_engine import operator_cli
from sync_engine.cli import engine_app
from sync_engine.cli import reconcile as reconcile_command
from threadline.prune_cli import prune_command
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

app.add_typer(collector_app, name="collector")
app.add_typer(engine_app, name="engine")
app.add_typer(simulators_app, name="simulators")
app.add_typer(console_app, name="console")
app.add_typer(alerts_app, name="alerts")
app.command("reconcile")(reconcile_command)
operator_cli.register(app)
db_app.command("prune")(prune_command)


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
    """Write the JSON Schema of every event type, an index.json and the AsyncAPI 3.0
    document of the collector's HTTP channel and NATS subjects (asyncapi.yaml)."""
    from contracts import asyncapi
    from contracts.schemas import export

    settings = get_settings()
    written = export(directory)
    servers = asyncapi.Servers(
        collector_url=settings.collector_url,
        nats_url=settings.nats_url or asyncapi.Servers.nats_url,
        stream=settings.nats_stream,
        subject_prefix=settings.nats_subject_prefix,
    )
    document = asyncapi.write(directory, servers)
    typer.echo(f"wrote {len(written) - 1} schemas, {written[-1]} and {document}")


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
