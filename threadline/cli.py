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


def main() -> None:
    """Entry point for ``python -m threadline``."""
    app()
