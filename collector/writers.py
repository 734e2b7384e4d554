"""How a batch of events and its projection rows reach the database.

:class:`Writer` goes statement by statement through SQLAlchemy (SQLite, where
``BEGIN IMMEDIATE`` already serialises writers); :class:`PostgresWriter` sends rows as one
JSON document per table in pipelined round trips and serialises collectors per ECO with
advisory locks. :func:`writer_for` picks one from the database's capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row

from collector.rows import Needs, Row, Working
from collector.tables import (
    PROJECTIONS,
    drift,
    eco_plants,
    eco_status,
    events,
    plant_revisions,
    reconciliations,
    step_status,
    supplier_notices,
)
from threadline.db import Capabilities


def writer_for(caps: Capabilities) -> Writer:
    """The writer for a database with ``caps``: the JSON path where the server has JSONB."""
    return (PostgresWriter if caps.jsonb else Writer)(caps.insert)


class Writer:
    """How a batch reaches the database, statement by statement through SQLAlchemy.

    Used on SQLite, where ``BEGIN IMMEDIATE`` already makes every write transaction wait
    for the previous one, so no row locks are needed.
    """

    def __init__(self, insert: Callable[[sa.Table], Any]) -> None:
        self._insert_events = (
            insert(events)
            .on_conflict_do_nothing(index_elements=["source", "id"])
            .returning(events.c.seq, events.c.source, events.c.id)
        )
        self._upserts = {table.name: _upsert_statement(insert, table) for table in PROJECTIONS}

    def insert_and_load(
        self, connection: sa.Connection, rows: list[Row], needs: Needs, *, lock: bool = True
    ) -> tuple[list[tuple[int, str, str]], Working]:
        """Insert ``rows`` skipping stored ones, then load the projection rows ``needs`` names.

        ``lock=False`` skips per-ECO locks when the caller holds the whole store already.

        Returns ``(seq, source, id)`` of every new event and the loaded rows.
        """
        inserted: list[tuple[int, str, str]] = []
        if rows:
            inserted = [tuple(r) for r in connection.execute(self._insert_events, rows)]
        work = Working()
        ecos = sorted(needs.ecos)
        if ecos:
            work.ecos = _keyed(connection, eco_status, eco_status.c.eco.in_(ecos))
            work.steps = _keyed(connection, step_status, step_status.c.eco.in_(ecos))
            work.plants = _keyed(connection, eco_plants, eco_plants.c.eco.in_(ecos))
            work.notices = _keyed(connection, supplier_notices, supplier_notices.c.eco.in_(ecos))
        if needs.plants and needs.items:
            where = sa.and_(
                plant_revisions.c.plant.in_(sorted(needs.plants)),
                plant_revisions.c.item.in_(sorted(needs.items)),
            )
            work.revisions = _keyed(connection, plant_revisions, where)
            where = sa.and_(
                drift.c.plant.in_(sorted(needs.plants)), drift.c.item.in_(sorted(needs.items))
            )
            work.drift = _keyed(connection, drift, where)
        if needs.reconciled:
            where = reconciliations.c.plant.in_(sorted(needs.reconciled))
            work.reconciliations = _keyed(connection, reconciliations, where)
        return inserted, work

    def lock_for_rebuild(self, connection: sa.Connection) -> None:
        """Keep appends out while a rebuild runs (SQLite: the write transaction does)."""

    def write(self, connection: sa.Connection, changes: list[tuple[sa.Table, list[Row]]]) -> None:
        """Insert or overwrite projection rows, by primary key."""
        for table, rows in changes:
            connection.execute(self._upserts[table.name], rows)


class PostgresWriter(Writer):
    """The PostgreSQL path: rows as one JSON document, pipelined round trips.

    - Every multi-row write is one ``INSERT ... SELECT`` over ``jsonb_populate_record`` of
      a JSON array of the rows: a short, constant statement (prepared once) with a single
      parameter serialised by orjson. SQLAlchemy's many-row VALUES form binds thousands of
      parameters that psycopg re-parses on every call, and per-column arrays cost more to
      adapt in Python than the database spends inserting them.
    - The lock, the insert and the loads of a batch travel in one pipeline (one round
      trip); the writes in another.
    - Per-ECO advisory locks (taken in sorted order) serialise collectors that touch the
      same ECO, including ECOs that have no row yet.
    """

    LOCK = (
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended(e, 5010) AS k, o "
        "FROM unnest(%b::text[]) WITH ORDINALITY AS u(e, o) ORDER BY o) AS s"
    )

    def __init__(self, insert: Callable[[sa.Table], Any]) -> None:
        super().__init__(insert)
        self._statements = {
            table.name: _json_insert(table, conflict="update") for table in PROJECTIONS
        }
        self._statements["events"] = (
            _json_insert(events, conflict="nothing") + " RETURNING seq, source, id"
        )

    def insert_and_load(
        self, connection: sa.Connection, rows: list[Row], needs: Needs, *, lock: bool = True
    ) -> tuple[list[tuple[int, str, str]], Working]:
        driver = _driver(connection)
        ecos = sorted(needs.ecos)
        loads: dict[str, Any] = {}
        try:
            with driver.pipeline():
                if ecos and lock:
                    driver.cursor().execute(self.LOCK, [ecos])
                insert = driver.cursor()
                if rows:
                    insert.execute(self._statements["events"], [_json_rows(rows)])
                if ecos:
                    for table in (eco_status, step_status, eco_plants, supplier_notices):
                        loads[table.name] = cursor = driver.cursor(row_factory=dict_row)
                        cursor.execute(f'SELECT * FROM "{table.name}" WHERE eco = ANY(%b)', [ecos])
                if needs.plants and needs.items:
                    loads["plant_revisions"] = cursor = driver.cursor(row_factory=dict_row)
                    cursor.execute(
                        "SELECT * FROM plant_revisions WHERE plant = ANY(%b) AND item = ANY(%b)",
                        [sorted(needs.plants), sorted(needs.items)],
                    )
                    loads["drift"] = cursor = driver.cursor(row_factory=dict_row)
                    cursor.execute(
                        "SELECT * FROM drift WHERE plant = ANY(%b) AND item = ANY(%b)",
                        [sorted(needs.plants), sorted(needs.items)],
                    )
                if needs.reconciled:
                    loads["reconciliations"] = cursor = driver.cursor(row_factory=dict_row)
                    cursor.execute(
                        "SELECT * FROM reconciliations WHERE plant = ANY(%b)",
                        [sorted(needs.reconciled)],
                    )
            inserted = [tuple(row) for row in insert.fetchall()] if rows else []
            work = Working()
            for table, target in (
                (eco_status, work.ecos),
                (step_status, work.steps),
                (eco_plants, work.plants),
                (supplier_notices, work.notices),
                (plant_revisions, work.revisions),
                (drift, work.drift),
                (reconciliations, work.reconciliations),
            ):
                if table.name in loads:
                    target.update((_key(table, row), row) for row in loads[table.name].fetchall())
        except psycopg.Error as exc:
            raise _translate(exc) from exc
        return inserted, work

    def lock_for_rebuild(self, connection: sa.Connection) -> None:
        # One table lock instead of an advisory lock per ECO, which could exhaust the
        # server's lock table on a large store.
        connection.exec_driver_sql("LOCK TABLE events IN EXCLUSIVE MODE")

    def write(self, connection: sa.Connection, changes: list[tuple[sa.Table, list[Row]]]) -> None:
        driver = _driver(connection)
        try:
            with driver.pipeline():
                for table, rows in changes:
                    driver.cursor().execute(self._statements[table.name], [_json_rows(rows)])
        except psycopg.Error as exc:
            raise _translate(exc) from exc


def _driver(connection: sa.Connection) -> psycopg.Connection[Any]:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _translate(exc: psycopg.Error) -> sa.exc.StatementError:
    """A psycopg error as SQLAlchemy's (so callers see one family of database errors)."""
    return sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error)


def _key(table: sa.Table, row: Mapping[str, Any]) -> Any:
    keys = [row[column.name] for column in table.primary_key]
    return keys[0] if len(keys) == 1 else tuple(keys)


def _keyed(connection: sa.Connection, table: sa.Table, where: Any) -> dict[Any, Row]:
    rows = connection.execute(sa.select(table).where(where)).mappings()
    return {_key(table, dict(row)): dict(row) for row in rows}


def _upsert_statement(insert: Callable[[sa.Table], Any], table: sa.Table) -> Any:
    statement = insert(table)
    keys = [column.name for column in table.primary_key]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in keys},
    )


def _written_columns(table: sa.Table) -> list[str]:
    # events.seq comes from its identity; every other column is written.
    return [c.name for c in table.c if not (table is events and c.name == "seq")]


def _json_insert(table: sa.Table, *, conflict: str) -> str:
    """``INSERT ... SELECT`` of rows sent as one JSON array (see :class:`PostgresWriter`)."""
    columns = _written_columns(table)
    names = ", ".join(f'"{name}"' for name in columns)
    selected = ", ".join(f'r."{name}"' for name in columns)
    keys = [c.name for c in table.primary_key] if conflict == "update" else ["source", "id"]
    target = ", ".join(f'"{k}"' for k in keys)
    statement = (
        f'INSERT INTO "{table.name}" ({names}) SELECT {selected} '
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS a(e, ord) "
        f'CROSS JOIN LATERAL jsonb_populate_record(NULL::"{table.name}", a.e) AS r '
        f"ORDER BY a.ord ON CONFLICT ({target}) DO "
    )
    if conflict == "nothing":
        return statement + "NOTHING"
    updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in columns if name not in keys)
    return statement + f"UPDATE SET {updates}"


def _json_rows(rows: list[Row]) -> str:
    return orjson.dumps(rows).decode()
