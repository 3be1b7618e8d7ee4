"""A rebuild builds the read models beside the live ones, then swaps them in with one transaction.

While the ledger is replayed (minutes at national scale) the live tables keep answering at their old position, so
dashboards and balances never show an empty ledger; the API's read-your-writes waits for the writer lock as it does
behind any runner. The new tables are built under the schema name `rm_rebuild` by running the same statements
through SQLAlchemy's `schema_translate_map`: on PostgreSQL a schema of the same database, on a SQLite file a second
file beside it (`<ledger file>-rebuild`), attached under that name. At the end one transaction replaces the live
tables (with their indexes and their tracking row): PostgreSQL moves the new ones into the live schema; SQLite,
which cannot move a table between files, recreates the live ones and copies the rows over, so writers wait for that
copy only, not for the replay. A rebuild that dies half-way leaves the live tables untouched and its schema or file
behind; the next rebuild drops it first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event
from sqlalchemy.engine import Connection, Engine

from projections.tables import READ_MODELS, metadata, tracking

SCHEMA = "rm_rebuild"
SWAPPED = (*READ_MODELS, tracking)


def qualified(conn: Connection, table: Table) -> str:
    """The table's name for raw SQL on `conn`, in the schema its statements are translated to, if any."""
    quote = conn.dialect.identifier_preparer.quote
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    return f"{quote(schema)}.{quote(table.name)}" if schema else quote(table.name)


def sqlite_file_engine(live: Engine, begin: str, attach: Path | None = None) -> Engine:
    """An engine on the same SQLite file whose transactions start with `begin`, with `attach` attached as SCHEMA.

    pysqlite opens no transaction before a SELECT by itself; here `begin` is issued at the start of every
    transaction, so a read-only transaction also sees one consistent snapshot throughout. (SQLite refuses ATTACH
    inside a transaction, so it happens as each connection opens.)
    """
    own = create_engine(live.url, connect_args={"timeout": 60})

    @event.listens_for(own, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if attach is not None:
            dbapi_connection.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(attach),))

    @event.listens_for(own, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return own


def side_file(live: Engine) -> Path:
    return Path(f"{live.url.database}-rebuild")


def prepare(live: Engine) -> Engine:
    """An empty set of read-model tables under SCHEMA, and an engine whose statements go to them."""
    if live.dialect.name == "sqlite":
        _remove(side_file(live))
        engine = sqlite_file_engine(live, "BEGIN", attach=side_file(live))  # writes to the side file only
    else:
        with live.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        engine = live
    aside = engine.execution_options(schema_translate_map={None: SCHEMA})
    metadata.create_all(aside, tables=list(SWAPPED), checkfirst=False)  # a check would look at the live schema
    return aside


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics of the read models `engine`'s statements go to (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(qualified(conn, table) for table in READ_MODELS))


def swap_in(live: Engine, built: Engine) -> None:
    """Replace the live read models with those built under SCHEMA, in one transaction; `built` is then unusable."""
    if live.dialect.name == "sqlite":
        _copy_in(live, built)
        return
    with live.begin() as conn:
        schema = conn.dialect.default_schema_name
        for table in SWAPPED:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{table.name}")
            conn.exec_driver_sql(f"ALTER TABLE {SCHEMA}.{table.name} SET SCHEMA {schema}")
        conn.exec_driver_sql(f"DROP SCHEMA {SCHEMA}")


def _copy_in(live: Engine, built: Engine) -> None:
    path = side_file(live)
    built.dispose()
    swapper = sqlite_file_engine(live, "BEGIN IMMEDIATE", attach=path)
    try:
        with swapper.begin() as conn:
            for table in SWAPPED:  # named with their database: an unqualified name may also find the attached one
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS main.{table.name}")
            metadata.create_all(conn, tables=list(SWAPPED), checkfirst=False)
            for table in SWAPPED:
                names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
                into, source = f"main.{table.name}", f"{SCHEMA}.{table.name}"
                conn.exec_driver_sql(f"INSERT INTO {into} ({names}) SELECT {names} FROM {source}")
    finally:
        swapper.dispose()
    _remove(path)


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)
