from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from threadline.db import create_engine, load_all_tables
from threadline.migrate import current_heads, script_heads, upgrade


def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_is_idempotent(empty_database_url: str) -> None:
    heads = upgrade(empty_database_url)
    assert heads == script_heads(empty_database_url)
    tables = _table_names(empty_database_url)
    assert set(load_all_tables().tables) <= tables
    assert upgrade(empty_database_url) == heads
    assert _table_names(empty_database_url) == tables
    assert current_heads(empty_database_url) == heads


def test_the_migrated_schema_matches_the_metadata(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}),
                load_all_tables(),
            )
    finally:
        engine.dispose()
    assert diff == []
