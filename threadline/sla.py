"""Which SLA file a service uses: ``THREADLINE_SLA_FILE``, or the one shipped here."""

from __future__ import annotations

from pathlib import Path

from contracts.sla import SlaPolicy, load_sla
from threadline.settings import Settings

SHIPPED_SLA_FILE = Path(__file__).with_name("sla.toml")
"""The commented default SLAs, used when ``THREADLINE_SLA_FILE`` is not set."""


def sla_file(settings: Settings) -> Path:
    """The SLA file the settings name, or the shipped one."""
    return settings.sla_file or SHIPPED_SLA_FILE


def sla_policy(settings: Settings) -> SlaPolicy:
    """The SLAs every service applies (raises ``contracts.sla.SlaFileError``)."""
    return load_sla(sla_file(settings))
