"""``threadline console`` and its ``add-user`` and ``hash-password`` commands.

Heavy imports stay inside the commands so ``threadline --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

console_app = typer.Typer(
    help="The Streamlit console (runs it when no sub-command is given).",
    invoke_without_command=True,
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
    from sync_engine.cli import ownership_or_exit
    from threadline.settings import get_settings
    from threadline.sla import sla_policy_or_exit

    settings = get_settings()
    sla_policy_or_exit(settings)
    # The inbox needs the ownership rules: a bad file stops the console here, named.
    ownership_or_exit(settings.ownership_file)
    env = dict(os.environ)
    if database_url is not None:
        env["THREADLINE_DATABASE_URL"] = database_url
    run(port=port or settings.console_port, host=host, env=env)


@console_app.command("add-user")
def add_user(
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
    from threadline.settings import get_settings

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
def hash_password_command() -> None:
    """Print the argon2 hash of a password read from standard input, for a users file."""
    import sys

    from console.auth import hash_password

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        typer.echo("error: no password on standard input", err=True)
        raise typer.Exit(2)
    typer.echo(hash_password(password))
