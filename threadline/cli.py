"""The ``threadline`` command line.

Each service registers its own sub-command here; a command appears only once it works.
"""

from __future__ import annotations

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
simulators_app = typer.Typer(
    help="The reference PLM, ERP, MES and procurement simulators.", no_args_is_help=True
)
app.add_typer(simulators_app, name="simulators")


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
        log_level=get_settings().log_level,
    )


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
