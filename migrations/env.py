"""Alembic environment: Threadline's engine factory and every package's tables."""

from __future__ import annotations

from alembic import context

from threadline.db import capabilities, create_engine, load_all_tables

config = context.config
target_metadata = load_all_tables()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, url)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection, url)
    finally:
        engine.dispose()


def _run(connection: object, url: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=capabilities(url).batch_alter,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `threadline db upgrade`")
run_migrations_online()
