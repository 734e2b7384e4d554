"""Which SLA file a service uses: ``THREADLINE_SLA_FILE``, or the one shipped here."""

from __future__ import annotations

from pathlib import Path

from contracts.sla import SlaFileError, SlaPolicy, load_sla
from threadline.settings import Settings

SHIPPED_SLA_FILE = Path(__file__).with_name("sla.toml")
"""The commented default SLAs, used when ``THREADLINE_SLA_FILE`` is not set."""


def sla_file(settings: Settings) -> Path:
    """The SLA file the settings name, or the shipped one."""
    return settings.sla_file or SHIPPED_SLA_FILE


def sla_policy(settings: Settings) -> SlaPolicy:
    """The SLAs every service applies (raises ``contracts.sla.SlaFileError``)."""
    return load_sla(sla_file(settings))


def sla_policy_or_exit(settings: Settings) -> SlaPolicy:
    """The SLAs, or a message naming the file, line and problem and exit code 2: a
    service does not start on a bad SLA file."""
    import typer

    try:
        return sla_policy(settings)
    except SlaFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
