"""Running the Alembic history from code (``threadline db upgrade`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations
from threadline.db import create_engine


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped ``migrations`` folder and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> list[str]:
    """Bring every branch of the schema to its head; return the heads now applied.

    Idempotent: on an up-to-date database it changes nothing.
    """
    command.upgrade(alembic_config(database_url), "heads")
    return current_heads(database_url)


def current_heads(database_url: str) -> list[str]:
    """The revisions the database is at."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def script_heads(database_url: str) -> list[str]:
    """The newest revision of every branch in the shipped history."""
    return sorted(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
