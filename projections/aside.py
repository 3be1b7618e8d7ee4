"""On PostgreSQL a rebuild builds the read models beside the live ones, then swaps them in with one transaction.

While the ledger is replayed (minutes at national scale) the live tables keep answering at their old position, so
dashboards and balances never show an empty ledger; the API's read-your-writes waits for the writer lock as it does
behind any runner. The new tables are built in the schema `rm_rebuild` by running the same statements through
SQLAlchemy's `schema_translate_map`. At the end one transaction drops the live tables and moves the new ones (with
their indexes and their tracking row) into the live schema. A rebuild that dies half-way leaves the live tables
untouched and its schema behind; the next rebuild drops it first. SQLite has no schemas to swap: there a rebuild
empties the live tables and refills them in place.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine

from projections.tables import READ_MODELS, metadata, tracking

SCHEMA = "rm_rebuild"
SWAPPED = (*READ_MODELS, tracking)


def qualified(conn: Connection, table: Table) -> str:
    """The table's name for raw SQL on `conn`, in the schema its statements are translated to, if any."""
    quote = conn.dialect.identifier_preparer.quote
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    return f"{quote(schema)}.{quote(table.name)}" if schema else quote(table.name)


def prepare(engine: Engine) -> Engine:
    """An empty set of read-model tables in SCHEMA, and an engine whose statements go to them."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    aside = engine.execution_options(schema_translate_map={None: SCHEMA})
    metadata.create_all(aside, tables=list(SWAPPED), checkfirst=False)  # a check would look at the live schema
    return aside


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics of the read models `engine`'s statements go to (PostgreSQL)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(qualified(conn, table) for table in READ_MODELS))


def swap_in(engine: Engine) -> None:
    """Replace the live read models with those built in SCHEMA, in one transaction."""
    with engine.begin() as conn:
        live = conn.dialect.default_schema_name
        for table in SWAPPED:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {live}.{table.name}")
            conn.exec_driver_sql(f"ALTER TABLE {SCHEMA}.{table.name} SET SCHEMA {live}")
        conn.exec_driver_sql(f"DROP SCHEMA {SCHEMA}")
